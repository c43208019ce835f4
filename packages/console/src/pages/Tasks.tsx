import { PageHeader } from "../components/ui.tsx";

export function TasksPage() {
  return (
    <section>
      <PageHeader title="Tasks" />
      <p>This page is being built.</p>
    </section>
  );
}
