/**
 * Outbound HTTP that cannot be pointed at the gateway's own network (SSRF): used to fetch media
 * referenced by URL and to deliver webhooks.
 *
 * Per hop: only http/https, no credentials in the URL, the host name resolved exactly once, every
 * resolved address checked against the address policy, and the connection pinned to the checked
 * address (so a second, different DNS answer cannot be slipped in between check and connect).
 * Redirects are followed by hand, each hop checked again. One deadline covers the whole exchange,
 * body included, and the body is cut off at `maxBytes`.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import type { AllowMatcher } from "./address-policy.ts";
import type { ConnectionPool } from "./connection-pool.ts";
import { formatSize, outboundError, redactUrl } from "./outbound-error.ts";
import { checkTarget, guardBody, type Hop, type Resolver, sendOnce } from "./pinned-http.ts";

export interface SafeFetchOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Deadline for the whole exchange: DNS, connects, redirects and reading the body. */
  timeoutMs: number;
  /** Largest response body accepted (Content-Length checked up front, then counted while streaming). */
  maxBytes: number;
  /** Private targets that are nevertheless allowed (default: none). See `parseAllowList`. */
  allow?: AllowMatcher;
  /** Redirects followed (default 3). 0 = never follow: a 3xx response is returned as it is. */
  maxRedirects?: number;
  signal?: AbortSignal;
  /** Name resolution, called once per hop for host names (never for IP literals). */
  lookup?: Resolver;
  /** Keep-alive connections to reuse (per checked address); default: a new connection per request. */
  pool?: ConnectionPool;
  /** When given, a status it rejects fails with reason `http_status` (the body is discarded). */
  acceptStatus?: (status: number) => boolean;
}

export interface SafeFetchResponse {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** The response body, capped at `maxBytes`; errors with an OutboundRequestError (too_large, timeout, …). */
  body: Readable;
  /** The final URL, after redirects. */
  url: string;
  /** The address actually connected to. */
  address: string;
  redirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CROSS_ORIGIN_SECRETS = ["authorization", "cookie", "proxy-authorization"];

/**
 * Fetch `url` with the SSRF protections described at the top of this file. Resolves once the
 * final response's headers arrive; the body streams (and still obeys the deadline and size cap).
 * Every failure is an OutboundRequestError with a `reason` and a message a person can act on.
 */
export async function safeFetch(url: string, options: SafeFetchOptions): Promise<SafeFetchResponse> {
  const maxRedirects = options.maxRedirects ?? 3;
  const ctrl = new AbortController();
  let current: URL | string = url;
  const timer = setTimeout(() => {
    ctrl.abort(
      outboundError(
        "timeout",
        `no complete response from ${redactUrl(current)} within ${options.timeoutMs} ms; the server is too ` +
          `slow or unreachable, try again later or use a faster host`,
        current,
      ),
    );
  }, options.timeoutMs);
  const onExternalAbort = () =>
    ctrl.abort(outboundError("aborted", `the request to ${redactUrl(current)} was cancelled`, current));
  if (options.signal?.aborted) onExternalAbort();
  options.signal?.addEventListener("abort", onExternalAbort, { once: true });
  const cleanup = () => {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onExternalAbort);
  };

  try {
    const hop: Hop = {
      method: (options.method ?? "GET").toUpperCase(),
      headers: Object.fromEntries(
        Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v]),
      ),
      body: typeof options.body === "string" ? Buffer.from(options.body) : options.body,
    };
    for (const h of ["host", "content-length", "transfer-encoding", "connection"]) delete hop.headers[h];
    for (let redirects = 0; ; redirects++) {
      const target = await checkTarget(current, {
        allow: options.allow,
        lookup: options.lookup,
        signal: ctrl.signal,
      });
      current = target.url;
      const { res, address } = await sendOnce(target, hop, ctrl.signal, options.pool);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;

      if (REDIRECTS.has(status) && location && maxRedirects > 0) {
        res.destroy();
        let next: URL;
        try {
          next = new URL(location, target.url);
        } catch {
          throw outboundError(
            "invalid_url",
            `${redactUrl(target.url)} redirected to an invalid URL; link directly to the file`,
            target.url,
          );
        }
        if (redirects >= maxRedirects) {
          throw outboundError(
            "too_many_redirects",
            `${redactUrl(url)} redirected more than ${maxRedirects} times (last to ${redactUrl(next)}); ` +
              `link directly to the final location`,
            target.url,
          );
        }
        if (status === 303 || ((status === 301 || status === 302) && hop.method === "POST")) {
          if (hop.method !== "HEAD") hop.method = "GET";
          hop.body = undefined;
          delete hop.headers["content-type"];
        }
        if (next.origin !== target.url.origin) for (const h of CROSS_ORIGIN_SECRETS) delete hop.headers[h];
        current = next;
        continue;
      }

      if (options.acceptStatus && !options.acceptStatus(status)) {
        res.destroy();
        throw outboundError(
          "http_status",
          `${redactUrl(target.url)} answered ${status} ${res.statusMessage ?? ""}`.trimEnd() +
            "; check that the link is correct and publicly readable",
          target.url,
          { status, address },
        );
      }
      const declared = Number(res.headers["content-length"]);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        res.destroy();
        throw outboundError(
          "too_large",
          `${redactUrl(target.url)} is ${formatSize(declared)}, more than the ${formatSize(options.maxBytes)} limit; use a smaller file`,
          target.url,
        );
      }
      const body = guardBody(res, target.url, options.maxBytes, ctrl.signal, cleanup);
      return {
        status,
        statusText: res.statusMessage ?? "",
        headers: res.headers,
        body,
        url: target.url.href,
        address,
        redirects,
      };
    }
  } catch (err) {
    cleanup();
    throw err;
  }
}

export interface SafeFetchBufferResponse extends Omit<SafeFetchResponse, "body"> {
  body: Buffer;
}

/** `safeFetch`, with the body read into memory (at most `maxBytes`). */
export async function safeFetchBuffer(
  url: string,
  options: SafeFetchOptions,
): Promise<SafeFetchBufferResponse> {
  const res = await safeFetch(url, options);
  const chunks: Buffer[] = [];
  for await (const chunk of res.body) chunks.push(chunk as Buffer);
  return { ...res, body: Buffer.concat(chunks) };
}
