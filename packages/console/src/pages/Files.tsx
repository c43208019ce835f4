import { PageHeader } from "../components/ui.tsx";

export function FilesPage() {
  return (
    <section>
      <PageHeader title="Files" />
      <p>This page is being built.</p>
    </section>
  );
}
