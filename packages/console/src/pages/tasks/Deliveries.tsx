/**
 * The webhook deliveries of a task (`metadata.callback_url`), with every attempt summarised, and
 * Replay for those the API can send again (exhausted or gone; a pending or delivered one is
 * refused with 409, and the button says why instead of offering a request that must fail).
 */
import type { VidRelay, WebhookDelivery } from "@vidrelay/sdk";
import { useState } from "react";
import { DataTable } from "../../components/DataTable.tsx";
import { ErrorNote, formatTime, StatusBadge, useInterval, useLoad } from "../../components/ui.tsx";

const REPLAYABLE = new Set(["exhausted", "gone"]);
const POLL_MS = 2000;
const COLUMNS = [
  "Event",
  "Status",
  "Attempts",
  "Last response",
  "Last attempt",
  "URL",
  { hidden: "Actions" },
];

export function Deliveries({
  client,
  taskId,
  taskStatus,
  finishedAt,
}: {
  client: VidRelay;
  taskId: string;
  /** The webhook announces the task's final state: the event a delivery carries. */
  taskStatus: string;
  /** Read again when the task finishes (the delivery is written then). */
  finishedAt: number | null | undefined;
}) {
  const list = useLoad(
    (signal) => client.webhooks.deliveries(taskId, { signal }),
    [client, taskId, finishedAt],
  );
  const [replaying, setReplaying] = useState<string | null>(null);
  const [replayError, setReplayError] = useState<unknown>();
  const [announce, setAnnounce] = useState("");
  const deliveries = list.data ?? [];
  // A pending delivery is being attempted right now: follow it until it settles.
  const pending = deliveries.some((d) => d.status === "pending");
  useInterval(list.reload, POLL_MS, pending && !list.error);

  const replay = async (delivery: WebhookDelivery) => {
    setReplaying(delivery.id);
    setReplayError(undefined);
    try {
      const updated = await client.webhooks.replay(taskId, delivery.id);
      setAnnounce(`Delivery ${updated.id} queued again (${updated.status}).`);
    } catch (error) {
      setReplayError(error);
    } finally {
      setReplaying(null);
      list.reload();
    }
  };

  return (
    <section className="panel" aria-labelledby="deliveries-heading">
      <h2 id="deliveries-heading">Webhook deliveries</h2>
      <ErrorNote error={list.error} title="Could not load deliveries" />
      <ErrorNote error={replayError} title="Replay refused" />
      <p className="visually-hidden" aria-live="polite">
        {announce}
      </p>
      {list.data && deliveries.length === 0 ? (
        <p className="muted">No deliveries: the task has no callback_url, or it has not finished yet.</p>
      ) : null}
      {deliveries.length > 0 ? (
        <DataTable columns={COLUMNS}>
          {deliveries.map((d) => {
            const last = d.attempts.at(-1);
            return (
              <tr key={d.id} data-delivery-id={d.id}>
                <td>task {taskStatus}</td>
                <td>
                  <StatusBadge status={d.status} />
                </td>
                <td data-attempts={d.attempts.length}>{d.attempts.length}</td>
                <td>{last ? (last.status_code ?? last.error ?? "no answer") : "—"}</td>
                <td>{formatTime(last?.attempted_at ?? d.created_at)}</td>
                <td className="wrap">{d.url}</td>
                <td>
                  <button
                    type="button"
                    className="secondary"
                    disabled={!REPLAYABLE.has(d.status) || replaying !== null}
                    title={
                      REPLAYABLE.has(d.status)
                        ? "Send this delivery again"
                        : `Only exhausted or gone deliveries can be replayed; this one is ${d.status}`
                    }
                    onClick={() => replay(d)}
                    aria-label={`Replay delivery ${d.id}`}
                  >
                    {replaying === d.id ? "Replaying…" : "Replay"}
                  </button>
                </td>
              </tr>
            );
          })}
        </DataTable>
      ) : null}
    </section>
  );
}
