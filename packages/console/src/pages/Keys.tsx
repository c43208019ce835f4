import { PageHeader } from "../components/ui.tsx";

export function KeysPage() {
  return (
    <section>
      <PageHeader title="Keys" />
      <p>This page is being built.</p>
    </section>
  );
}
