import { PageHeader } from "../components/ui.tsx";

export function PlaygroundPage() {
  return (
    <section>
      <PageHeader title="Playground" />
      <p>This page is being built.</p>
    </section>
  );
}
