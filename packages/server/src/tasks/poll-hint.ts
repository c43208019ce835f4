/**
 * `Retry-After` on an unfinished task's GET (docs/api.md §4): when asking again is worth it, from
 * the provider's typical run time (`ProviderAdapter.typicalRunMs`, the local engine's estimate) and
 * the task's age. Before the typical finish: half the time left, so a client converges on it
 * without hammering; past it: a tenth of the typical run. Always 1–30 s. (Upstream run times come
 * scaled like the gateway's own polling, VIDRELAY_UPSTREAM_POLL_SCALE, which tests set low.)
 */
import type { RunFacts } from "../providers/types.ts";

export const POLL_HINT_MIN_SECONDS = 1;
export const POLL_HINT_MAX_SECONDS = 30;

export function retryAfterSeconds(ageMs: number, typicalMs: number): number {
  const left = typicalMs - ageMs;
  const ms = left > 0 ? left / 2 : typicalMs / 10;
  return Math.min(POLL_HINT_MAX_SECONDS, Math.max(POLL_HINT_MIN_SECONDS, Math.round(ms / 1000)));
}

/** The part of a task object a hint reads (RelayDance's task object). */
export interface HintedTask {
  status: string;
  created_at: number;
  provider?: string | null;
  seconds: string;
  metadata: { resolution: RunFacts["resolution"] };
}

/** Seconds to wait before asking about `task` again, or undefined once it has finished. */
export function pollHint(
  task: HintedTask,
  typicalRunMs: (provider: string, facts: RunFacts) => number | undefined,
  now = Date.now(),
): number | undefined {
  if (task.status === "succeeded" || task.status === "failed") return undefined;
  const facts: RunFacts = { seconds: Number(task.seconds) || 5, resolution: task.metadata.resolution };
  const typical = typicalRunMs(task.provider ?? "local", facts);
  if (typical === undefined) return undefined;
  return retryAfterSeconds(now - task.created_at * 1000, typical);
}
