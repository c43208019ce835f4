import { PageHeader } from "../components/ui.tsx";

export function ChannelsPage() {
  return (
    <section>
      <PageHeader title="Channels" />
      <p>This page is being built.</p>
    </section>
  );
}
