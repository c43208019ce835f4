import dns from "node:dns";
import http, { type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import https from "node:https";
import { isIP, type LookupFunction } from "node:net";
import { type Readable, Transform } from "node:stream";
import {
  ALLOW_NONE,
  type AllowMatcher,
  classifyAddress,
  normalizeHostname,
  sameAddress,
} from "./address-policy.ts";

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

export type OutboundFailureReason =
  | "invalid_url"
  | "bad_scheme"
  | "credentials_in_url"
  | "blocked_address"
  | "dns_failure"
  | "timeout"
  | "aborted"
  | "too_large"
  | "too_many_redirects"
  | "connection_failed"
  | "http_status";

export class OutboundRequestError extends Error {
  override readonly name = "OutboundRequestError";

  constructor(
    readonly reason: OutboundFailureReason,
    message: string,
    /** The URL of the hop that failed, without query string or credentials. */
    readonly url: string,
    readonly details: { address?: string; status?: number } = {},
  ) {
    super(message);
  }
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Host name → addresses. Injectable for tests; the default is `dns.lookup({ all: true })` (honours /etc/hosts). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (hostname) => {
  const found = await dns.promises.lookup(hostname, { all: true, verbatim: true });
  return found.map((a) => ({ address: a.address, family: a.family === 6 ? 6 : 4 }));
};

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

export interface CheckedTarget {
  url: URL;
  /** Lower case, no brackets, no trailing dot. */
  hostname: string;
  port: number;
  /** Every address the host resolved to; all passed the policy. The request is pinned to the first. */
  addresses: ResolvedAddress[];
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const CROSS_ORIGIN_SECRETS = ["authorization", "cookie", "proxy-authorization"];
const ALLOW_HINT =
  "private and loopback targets are blocked; use a publicly reachable URL, or, if you operate this " +
  "server, set VIDRELAY_ALLOW_PRIVATE_TARGETS to allow them";

function size(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KB`;
  return `${bytes} bytes`;
}

/** The URL as safe to show: no credentials, no query string (it often carries signatures). */
export function redactUrl(url: URL | string): string {
  let u: URL;
  try {
    u = typeof url === "string" ? new URL(url) : url;
  } catch {
    return "(unparseable URL)";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    return `${u.protocol}${u.host ? `//${u.host}` : ""}${u.pathname}`;
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? "?…" : ""}`;
}

function fail(
  reason: OutboundFailureReason,
  message: string,
  url: URL | string,
  details?: { address?: string; status?: number },
): OutboundRequestError {
  return new OutboundRequestError(reason, message, redactUrl(url), details);
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/**
 * Parse and vet a URL and resolve its host once, without connecting: scheme, credentials, and
 * every resolved address against the policy. Useful on its own to validate a webhook URL when it
 * is registered; `safeFetch` runs it for every hop.
 */
export async function checkTarget(
  input: string | URL,
  options: { allow?: AllowMatcher; lookup?: Resolver; signal?: AbortSignal } = {},
): Promise<CheckedTarget> {
  let url: URL;
  try {
    url = typeof input === "string" ? new URL(input) : input;
  } catch {
    throw fail(
      "invalid_url",
      `"${String(input)
        .slice(0, 200)
        .replace(/\/\/[^/@]*@/, "//…@")}" is not a valid absolute URL; ` + `send a full http(s) URL`,
      "",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw fail(
      "bad_scheme",
      `unsupported URL scheme "${url.protocol}" in ${redactUrl(url)}: only http and https URLs can be fetched`,
      url,
    );
  }
  if (url.username || url.password) {
    throw fail(
      "credentials_in_url",
      `${redactUrl(url)} contains a user name or password; credentials in URLs are not allowed, ` +
        `use a link that needs no login (for example a pre-signed URL)`,
      url,
    );
  }
  const hostname = normalizeHostname(url.hostname);
  const port = url.port ? Number(url.port) : url.protocol === "https:" ? 443 : 80;
  const allow = options.allow ?? ALLOW_NONE;

  let addresses: ResolvedAddress[];
  const literal = isIP(hostname);
  if (literal) {
    addresses = [{ address: hostname, family: literal === 6 ? 6 : 4 }];
  } else {
    const lookup = options.lookup ?? systemResolver;
    try {
      const pending = lookup(hostname);
      addresses = await (options.signal ? abortable(pending, options.signal) : pending);
    } catch (err) {
      if (err instanceof OutboundRequestError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw fail(
        "dns_failure",
        `could not resolve host "${hostname}" (${code}) for ${redactUrl(url)}; check the host name is spelled ` +
          `correctly and resolvable from this server`,
        url,
      );
    }
    if (addresses.length === 0) {
      throw fail(
        "dns_failure",
        `host "${hostname}" has no addresses (for ${redactUrl(url)}); check the host name`,
        url,
      );
    }
  }
  for (const { address } of addresses) {
    const label = classifyAddress(address);
    if (label !== null && !allow.allows({ hostname, address, port })) {
      throw fail(
        "blocked_address",
        `refusing to connect to ${address} (${label}) for ${redactUrl(url)}: ${ALLOW_HINT}`,
        url,
        {
          address,
        },
      );
    }
  }
  return { url, hostname, port, addresses };
}

/** A `lookup` for http.request that answers with the already-checked address and nothing else. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return ((_hostname: string, options: dns.LookupOptions, callback: (...args: unknown[]) => void) => {
    if (options?.all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as LookupFunction;
}

interface Hop {
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

function sendOnce(
  target: CheckedTarget,
  hop: Hop,
  signal: AbortSignal,
): Promise<{ res: IncomingMessage; address: string }> {
  const { url } = target;
  const pinned = target.addresses[0]!;
  const mod = url.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const headers: Record<string, string> = {
      "user-agent": "vidrelay",
      "accept-encoding": "identity",
      ...hop.headers,
      host: url.host,
    };
    if (hop.body) headers["content-length"] = String(hop.body.byteLength);
    const req = mod.request({
      protocol: url.protocol,
      hostname: target.hostname,
      port: target.port,
      path: `${url.pathname}${url.search}`,
      method: hop.method,
      headers,
      agent: false, // no pooled sockets: every request connects to the address checked for it
      lookup: pinnedLookup(pinned),
    });
    const onAbort = () => req.destroy(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    req.on("socket", (socket) => {
      socket.once("connect", () => {
        // Defence in depth: the socket must be connected to the address that was checked.
        if (socket.remoteAddress && !sameAddress(socket.remoteAddress, pinned.address)) {
          req.destroy(
            fail(
              "blocked_address",
              `connection for ${redactUrl(url)} went to ${socket.remoteAddress} instead of the checked ` +
                `${pinned.address}; refusing it`,
              url,
              { address: socket.remoteAddress },
            ),
          );
        }
      });
    });
    req.once("response", (res) => {
      signal.removeEventListener("abort", onAbort);
      resolve({ res, address: pinned.address });
    });
    req.once("error", (err) => {
      signal.removeEventListener("abort", onAbort);
      if (err instanceof OutboundRequestError) return reject(err);
      if (signal.aborted) return reject(signal.reason);
      const code = (err as NodeJS.ErrnoException).code ?? err.message;
      reject(
        fail(
          "connection_failed",
          `could not get a response from ${target.hostname} (${pinned.address} port ${target.port}) for ` +
            `${redactUrl(url)}: ${code}; check that the server is up and reachable`,
          url,
          { address: pinned.address },
        ),
      );
    });
    req.end(hop.body);
  });
}

/** Cap and watch a response body: counts bytes, turns deadline/abort and early close into OutboundRequestErrors. */
function guardBody(
  res: IncomingMessage,
  url: URL,
  maxBytes: number,
  signal: AbortSignal,
  done: () => void,
): Readable {
  let received = 0;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > maxBytes) {
        callback(
          fail(
            "too_large",
            `the response from ${redactUrl(url)} is larger than the ${size(maxBytes)} limit; use a smaller file`,
            url,
          ),
        );
        return;
      }
      callback(null, chunk);
    },
  });
  const onAbort = () => body.destroy(signal.reason);
  signal.addEventListener("abort", onAbort, { once: true });
  res.on("error", (err) => {
    body.destroy(
      signal.aborted
        ? signal.reason
        : fail(
            "connection_failed",
            `the connection for ${redactUrl(url)} failed mid-body: ${err.message}`,
            url,
          ),
    );
  });
  res.on("close", () => {
    if (!res.complete && !body.destroyed) {
      body.destroy(
        fail(
          "connection_failed",
          `the server closed the connection before sending the whole body of ${redactUrl(url)}; try again`,
          url,
        ),
      );
    }
  });
  body.on("close", () => {
    signal.removeEventListener("abort", onAbort);
    res.destroy();
    done();
  });
  res.pipe(body);
  return body;
}

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
      fail(
        "timeout",
        `no complete response from ${redactUrl(current)} within ${options.timeoutMs} ms; the server is too ` +
          `slow or unreachable, try again later or use a faster host`,
        current,
      ),
    );
  }, options.timeoutMs);
  const onExternalAbort = () =>
    ctrl.abort(fail("aborted", `the request to ${redactUrl(current)} was cancelled`, current));
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
      const { res, address } = await sendOnce(target, hop, ctrl.signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;

      if (REDIRECTS.has(status) && location && maxRedirects > 0) {
        res.destroy();
        let next: URL;
        try {
          next = new URL(location, target.url);
        } catch {
          throw fail(
            "invalid_url",
            `${redactUrl(target.url)} redirected to an invalid URL; link directly to the file`,
            target.url,
          );
        }
        if (redirects >= maxRedirects) {
          throw fail(
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
        throw fail(
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
        throw fail(
          "too_large",
          `${redactUrl(target.url)} is ${size(declared)}, more than the ${size(options.maxBytes)} limit; use a smaller file`,
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
