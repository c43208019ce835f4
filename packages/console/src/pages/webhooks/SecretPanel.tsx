/**
 * The account's signing secret: hidden until "Reveal", "Copy", and "Rotate" behind a confirmation
 * that asks how long the previous secret keeps signing (deliveries carry both signatures meanwhile).
 */
import type { WebhookSecret } from "@vidrelay/sdk";
import { useEffect, useRef, useState } from "react";
import { useAction } from "../../components/form.tsx";
import { copyText, ErrorNote, formatTime } from "../../components/ui.tsx";

const GRACE_CHOICES = [
  { seconds: 0, label: "None: the old secret stops signing now" },
  { seconds: 3600, label: "1 hour" },
  { seconds: 86_400, label: "24 hours" },
  { seconds: 7 * 86_400, label: "7 days (the longest)" },
];

export function SecretPanel({
  secret,
  rotate,
}: {
  secret: WebhookSecret;
  /** Rotates through the API; the page replaces `secret` with the answer. */
  rotate(graceSeconds: number): Promise<void>;
}) {
  const [revealed, setRevealed] = useState(false);
  const [confirming, setConfirming] = useState(false);
  // The grace period chosen last stays chosen when the confirmation opens again.
  const [grace, setGrace] = useState(86_400);
  const [status, setStatus] = useState("");
  const rotateRef = useRef<HTMLButtonElement>(null);

  const close = () => {
    setConfirming(false);
    rotateRef.current?.focus();
  };
  const rotated = () => {
    setStatus("Secret rotated: update your receivers with the new secret.");
    setConfirming(false);
    // The confirmation's buttons are gone; put focus back where the flow started.
    requestAnimationFrame(() => rotateRef.current?.focus());
  };
  const copy = async () => {
    await copyText(secret.secret);
    setStatus("Copied the signing secret.");
  };

  return (
    <div className="panel">
      <h2>Signing secret</h2>
      <SecretFacts secret={secret} revealed={revealed} />
      <div className="secret-actions">
        <button
          type="button"
          className="button secondary"
          aria-pressed={revealed}
          aria-controls="webhook-secret"
          onClick={() => setRevealed((r) => !r)}
        >
          {revealed ? "Hide" : "Reveal"}
        </button>
        <button type="button" className="button secondary" onClick={copy}>
          Copy
        </button>
        <button
          type="button"
          className="button"
          ref={rotateRef}
          aria-expanded={confirming}
          aria-controls="rotate-confirm"
          onClick={() => (confirming ? close() : setConfirming(true))}
        >
          Rotate
        </button>
      </div>
      {confirming ? (
        <RotateConfirm
          grace={grace}
          setGrace={setGrace}
          rotate={rotate}
          onRotated={rotated}
          onCancel={close}
        />
      ) : null}
      <p className="muted" role="status" aria-live="polite">
        {status}
      </p>
    </div>
  );
}

function SecretFacts({ secret, revealed }: { secret: WebhookSecret; revealed: boolean }) {
  const previousUntil = secret.previous_secret_expires_at;
  return (
    <dl className="facts">
      <dt>Secret</dt>
      <dd>
        <code id="webhook-secret" className="secret" data-revealed={revealed}>
          {revealed ? secret.secret : `whsec_${"•".repeat(24)}`}
        </code>
        {revealed ? null : <span className="visually-hidden"> (hidden)</span>}
      </dd>
      <dt>Last rotated</dt>
      <dd>{secret.rotated_at ? formatTime(secret.rotated_at) : "Never"}</dd>
      <dt>Previous secret</dt>
      <dd id="previous-secret-expiry" data-expires-at={previousUntil ?? ""}>
        {previousUntil
          ? `Still signs deliveries until ${formatTime(previousUntil)}`
          : "None active (only the current secret signs)"}
      </dd>
    </dl>
  );
}

/** The confirmation: how long the previous secret keeps signing, then Rotate secret or Cancel. */
function RotateConfirm({
  grace,
  setGrace,
  rotate,
  onRotated,
  onCancel,
}: {
  grace: number;
  setGrace(seconds: number): void;
  rotate(graceSeconds: number): Promise<void>;
  onRotated(): void;
  onCancel(): void;
}) {
  const graceRef = useRef<HTMLSelectElement>(null);
  useEffect(() => graceRef.current?.focus(), []);
  const confirm = useAction(async () => {
    await rotate(grace);
    onRotated();
  });
  return (
    <fieldset id="rotate-confirm" className="rotate-confirm">
      <legend>Rotate the signing secret?</legend>
      <p className="muted">
        A new secret signs every delivery from now on. Receivers that still use the old one keep verifying
        during the grace period, when deliveries carry both signatures.
      </p>
      <label htmlFor="rotate-grace">Grace period for the previous secret</label>
      <select
        id="rotate-grace"
        ref={graceRef}
        value={grace}
        onChange={(e) => setGrace(Number(e.target.value))}
      >
        {GRACE_CHOICES.map((c) => (
          <option key={c.seconds} value={c.seconds}>
            {c.label}
          </option>
        ))}
      </select>
      <div className="secret-actions">
        <button type="button" className="danger" onClick={confirm.run} disabled={confirm.busy}>
          {confirm.busy ? "Rotating…" : "Rotate secret"}
        </button>
        <button type="button" className="button secondary" onClick={onCancel} disabled={confirm.busy}>
          Cancel
        </button>
      </div>
      <ErrorNote error={confirm.error} title="Rotation failed" />
    </fieldset>
  );
}
