import {
  callUpstream,
  DEFAULT_SUBMIT_TIMEOUT_MS,
  retryAfterMs,
  UpstreamNetworkError,
  type UpstreamResponse,
} from "./http.ts";
import { ProviderError, type SubmitFailureKind, type SubmittedTask } from "./types.ts";
import { moderationMessage } from "./upstream-status.ts";

/**
 * One classification of failed creates, for every adapter (the failure kinds in types.ts and
 * providers/README.md). The question is always the same — may a paid task exist upstream? — and
 * so is most of the answer; an adapter adds only what its provider's own error codes say.
 *
 * The ladder, first match wins:
 * 1. No answer. Refused before sending (connection refused, no route, a step before the create
 *    failed) → `not_created`; a timeout or reset after sending, or any other error → `ambiguous`.
 * 2. A 2xx without a task id → `ambiguous` (the provider says it made something we cannot name).
 * 3. A 504 whose body is not JSON (a proxy's timeout page, not the provider) → `ambiguous`.
 * 4. The HTTP status gives a class — 429 `rate_limited`, 401/403 `auth`, 404 `model`, other 4xx
 *    `rejected`, anything else (5xx with the provider's own body) `server` — which the adapter may
 *    refine from the provider's code (Ark's 429 `QuotaExceeded` is `queue_full`). Steps 1–3 cannot
 *    be refined: nothing a body says turns "may exist" into "does not exist".
 * 5. The class makes the ProviderError (below): its kind, code, message and back-off.
 */

/** How a create call ended without a task id. */
export type FailedCreate =
  /**
   * No answer. `sent` says whether the request may have reached the provider; by default an
   * `UpstreamNetworkError` says (`maybeReceived`), and any other error counts as sent.
   */
  | { error: unknown; sent?: boolean }
  /** An answer that names no task: an error status, or a 2xx without an id. */
  | { response: UpstreamResponse };

/** What an HTTP error answer means, before it becomes a ProviderError. */
export type FailureClass =
  /** Throttled: nothing made, come back later (`not_created`, Retry-After or 2 s). */
  | "rate_limited"
  /** The provider's queue is full: wait, do not fail (`queue_full`). */
  | "queue_full"
  /** The channel's key is refused (`channel_broken`). */
  | "auth"
  /** The channel's account cannot pay: spend limit, arrears (`channel_broken`). */
  | "account"
  /** The channel's model id is unknown there (`channel_broken`). */
  | "model"
  /** Content moderation refused the request (`rejected` as `content_moderated`). */
  | "moderated"
  /** The request itself is refused (`rejected`, with the provider's code). */
  | "rejected"
  /** The provider failed with its own answer and made nothing (`not_created`). */
  | "server";

/** The part of the classification that is the provider's own. */
export interface SubmitFailureRules {
  /**
   * The provider's error envelope. `code` is carried as the failure's code (a rejected task's
   * `error.code`): "" when the provider gives none worth showing a client. `message` is shown as is.
   */
  readError(response: UpstreamResponse): { code: string; message: string };
  /** The class this answer really is, given the one its status gives (default: that one). */
  refine?(
    byStatus: FailureClass,
    answer: { code: string; message: string; response: UpstreamResponse },
  ): FailureClass;
}

/** Back-off when a provider throttles a create and says nothing about when to come back. */
export const THROTTLE_BACKOFF_MS = 2000;

/** The class an HTTP status alone gives (step 4). */
export function classOfStatus(status: number): FailureClass {
  if (status === 429) return "rate_limited";
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "model";
  if (status >= 400 && status < 500) return "rejected";
  return "server";
}

/** Classify a failed create: `name` is how messages name the provider (its adapter's displayName). */
export function classifySubmitFailure(
  failure: FailedCreate,
  name: string,
  rules: SubmitFailureRules,
): ProviderError {
  if ("error" in failure) return unanswered(failure, name);
  const { response } = failure;
  const { status } = response;
  const httpStatus = { httpStatus: status };
  if (status >= 200 && status < 300)
    return new ProviderError(
      "ambiguous",
      "upstream_bad_response",
      `${name} answered ${status} without a task id: ${response.text.slice(0, 200)}`,
      httpStatus,
    );
  if (status === 504 && response.json === undefined)
    return new ProviderError(
      "ambiguous",
      "upstream_timeout",
      `a proxy in front of ${name} timed out (HTTP 504); the task may exist`,
      httpStatus,
    );
  const { code, message } = rules.readError(response);
  const byStatus = classOfStatus(status);
  const cls = rules.refine?.(byStatus, { code, message, response }) ?? byStatus;
  const made = FAILURES[cls];
  const options: { retryAfterMs?: number; httpStatus: number } = { httpStatus: status };
  if (made.backOff) options.retryAfterMs = made.backOff(retryAfterMs(response.headers));
  return new ProviderError(
    made.kind,
    made.code(code, status),
    made.message(name, code, message, status),
    options,
  );
}

