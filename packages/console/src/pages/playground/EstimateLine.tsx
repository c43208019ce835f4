/**
 * What Generate would cost, before it is pressed: the gateway's estimate of the current request
 * (POST /v1/video/generations/estimate: the exact hold, and whether the key's balance and limits
 * allow it), asked again a moment after the form stops changing. Nothing is created by asking.
 */
import type { TaskEstimate, VideoCreateParams, VidRelay } from "@vidrelay/sdk";
import { useEffect, useState } from "react";

const SETTLE_MS = 400;

type Shown =
  | { state: "idle" }
  | { state: "asking" }
  | { state: "ok"; estimate: TaskEstimate }
  | { state: "error"; message: string };

export function EstimateLine({
  client,
  body,
  enabled,
}: {
  client: VidRelay;
  body: VideoCreateParams;
  enabled: boolean;
}) {
  const [shown, setShown] = useState<Shown>({ state: "idle" });
  const key = JSON.stringify(body);
  useEffect(() => {
    if (!enabled) {
      setShown({ state: "idle" });
      return;
    }
    const abort = new AbortController();
    const timer = setTimeout(() => {
      setShown({ state: "asking" });
      client.videos
        .estimate(JSON.parse(key) as VideoCreateParams, { signal: abort.signal })
        .then((estimate) => setShown({ state: "ok", estimate }))
        .catch((error: unknown) => {
          if (!abort.signal.aborted) setShown({ state: "error", message: (error as Error).message });
        });
    }, SETTLE_MS);
    return () => {
      clearTimeout(timer);
      abort.abort();
    };
  }, [client, key, enabled]);

  if (shown.state === "idle") return null;
  if (shown.state === "asking") return <span className="muted estimate">Estimating…</span>;
  // An invalid request says why on Generate, on the field it names; here, only that it cannot be priced.
  if (shown.state === "error") return <span className="muted estimate">No estimate: {shown.message}</span>;
  const e = shown.estimate;
  const cost = e.free ? `free (${e.provider})` : `${e.amount} ${e.currency} held (${e.provider})`;
  return (
    <span
      className={`estimate ${e.allowed ? "muted" : "estimate-refused"}`}
      role="status"
      aria-label="Estimate"
    >
      {`${e.seconds} s at ${e.resolution}: ${cost}`}
      {e.allowed ? null : ` — would be refused: ${e.refusal?.message ?? e.refusal?.code}`}
    </span>
  );
}
