import type { ErrorBody, Task } from "./types.ts";

export interface VidRelayErrorInit {
  status?: number;
  type?: string;
  code?: string;
  param?: string | null;
  requestId?: string;
  headers?: Headers;
  body?: unknown;
  cause?: unknown;
}

/**
 * Base class of every error the SDK throws. API errors carry the contract's error fields
 * (`{"error": {message, type, code, param}}`) and the `x-request-id` of the response.
 */
export class VidRelayError extends Error {
  /** HTTP status; undefined for network, timeout and task errors. */
  readonly status: number | undefined;
  /** `error.type` of the response, e.g. `invalid_request_error`. */
  readonly type: string | undefined;
  /** `error.code`: a stable machine string such as `unsupported_by_model`, or a network code (`ECONNREFUSED`). */
  readonly code: string | undefined;
  /** `error.param`: JSON path of the offending field, e.g. `metadata.content[0].role`. */
  readonly param: string | null | undefined;
  /** The response's `x-request-id`: quote it when reporting a problem. */
  readonly requestId: string | undefined;
  readonly headers: Headers | undefined;
  /** The parsed response body, when there was one. */
  readonly body: unknown;

  constructor(message: string, init: VidRelayErrorInit = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.status = init.status;
    this.type = init.type;
    this.code = init.code;
    this.param = init.param;
    this.requestId = init.requestId;
    this.headers = init.headers;
    this.body = init.body;
  }

  /** The typed error for an HTTP error response. */
  static fromResponse(status: number, body: unknown, headers: Headers, fallbackText = ""): VidRelayError {
    const error = isErrorBody(body) ? body.error : undefined;
    const message =
      error?.message ??
      (fallbackText.trim() ? `HTTP ${status}: ${fallbackText.trim().slice(0, 300)}` : `HTTP ${status}`);
    const init: VidRelayErrorInit = {
      status,
      type: error?.type,
      code: error?.code,
      param: error?.param,
      requestId: headers.get("x-request-id") ?? undefined,
      headers,
      body,
    };
    switch (status) {
      case 400:
        return new BadRequestError(message, init);
      case 401:
        return new AuthenticationError(message, init);
      case 403:
        return new PermissionDeniedError(message, init);
      case 404:
        return new NotFoundError(message, init);
      case 409:
        return new ConflictError(message, init);
      case 413:
        return new PayloadTooLargeError(message, init);
      case 415:
        return new UnsupportedMediaTypeError(message, init);
      case 429:
        return new RateLimitError(message, { ...init, retryAfter: parseRetryAfter(headers) });
      default:
        return status >= 500 ? new InternalServerError(message, init) : new VidRelayError(message, init);
    }
  }
}

/** 400: a missing or invalid parameter; `param` names it. */
export class BadRequestError extends VidRelayError {}
/** 401: missing, invalid or revoked API key. */
export class AuthenticationError extends VidRelayError {}
/** 403: insufficient balance, or the key may not use this model or endpoint. */
export class PermissionDeniedError extends VidRelayError {}
/** 404: unknown model, task, file or route (or one owned by another account). */
export class NotFoundError extends VidRelayError {}
/** 409: `Idempotency-Key` reused with another body, or the task is not in a state that allows this. */
export class ConflictError extends VidRelayError {}
/** 413: the upload is too large (bytes or decoded pixels). */
export class PayloadTooLargeError extends VidRelayError {}
/** 415: the uploaded media type is not accepted. */
export class UnsupportedMediaTypeError extends VidRelayError {}

/** 429: a rate or concurrency limit. `retryAfter` is the server's `Retry-After`, in seconds. */
export class RateLimitError extends VidRelayError {
  readonly retryAfter: number | undefined;
  constructor(message: string, init: VidRelayErrorInit & { retryAfter?: number } = {}) {
    super(message, init);
    this.retryAfter = init.retryAfter;
  }
}

/** 5xx: gateway or upstream trouble; safe to retry with back-off (the SDK already did). */
export class InternalServerError extends VidRelayError {}

/** The server could not be reached (refused, reset, DNS, TLS…). `code` holds the system code when known. */
export class APIConnectionError extends VidRelayError {}

/** A request (or `videos.wait`) did not finish within its time limit. */
export class APITimeoutError extends VidRelayError {}

/** Thrown by `videos.wait` when the task ends `failed`; `code` is the task's `error.code`. */
export class TaskFailedError extends VidRelayError {
  readonly task: Task;
  constructor(task: Task) {
    super(`task ${task.task_id} failed: ${task.error?.message ?? "no reason given"}`, {
      type: "task_failed",
      code: task.error?.code ?? "failed",
    });
    this.task = task;
  }
}

/** A webhook that does not verify: missing headers, bad or stale timestamp, or no matching signature. */
export class WebhookVerificationError extends VidRelayError {}

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== "object" || body === null) return false;
  const error = (body as { error?: unknown }).error;
  return (
    typeof error === "object" &&
    error !== null &&
    typeof (error as { message?: unknown }).message === "string"
  );
}

/** `Retry-After` in seconds (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function parseRetryAfter(headers: Headers): number | undefined {
  const value = headers.get("retry-after");
  if (value === null || value.trim() === "") return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Number(value);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, (date - Date.now()) / 1000);
}

/** The system error code (`ECONNREFUSED`, `ENOTFOUND`…) behind a failed fetch, when there is one. */
export function networkCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current && typeof current === "object" && !seen.has(current)) {
    seen.add(current);
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^E[A-Z_]+$|^UND_ERR_/.test(code)) return code;
    const nested = (current as { errors?: unknown }).errors;
    if (Array.isArray(nested) && nested.length) {
      const inner = networkCode(nested[0]);
      if (inner) return inner;
    }
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const NETWORK_TEXT: Record<string, string> = {
  ECONNREFUSED: "connection refused",
  ECONNRESET: "connection reset",
  ENOTFOUND: "host not found",
  EAI_AGAIN: "DNS lookup failed",
  ETIMEDOUT: "connection timed out",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  EPIPE: "connection closed",
  UND_ERR_SOCKET: "connection closed by the server",
  UND_ERR_CONNECT_TIMEOUT: "connection timed out",
};

/** A short human reason for a network failure, e.g. "connection refused". */
export function describeNetworkError(error: unknown): string {
  const code = networkCode(error);
  if (code && NETWORK_TEXT[code]) return NETWORK_TEXT[code];
  if (code) return code;
  // No system code: the innermost cause says most (e.g. undici's "bad port").
  let inner: unknown = error;
  while (inner instanceof Error && inner.cause instanceof Error) inner = inner.cause;
  const message = inner instanceof Error ? inner.message : String(inner);
  return message === "fetch failed" || !message ? "network error" : message;
}
