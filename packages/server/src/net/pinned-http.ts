/**
 * The DNS-pinned request machinery under safeFetch: resolve a host once, check every address
 * against the address policy, then connect to exactly that address (a custom `lookup`, no pooled
 * sockets), so a second, different DNS answer cannot be slipped in between check and connect.
 * One hop per call; redirects and the deadline belong to safe-fetch.ts.
 */
import dns from "node:dns";
import http, { type IncomingMessage } from "node:http";
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
import type { ConnectionPool } from "./connection-pool.ts";
import { formatSize, OutboundRequestError, outboundError, redactUrl } from "./outbound-error.ts";

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

export interface CheckedTarget {
  url: URL;
  /** Lower case, no brackets, no trailing dot. */
  hostname: string;
  port: number;
  /** Every address the host resolved to; all passed the policy. The request is pinned to the first. */
  addresses: ResolvedAddress[];
}

const ALLOW_HINT =
  "private and loopback targets are blocked; use a publicly reachable URL, or, if you operate this " +
  "server, set VIDRELAY_ALLOW_PRIVATE_TARGETS to allow them";

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
    throw outboundError(
      "invalid_url",
      `"${String(input)
        .slice(0, 200)
        .replace(/\/\/[^/@]*@/, "//…@")}" is not a valid absolute URL; ` + `send a full http(s) URL`,
      "",
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw outboundError(
      "bad_scheme",
      `unsupported URL scheme "${url.protocol}" in ${redactUrl(url)}: only http and https URLs can be fetched`,
      url,
    );
  }
  if (url.username || url.password) {
    throw outboundError(
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
      // Cancelled by the caller: their reason, as sendOnce does, not a "DNS failure" with code 20.
      if (options.signal?.aborted) throw options.signal.reason;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw outboundError(
        "dns_failure",
        `could not resolve host "${hostname}" (${code}) for ${redactUrl(url)}; check the host name is spelled ` +
          `correctly and resolvable from this server`,
        url,
      );
    }
    if (addresses.length === 0) {
      throw outboundError(
        "dns_failure",
        `host "${hostname}" has no addresses (for ${redactUrl(url)}); check the host name`,
        url,
      );
    }
  }
  for (const { address } of addresses) {
    const label = classifyAddress(address);
    if (label !== null && !allow.allows({ hostname, address, port })) {
      throw outboundError(
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

export interface Hop {
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | undefined;
}

export function sendOnce(
  target: CheckedTarget,
  hop: Hop,
  signal: AbortSignal,
  pool?: ConnectionPool,
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
      // Without a pool every request opens its own connection to the address checked for it; a
      // pool's agent for this address only holds connections opened to that same address.
      agent: pool ? pool.agentFor(target) : false,
      lookup: pinnedLookup(pinned),
    });
    const onAbort = () => req.destroy(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    req.on("socket", (socket) => {
      const verify = () => {
        // Defence in depth: the socket must be connected to the address that was checked.
        if (socket.remoteAddress && !sameAddress(socket.remoteAddress, pinned.address)) {
          req.destroy(
            outboundError(
              "blocked_address",
              `connection for ${redactUrl(url)} went to ${socket.remoteAddress} instead of the checked ` +
                `${pinned.address}; refusing it`,
              url,
              { address: socket.remoteAddress },
            ),
          );
        }
      };
      // A pooled connection being reused is already connected: check it now.
      if (socket.connecting) socket.once("connect", verify);
      else verify();
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
        outboundError(
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
export function guardBody(
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
          outboundError(
            "too_large",
            `the response from ${redactUrl(url)} is larger than the ${formatSize(maxBytes)} limit; use a smaller file`,
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
        : outboundError(
            "connection_failed",
            `the connection for ${redactUrl(url)} failed mid-body: ${err.message}`,
            url,
          ),
    );
  });
  res.on("close", () => {
    if (!res.complete && !body.destroyed) {
      body.destroy(
        outboundError(
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
