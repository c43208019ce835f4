import { ProviderError } from "./types.ts";

/**
 * The HTTP client adapters use for an operator-configured upstream (a trusted base URL: no SSRF
 * guard here, that is for user-supplied URLs). It classifies failures the way failover needs:
 * whether the request can have reached the provider.
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

type UpstreamInit = {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
  signal?: AbortSignal;
};

/**
 * `callUpstream` for a create request: a network failure becomes the ProviderError failover
 * reads. Not sent (refused, no route) → `not_created`, safe to try another channel; maybe
 * received (timeout or reset after sending) → `ambiguous`, never submitted again, because a
 * second create could be a second paid task.
 */
export async function submitUpstream(url: string, init: UpstreamInit): Promise<UpstreamResponse> {
  try {
    return await callUpstream(url, init);
  } catch (error) {
    throw providerNetworkError(error);
  }
}

/** A network failure as the ProviderError failover reads (see `submitUpstream`); other errors as they are. */
export function providerNetworkError(error: unknown): unknown {
  if (!(error instanceof UpstreamNetworkError)) return error;
  return new ProviderError(
    error.maybeReceived ? "ambiguous" : "not_created",
    "upstream_unreachable",
    error.message,
  );
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