/** Step 5: what each class makes of the provider's code and message. */
const FAILURES: Record<
  FailureClass,
  {
    kind: SubmitFailureKind;
    code(code: string, status: number): string;
    message(name: string, code: string, message: string, status: number): string;
    /** Present when the gateway waits before trying again: the wait, from Retry-After (ms). */
    backOff?(retryAfterMs: number | undefined): number | undefined;
  }
> = {
  rate_limited: {
    kind: "not_created",
    code: (code) => code || "rate_limited",
    message: (name, _code, message) => `${name} throttled the submit: ${message}`,
    backOff: (retryAfter) => retryAfter ?? THROTTLE_BACKOFF_MS,
  },
  queue_full: {
    kind: "queue_full",
    code: (code) => code || "queue_full",
    message: (name, _code, message) => `${name}'s task queue is full: ${message}`,
    backOff: (retryAfter) => retryAfter,
  },
  auth: {
    kind: "channel_broken",
    code: (code) => code || "upstream_auth",
    message: (name, _code, message) => `${name} refused this channel's key: ${message}`,
  },
  account: {
    kind: "channel_broken",
    code: (code) => code || "upstream_account",
    message: (name, _code, message) =>
      `${name} refused this channel's account (spend limit or arrears): ${message}`,
  },
  model: {
    kind: "channel_broken",
    code: (code) => code || "upstream_model_not_found",
    message: (name, _code, message) => `${name} does not serve this channel's model: ${message}`,
  },
  // Always this code, whatever the provider calls it (its own code is named in the message).
  moderated: {
    kind: "rejected",
    code: () => "content_moderated",
    message: (_name, code, message) => moderationMessage(code, message),
  },
  // In the provider's own words: the client's request is what is wrong.
  rejected: {
    kind: "rejected",
    code: (code) => code || "upstream_rejected",
    message: (_name, _code, message) => message,
  },
  server: {
    kind: "not_created",
    code: (code, status) => code || `upstream_${status}`,
    message: (name, _code, message, status) => `${name} answered ${status}: ${message}`,
    backOff: (retryAfter) => retryAfter,
  },
};

/** Step 1: no answer. */
function unanswered(failure: { error: unknown; sent?: boolean }, name: string): ProviderError {
  const { error } = failure;
  if (error instanceof ProviderError) return error;
  const sent = failure.sent ?? (error instanceof UpstreamNetworkError ? error.maybeReceived : true);
  const message = error instanceof Error ? error.message : String(error);
  if (!sent) return new ProviderError("not_created", "upstream_unreachable", message);
  return error instanceof UpstreamNetworkError
    ? new ProviderError("ambiguous", "upstream_unreachable", message)
    : new ProviderError("ambiguous", "adapter_error", `${name}: ${message}`);
}

/**
 * POST a create (a JSON body) and return the task it made. Any other outcome throws the
 * classified ProviderError: `created` reads the task from a 2xx body (undefined when it names none).
 */
export async function sendCreate(
  url: string,
  create: { headers: Record<string, string>; body: unknown; timeoutMs?: number; signal?: AbortSignal },
  provider: { name: string; rules: SubmitFailureRules; created(json: unknown): SubmittedTask | undefined },
): Promise<SubmittedTask> {
  let response: UpstreamResponse;
  try {
    response = await callUpstream(url, {
      method: "POST",
      headers: create.headers,
      body: JSON.stringify(create.body),
      timeoutMs: create.timeoutMs ?? DEFAULT_SUBMIT_TIMEOUT_MS,
      signal: create.signal,
    });
  } catch (error) {
    throw classifySubmitFailure({ error }, provider.name, provider.rules);
  }
  if (response.status >= 200 && response.status < 300) {
    const task = provider.created(response.json);
    if (task) return task;
  }
  throw classifySubmitFailure({ response }, provider.name, provider.rules);
}
