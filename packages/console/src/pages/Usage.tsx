import { PageHeader } from "../components/ui.tsx";

export function UsagePage() {
  return (
    <section>
      <PageHeader title="Usage" />
      <p>This page is being built.</p>
    </section>
  );
}
