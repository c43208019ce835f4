import { PageHeader } from "../components/ui.tsx";

export function WebhooksPage() {
  return (
    <section>
      <PageHeader title="Webhooks" />
      <p>This page is being built.</p>
    </section>
  );
}
