import type { NormalizedMedia, NormalizedRequest } from "../domain/request.ts";

// ---------------------------------------------------------------------------------------------
// The adapter contract (v1). Every upstream provider implements this one small interface; the
// gateway's shared code (routing, polling, ingest) never special-cases a provider.

/** The version of this contract an adapter implements (`ProviderAdapter.specificationVersion`). */
export type AdapterSpecificationVersion = "v1";

/** What a provider says about one upstream task, mapped to the gateway's vocabulary. */
export type UpstreamStatus =
  | { type: "queued" }
  | { type: "running"; progress?: number }
  | {
      type: "succeeded";
      videoUrl: string;
      lastFrameUrl?: string;
      /** Provider-reported usage, e.g. Ark's completion tokens, billed seconds. */
      usage?: { tokens?: number; seconds?: number };
    }
  | { type: "failed"; code: string; message: string; retryable: boolean }
  /** A status string the adapter does not know: keep polling, log it, count it; never treat it as running. */
  | { type: "unknown"; raw: string };

/** What a typical run time depends on: the clip's length and resolution. */
export type RunFacts = Pick<NormalizedRequest, "seconds" | "resolution">;

/** A channel as an adapter sees it: where to call and with which (decrypted) key. */
export interface ChannelContext {
  id: string;
  baseUrl: string;
  apiKey: string;
  /** The upstream model id this channel uses for the request's catalog model. */
  upstreamModel: string;
  signal?: AbortSignal;
}

export interface SubmitContext extends ChannelContext {
  /**
   * The gateway's task id. Adapters that can find a create again after a crash (`findSubmitted`)
   * derive what they need from it (a discriminator the provider echoes), so a repeated attempt of
   * one task sends the same.
   */
  taskId: string;
  /** Where the provider may POST status hints (treated as hints only), when it supports callbacks. */
  callbackUrl?: string;
  /** Resolves a media entry to a URL this provider can fetch (a public URL or an inline data: URL). */
  mediaUrl(
    media: NormalizedMedia,
    options: { maxInlineBytes: number; lowerCaseFormat?: boolean },
  ): Promise<string>;
}

/**
 * Why a submit failed, which decides what the gateway may do next (adapters classify with
 * submit-failure.ts, one ladder for all):
 * - `not_created`: the provider proves no task exists (connection refused, 429, 5xx without an
 *   id): safe to try another channel or later.
 * - `ambiguous`: the provider may have created a task (timeout after sending): never resubmit.
 * - `rejected`: the request itself is refused (validation, moderation): fail the task.
 * - `channel_broken`: this channel cannot work (bad key, overdue account): disable/cool it, try another.
 * - `queue_full`: the provider's queue is full (Ark QuotaExceeded): wait and retry, do not fail.
 */
export type SubmitFailureKind = "not_created" | "ambiguous" | "rejected" | "channel_broken" | "queue_full";

export class ProviderError extends Error {
  constructor(
    readonly kind: SubmitFailureKind,
    readonly code: string,
    message: string,
    readonly options: { retryAfterMs?: number; httpStatus?: number } = {},
  ) {
    super(message);
    this.name = "ProviderError";
  }
}

/** A provider's callback as received on `POST /hooks/upstream/{channel}/{token}`. */
export interface UpstreamCallback {
  /** Header names lower case, as node gives them. */
  headers: Record<string, string | string[] | undefined>;
  /** The exact bytes received: provider signatures (fal's Ed25519) cover these, not a re-serialisation. */
  rawBody: Buffer;
  /** The body parsed as JSON; undefined when it is not JSON. */
  body: unknown;
}

/** What submit hands back: the provider's id, and anything else the adapter needs to find the task again. */
export interface SubmittedTask {
  upstreamId: string;
  /**
   * Opaque per-task data stored beside the id and given back to status/cancel, e.g. the status,
   * result and cancel URLs fal returns (which must be used as given, never rebuilt).
   */
  upstreamRef?: string;
}

/**
 * What a provider answered to a cancel: it stopped the task, or it refused (it has started, or
 * finished) and the task runs on to its end. A transport failure or an unexpected answer throws:
 * the outcome is unknown, so the caller must not claim either.
 */
export type CancelOutcome = { cancelled: true } | { cancelled: false; reason: string };

/**
 * Which upstream tasks a provider documents it can stop: only those still queued (Ark, DashScope,
 * fal), or running ones as well (another RelayDance gateway, which answers for itself).
 */
export type UpstreamCancelScope = "queued" | "queued_or_running";

export interface ProviderAdapter {
  /** The contract this adapter implements: a change to this interface bumps it, for every adapter. */
  readonly specificationVersion: AdapterSpecificationVersion;
  /** Provider name as channels store it, e.g. "ark". */
  readonly provider: string;
  /**
   * How messages name the provider, mid-sentence ("Ark", "xAI", "the upstream gateway"): the one
   * place a provider's name for people is written.
   */
  readonly displayName: string;
  /** Set with `cancel`: which upstream tasks `cancel` can stop. */
  readonly cancelScope?: UpstreamCancelScope;
  /**
   * How long the provider typically takes from create to a finished video for such a request
   * (unscaled): the poll schedule starts from it, and unfinished tasks' GETs hint `Retry-After`.
   */
  typicalRunMs(request: RunFacts): number;
  /** Suggested delay before the first poll and between polls, from the provider's typical run time. */
  pollSchedule(request: NormalizedRequest): { firstMs: number; intervalMs: number; maxIntervalMs: number };
  submit(request: NormalizedRequest, context: SubmitContext): Promise<SubmittedTask>;
  status(upstreamId: string, context: ChannelContext, upstreamRef?: string): Promise<UpstreamStatus>;
  /** Batched status where the provider can list many tasks at once (Ark: filter.task_ids). */
  statusMany?(upstreamIds: string[], context: ChannelContext): Promise<Map<string, UpstreamStatus>>;
  /**
   * Crash-safe dispatch: a create was sent (or may have been) and its answer never recorded — the
   * process died, or the answer was lost (`ambiguous`). Look the task up at the provider, matched
   * on the exact request, among tasks created in `window` (unix ms) that are not in `exclude` (ids
   * other tasks of this channel already hold). Returns the task that create made, or null when the
   * provider proves there is none (then the request may be sent again without paying twice).
   * Throws a ProviderError `ambiguous` when it cannot tell (several candidates), and any other
   * error when the provider could not be asked (try again later). Absent where the provider offers
   * no way to look: such a task fails honestly (`upstream_unknown`). docs/providers.md, per provider.
   */
  findSubmitted?(
    request: NormalizedRequest,
    context: ChannelContext & { taskId: string },
    window: { from: number; to: number },
    exclude: ReadonlySet<string>,
  ): Promise<SubmittedTask | null>;
  /** Ask the provider to stop a task that has not finished; see CancelOutcome. */
  cancel?(upstreamId: string, context: ChannelContext, upstreamRef?: string): Promise<CancelOutcome>;
  /** A cheap authenticated call proving the channel's base URL and key work (for `channels test`). */
  check?(context: ChannelContext): Promise<void>;
  /**
   * Check a provider callback (its signature and freshness, where the provider signs) and name the
   * task it is about: a hint only, the gateway re-polls with its own key. null refuses it.
   */
  parseCallback?(
    callback: UpstreamCallback,
    context: ChannelContext,
  ): { upstreamId: string } | null | Promise<{ upstreamId: string } | null>;
}
