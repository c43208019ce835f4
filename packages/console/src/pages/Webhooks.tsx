/** Webhooks: the account's signing secret (reveal, copy, rotate with a grace period) and how to verify deliveries. */
import { ErrorNote, PageHeader, useLoad } from "../components/ui.tsx";
import { useSession } from "../session.tsx";
import { SecretPanel } from "./webhooks/SecretPanel.tsx";
import { VerifyGuide } from "./webhooks/VerifyGuide.tsx";
import "./webhooks/webhooks.css";
import type { WebhookSecret } from "@vidrelay/sdk";
import { useState } from "react";

export function WebhooksPage() {
  const { client } = useSession();
  const loaded = useLoad((signal) => client.webhooks.secret({ signal }), []);
  // The rotation's answer replaces what was loaded, without a second request.
  const [rotated, setRotated] = useState<WebhookSecret | null>(null);
  const secret = rotated ?? loaded.data;

  return (
    <section className="webhooks-page">
      <PageHeader title="Webhooks" />
      <ErrorNote error={loaded.error} title="Could not load the signing secret" />
      {secret ? (
        <SecretPanel
          secret={secret}
          rotate={async (graceSeconds) => setRotated(await client.webhooks.rotateSecret({ graceSeconds }))}
        />
      ) : loaded.loading ? (
        <p className="muted">Loading…</p>
      ) : null}
      <VerifyGuide />
    </section>
  );
}
