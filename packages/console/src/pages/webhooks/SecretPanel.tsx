/**
 * The account's signing secret: hidden until "Reveal", "Copy", and "Rotate" behind a confirmation
 * that asks how long the previous secret keeps signing (deliveries carry both signatures meanwhile).
 */
import type { WebhookSecret } from "@vidrelay/sdk";
import { useEffect, useRef, useState } from "react";
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
  const [grace, setGrace] = useState(86_400);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [status, setStatus] = useState("");
  const graceRef = useRef<HTMLSelectElement>(null);
  const rotateRef = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (confirming) graceRef.current?.focus();
  }, [confirming]);

  const close = () => {
    setConfirming(false);
    rotateRef.current?.focus();
  };

  const confirmRotate = async () => {
    setBusy(true);
    setError(null);
    try {
      await rotate(grace);
      setStatus("Secret rotated: update your receivers with the new secret.");
      setConfirming(false);
      // The confirmation's buttons are gone; put focus back where the flow started.
      requestAnimationFrame(() => rotateRef.current?.focus());
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  const copy = async () => {
    await copyText(secret.secret);
    setStatus("Copied the signing secret.");
  };

  const previousUntil = secret.previous_secret_expires_at;
  return (
    <div className="panel">
      <h2>Signing secret</h2>
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
            <button type="button" className="danger" onClick={confirmRotate} disabled={busy}>
              {busy ? "Rotating…" : "Rotate secret"}
            </button>
            <button type="button" className="button secondary" onClick={close} disabled={busy}>
              Cancel
            </button>
          </div>
          <ErrorNote error={error} title="Rotation failed" />
        </fieldset>
      ) : null}
      <p className="muted" role="status" aria-live="polite">
        {status}
      </p>
    </div>
  );
}
