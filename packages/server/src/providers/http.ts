/**
 * The HTTP client adapters use for an operator-configured upstream (a trusted base URL: no SSRF
 * guard here, that is for user-supplied URLs). A network failure says whether the request can
 * have reached the provider; submit-failure.ts turns that into what failover may do.
 */
export interface UpstreamResponse {
  status: number;
  headers: Headers;
  text: string;
  /** Parsed JSON body, or undefined when the body is not JSON (e.g. a load balancer's HTML 502). */
  json: unknown;
}

export class UpstreamNetworkError extends Error {
  constructor(
    message: string,
    /** True when the request may have been received (a timeout or reset after sending). */
    readonly maybeReceived: boolean,
  ) {
    super(message);
    this.name = "UpstreamNetworkError";
  }
}

// Errors that happen before a single byte of the request can have been processed upstream.
const NOT_SENT = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

export type UpstreamInit = {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
};

/** How long a create may take before its answer counts as lost, when the registry gives no `submitTimeoutMs`. */
export const DEFAULT_SUBMIT_TIMEOUT_MS = 30_000;
/** How long a status, list, cancel or check call may take. */
export const QUERY_TIMEOUT_MS = 15_000;

/** `Authorization: Bearer` and a JSON body, which most providers take. */
export function bearerJson(apiKey: string): Record<string, string> {
  return { authorization: `Bearer ${apiKey}`, "content-type": "application/json" };
}

export async function callUpstream(url: string, init: UpstreamInit): Promise<UpstreamResponse> {
  const timeout = AbortSignal.timeout(init.timeoutMs);
  const signal = init.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? "GET",
      headers: init.headers,
      body: init.body,
      signal,
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause;
    const code = cause?.code ?? (error as { code?: string }).code;
    if (code && NOT_SENT.has(code)) {
      throw new UpstreamNetworkError(`cannot connect to ${new URL(url).host} (${code})`, false);
    }
    if (timeout.aborted) {
      throw new UpstreamNetworkError(`no answer from ${new URL(url).host} within ${init.timeoutMs} ms`, true);
    }
    if (init.signal?.aborted) throw error;
    throw new UpstreamNetworkError(
      `the connection to ${new URL(url).host} failed (${code ?? (error as Error).message})`,
      true,
    );
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new UpstreamNetworkError(
      `the answer from ${new URL(url).host} was cut off: ${(error as Error).message}`,
      true,
    );
  }
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** Retry-After in ms (seconds or an HTTP date), capped at an hour. */
export function retryAfterMs(headers: Headers): number | undefined {
  const value = headers.get("retry-after");
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.min(Math.max(0, seconds), 3600) * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.min(Math.max(0, at - Date.now()), 3600_000) : undefined;
}
