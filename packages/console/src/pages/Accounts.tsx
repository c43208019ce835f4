import { PageHeader } from "../components/ui.tsx";

export function AccountsPage() {
  return (
    <section>
      <PageHeader title="Accounts" />
      <p>This page is being built.</p>
    </section>
  );
}
