/** The new key's secret, in a modal dialog: the only time the console (or the API) shows it. */

import type { ApiKeyCreated } from "@vidrelay/sdk";
import { useEffect, useRef, useState } from "react";
import { copyText } from "../../components/ui.tsx";

export function SecretDialog({ created, onClose }: { created: ApiKeyCreated; onClose(): void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [copied, setCopied] = useState(false);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
  }, []);
  return (
    // A native modal dialog: focus moves into it, Tab stays inside, Escape closes it (onClose).
    <dialog ref={ref} className="secret-dialog" aria-labelledby="secret-title" onClose={onClose}>
      <h2 id="secret-title">Key “{created.name}” created</h2>
      <p>
        <strong>Copy this secret now: you will not see it again.</strong> The gateway keeps only a hash of it;
        if it is lost, revoke the key and create another.
      </p>
      <p className="secret" data-testid="new-key-secret">
        {created.key}
      </p>
      <p className="muted">
        Account {created.account.name}
        {created.account.admin ? " (admin)" : ""}
        {created.test_mode ? " · test mode" : ""}
      </p>
      <div className="page-actions">
        <button
          type="button"
          onClick={() => copyText(created.key ?? "").then(() => setCopied(true))}
          aria-describedby="copy-status"
        >
          Copy
        </button>
        <button type="button" className="secondary" onClick={() => ref.current?.close()}>
          Done
        </button>
        <span id="copy-status" role="status">
          {copied ? "Copied to the clipboard." : ""}
        </span>
      </div>
    </dialog>
  );
}
