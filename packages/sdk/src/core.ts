import {
  APIConnectionError,
  APITimeoutError,
  describeNetworkError,
  networkCode,
  parseRetryAfter,
  VidRelayError,
} from "./errors.ts";
import { abortReason, linkSignals, readEnv, sleep } from "./runtime.ts";
import type { ListPage } from "./types.ts";

export const SDK_VERSION = "0.1.0";
export const DEFAULT_BASE_URL = "http://127.0.0.1:8080";
export const DEFAULT_TIMEOUT_MS = 60_000;
export const DEFAULT_MAX_RETRIES = 2;
/** A `Retry-After` longer than this is not waited for: the error is thrown for the caller to decide. */
export const MAX_RETRY_AFTER_SECONDS = 60;

export interface ClientOptions {
  /** API key (`sk-…`). Default: the `VIDRELAY_API_KEY` environment variable. */
  apiKey?: string;
  /**
   * The gateway's origin, e.g. `https://video.example.com` (a trailing `/v1` is accepted).
   * Default: `VIDRELAY_BASE_URL`, else `http://127.0.0.1:8080`.
   */
  baseURL?: string;
  /** Retries after the first attempt for retryable failures (429, 5xx, network). Default 2. */
  maxRetries?: number;
  /** Per-attempt time limit in milliseconds (until the response body is read). Default 60 000. */
  timeout?: number;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Headers sent with every request. */
  defaultHeaders?: Record<string, string>;
}

/** Options every method accepts as its last argument. */
export interface RequestOptions {
  signal?: AbortSignal;
  /** Per-attempt time limit in milliseconds; overrides the client's. */
  timeout?: number;
  /** Overrides the client's `maxRetries`. */
  maxRetries?: number;
  headers?: Record<string, string>;
}

export interface CoreRequest extends RequestOptions {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** A path such as `/v1/files`, or an absolute URL (sent without the API key unless it is ours). */
  path: string;
  query?: Record<string, string | number | undefined>;
  json?: unknown;
  body?: FormData;
  idempotencyKey?: string;
  accept?: string;
  /** Return the Response once headers arrive, body unread (the time limit then stops). */
  raw?: boolean;
}

type RetryDecision = { retry: false } | { retry: true; delayMs: number };

/** HTTP plumbing shared by the resources: auth, time limits, retries, typed errors. */
export class Core {
  readonly apiKey: string;
  readonly baseURL: string;
  readonly maxRetries: number;
  readonly timeout: number;
  private readonly fetchImpl: typeof fetch;
  private readonly defaultHeaders: Record<string, string>;

