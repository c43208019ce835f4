/**
 * Cancel, in two steps (the button, then a confirmation beside it) so a stray click or Enter
 * cannot cancel a render. The button shows only while the task says it is `cancellable` (a task
 * running at a provider that cannot stop started tasks is not). The API answers with the task as
 * it now is (failed, `cancelled`), or 409 `task_not_cancellable` when it finished or started
 * meanwhile: that message is shown as it came.
 */
import type { Task, VidRelay } from "@vidrelay/sdk";
import { useEffect, useRef, useState } from "react";
import { ErrorNote } from "../../components/ui.tsx";

export function CancelTask({
  client,
  task,
  onCancelled,
  onRefused,
}: {
  client: VidRelay;
  task: Task;
  onCancelled(task: Task): void;
  /** Read the task again: a refusal usually means it changed. */
  onRefused(): void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const confirmRef = useRef<HTMLButtonElement>(null);
  // Older gateways do not send `cancellable`: fall back to "not finished yet".
  const cancellable = task.cancellable ?? (task.status === "submitted" || task.status === "running");

  useEffect(() => {
    if (confirming) confirmRef.current?.focus();
  }, [confirming]);

  const cancel = async () => {
    setBusy(true);
    setError(undefined);
    try {
      onCancelled(await client.videos.cancel(task.id));
      setConfirming(false);
    } catch (e) {
      setError(e);
      setConfirming(false);
      onRefused();
    } finally {
      setBusy(false);
    }
  };

  const unfinished = task.status === "submitted" || task.status === "running";
  return (
    <div className="task-cancel">
      {unfinished && !cancellable ? (
        <p className="task-not-cancellable" role="note">
          This task is with {providerName(task.provider)}, which cannot stop it now: it runs to its end and is
          settled as usual (a failed task is not billed).
        </p>
      ) : null}
      {cancellable && !confirming ? (
        <button type="button" className="danger" onClick={() => setConfirming(true)}>
          Cancel task
        </button>
      ) : null}
      {cancellable && confirming ? (
        <fieldset className="task-actions task-confirm">
          <legend className="visually-hidden">Confirm cancellation</legend>
          <span>Cancel this task? Its render stops and it ends as failed (cancelled).</span>
          <button ref={confirmRef} type="button" className="danger" onClick={cancel} disabled={busy}>
            {busy ? "Cancelling…" : "Yes, cancel it"}
          </button>
          <button type="button" className="secondary" onClick={() => setConfirming(false)} disabled={busy}>
            Keep it
          </button>
        </fieldset>
      ) : null}
      <ErrorNote error={error} title="Cancel refused" />
    </div>
  );
}

const PROVIDERS: Record<string, string> = {
  ark: "Ark",
  dashscope: "DashScope",
  fal: "fal",
  xai: "xAI",
  relaydance: "an upstream gateway",
  local: "the local engine",
};

function providerName(provider: string | undefined): string {
  return provider ? (PROVIDERS[provider] ?? provider) : "its provider";
}