  constructor(options: ClientOptions = {}) {
    const apiKey = options.apiKey ?? readEnv("VIDRELAY_API_KEY");
    if (!apiKey) {
      throw new VidRelayError(
        "missing API key: pass { apiKey } or set the VIDRELAY_API_KEY environment variable",
        { code: "missing_api_key" },
      );
    }
    this.apiKey = apiKey;
    this.baseURL = normalizeBaseURL(options.baseURL ?? readEnv("VIDRELAY_BASE_URL") ?? DEFAULT_BASE_URL);
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.timeout = options.timeout ?? DEFAULT_TIMEOUT_MS;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== "function") throw new VidRelayError("no fetch implementation: pass { fetch }");
    this.fetchImpl = f.bind(globalThis);
    this.defaultHeaders = options.defaultHeaders ?? {};
  }

  url(path: string, query?: CoreRequest["query"]): string {
    const url = new URL(/^https?:\/\//.test(path) ? path : `${this.baseURL}${path}`);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== "") url.searchParams.set(name, String(value));
    }
    return url.toString();
  }

  /** Whether a URL is on this gateway (so the API key may be sent to it). */
  isOwnUrl(url: string): boolean {
    return new URL(url).origin === new URL(this.baseURL).origin;
  }

  async request<T>(req: CoreRequest & { raw?: false }): Promise<T>;
  async request(req: CoreRequest & { raw: true }): Promise<Response>;
  async request<T>(req: CoreRequest): Promise<T | Response> {
    const maxRetries = Math.max(0, req.maxRetries ?? this.maxRetries);
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.attempt<T>(req);
      } catch (error) {
        const decision = this.shouldRetry(req, error, attempt, maxRetries);
        if (!decision.retry) throw error;
        await sleep(decision.delayMs, req.signal);
      }
    }
  }

  /** Fetch every page of a list endpoint, following `next_cursor`. */
  paginate<T>(
    path: string,
    query: Record<string, string | number | undefined>,
    options: RequestOptions = {},
  ) {
    return new Paginator<T>(
      (after) => this.request<ListPage<T>>({ ...options, method: "GET", path, query: { ...query, after } }),
      typeof query.after === "string" ? query.after : undefined,
    );
  }

  private async attempt<T>(req: CoreRequest): Promise<T | Response> {
    const url = this.url(req.path, req.query);
    const headers = new Headers(this.defaultHeaders);
    if (!/^https?:\/\//.test(req.path) || this.isOwnUrl(url)) {
      headers.set("authorization", `Bearer ${this.apiKey}`);
    }
    headers.set("accept", req.accept ?? "application/json");
    let body: BodyInit | undefined;
    if (req.json !== undefined) {
      headers.set("content-type", "application/json");
      body = JSON.stringify(req.json);
    } else if (req.body !== undefined) {
      body = req.body;
    }
    if (req.idempotencyKey !== undefined) headers.set("idempotency-key", req.idempotencyKey);
    for (const [name, value] of Object.entries(req.headers ?? {})) headers.set(name, value);

    const timeoutMs = req.timeout ?? this.timeout;
    const timer = new AbortController();
    const linked = linkSignals(req.signal, timer.signal);
    const handle = setTimeout(() => timer.abort(new TimeoutMarker()), timeoutMs);
    let keepLinked = false;
    try {
      let response: Response;
      try {
        response = await this.fetchImpl(url, { method: req.method, headers, body, signal: linked.signal });
      } catch (error) {
        throw this.transportError(error, req, url, timeoutMs);
      }
      if (response.ok && req.raw) {
        // The caller reads the body: the time limit stops here, the caller's signal stays linked.
        keepLinked = true;
        return response;
      }
      let text: string;
      try {
        text = await response.text();
      } catch (error) {
        throw this.transportError(error, req, url, timeoutMs);
      }
      let parsed: unknown;
      try {
        parsed = text === "" ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (!response.ok) throw VidRelayError.fromResponse(response.status, parsed, response.headers, text);
      if (parsed === undefined && text !== "") {
        throw new VidRelayError(`expected JSON from ${req.method} ${url}, got: ${text.slice(0, 200)}`, {
          status: response.status,
          requestId: response.headers.get("x-request-id") ?? undefined,
          headers: response.headers,
        });
      }
      return parsed as T;
    } finally {
      clearTimeout(handle);
      if (!keepLinked) linked.dispose();
    }
  }

  private transportError(error: unknown, req: CoreRequest, url: string, timeoutMs: number): unknown {
    if (req.signal?.aborted) return abortReason(req.signal);
    if (error instanceof TimeoutMarker || (error as { name?: string })?.name === "AbortError") {
      return new APITimeoutError(`${req.method} ${url} timed out after ${timeoutMs} ms`, { cause: error });
    }
    if ((error as { name?: string })?.name === "TimeoutError") {
      return new APITimeoutError(`${req.method} ${url} timed out after ${timeoutMs} ms`, { cause: error });
    }
    const origin = safeOrigin(url);
    return new APIConnectionError(`cannot reach ${origin} (${describeNetworkError(error)})`, {
      code: networkCode(error),
      cause: error,
    });
  }

  private shouldRetry(req: CoreRequest, error: unknown, attempt: number, maxRetries: number): RetryDecision {
    if (attempt >= maxRetries) return { retry: false };
    if (!(error instanceof VidRelayError)) return { retry: false }; // aborted by the caller, or a bug
    const idempotent = req.method === "GET" || req.method === "DELETE" || req.idempotencyKey !== undefined;
    let retryable = false;
    if (error.status === 429)
      retryable = true; // refused before any work: safe for any method
    else if (error.status !== undefined && error.status >= 500) retryable = idempotent;
    else if (error instanceof APITimeoutError) retryable = idempotent;
    else if (error instanceof APIConnectionError) {
      // A refused connection never carried the request; anything else might have.
      retryable = idempotent || ["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN"].includes(error.code ?? "");
    }
    if (!retryable) return { retry: false };
    const retryAfter = error.headers ? parseRetryAfter(error.headers) : undefined;
    if (retryAfter !== undefined) {
      if (retryAfter > MAX_RETRY_AFTER_SECONDS) return { retry: false };
      return { retry: true, delayMs: Math.ceil(retryAfter * 1000) };
    }
    return { retry: true, delayMs: backoffMs(attempt) };
  }
}

/** Exponential back-off with jitter: ~0.5 s, 1 s, 2 s … capped at 8 s, each reduced by up to 25 %. */
export function backoffMs(attempt: number): number {
  const base = Math.min(8000, 500 * 2 ** attempt);
  return Math.round(base * (1 - Math.random() * 0.25));
}

class TimeoutMarker extends Error {
  constructor() {
    super("timeout");
    this.name = "TimeoutMarker";
  }
}

function safeOrigin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return url;
  }
}

export function normalizeBaseURL(value: string): string {
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw new VidRelayError(`invalid base URL "${value}": expected e.g. http://127.0.0.1:8080`, {
      code: "invalid_base_url",
    });
  }
  if (!/^https?:$/.test(url.protocol)) {
    throw new VidRelayError(`invalid base URL "${value}": only http and https are supported`, {
      code: "invalid_base_url",
    });
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "").replace(/\/v1$/, "");
}

/**
 * A cursor-paginated list: iterate it with `for await` to get every item (pages are fetched as
 * needed), or use `pages()`, `firstPage()` or `toArray()`.
 */
export class Paginator<T> implements AsyncIterable<T> {
  constructor(
    private readonly fetchPage: (after: string | undefined) => Promise<ListPage<T>>,
    private readonly startAfter?: string,
  ) {}

  firstPage(): Promise<ListPage<T>> {
    return this.fetchPage(this.startAfter);
  }

  async *pages(): AsyncGenerator<ListPage<T>, void, undefined> {
    let after = this.startAfter;
    const seen = new Set<string>();
    for (;;) {
      const page = await this.fetchPage(after);
      yield page;
      const next = page.next_cursor;
      if (!page.has_more || !next || seen.has(next)) return;
      seen.add(next);
      after = next;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.data;
  }

  /** Every item (or the first `max`). */
  async toArray(max = Number.POSITIVE_INFINITY): Promise<T[]> {
    const items: T[] = [];
    if (max <= 0) return items;
    for await (const item of this) {
      items.push(item);
      if (items.length >= max) break;
    }
    return items;
  }
}
