import http from "node:http";
import net from "node:net";
import { pipeline } from "node:stream/promises";
import { setTimeout as delay } from "node:timers/promises";

/**
 * Fault-injecting proxies for putting real infrastructure (Postgres, an S3 API) behind faults a
 * test can switch on and off: dropped connections, refused connects, partitions, 5xx answers,
 * resets, hangs and slow bodies. Each fault is one mode at a time; `pass()` returns to forwarding.
 */

export interface TcpFaultProxy {
  port: number;
  host: "127.0.0.1";
  /** Destroys every live client/upstream pair; `reset` sends RST instead of FIN to the client. */
  dropAll(options?: { reset?: boolean }): number;
  refuse(ms?: number): void;
  /** dropAll + refuse(downMs): what clients see while the database restarts. */
  restart(downMs: number): void;
  blackhole(ms?: number): void;
  pass(): void;
  stats(): { accepted: number; live: number; dropped: number; refused: number };
  close(): Promise<void>;
}

type TcpMode = "pass" | "refuse" | "blackhole";

export async function startTcpFaultProxy(target: { host: string; port: number }): Promise<TcpFaultProxy> {
  const pairs = new Set<{ client: net.Socket; upstream: net.Socket }>();
  const held = new Set<net.Socket>();
  const counts = { accepted: 0, dropped: 0, refused: 0 };
  let mode: TcpMode = "pass";
  let timer: NodeJS.Timeout | undefined;

  const server = net.createServer((client) => {
    counts.accepted++;
    // Every socket gets an 'error' listener: a peer's reset must never become an unhandled error.
    client.on("error", () => {});
    if (mode === "refuse") {
      counts.refused++;
      client.resetAndDestroy();
      return;
    }
    if (mode === "blackhole") {
      held.add(client);
      client.on("close", () => held.delete(client));
      return;
    }
    const upstream = net.connect(target);
    upstream.on("error", () => {});
    const pair = { client, upstream };
    pairs.add(pair);
    const end = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on("close", end);
    upstream.on("close", end);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const setMode = (next: TcpMode, ms?: number) => {
    clearTimeout(timer);
    timer = undefined;
    if (next === "pass") {
      for (const socket of held) socket.destroy();
      held.clear();
    }
    mode = next;
    if (next !== "pass" && ms !== undefined) timer = setTimeout(() => setMode("pass"), ms).unref();
  };
  const dropAll = (options: { reset?: boolean } = {}) => {
    const doomed = [...pairs];
    pairs.clear();
    for (const { client, upstream } of doomed) {
      if (options.reset) client.resetAndDestroy();
      else client.destroy();
      upstream.destroy();
    }
    counts.dropped += doomed.length;
    return doomed.length;
  };

  return {
    port,
    host: "127.0.0.1",
    dropAll,
    refuse: (ms) => setMode("refuse", ms),
    restart(downMs) {
      // Refuse first so a client that reconnects the instant it sees the drop is refused too.
      setMode("refuse", downMs);
      dropAll();
    },
    blackhole: (ms) => setMode("blackhole", ms),
    pass: () => setMode("pass"),
    stats: () => ({ ...counts, live: pairs.size }),
    async close() {
      setMode("pass");
      dropAll();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** `url` with its host:port pointed at the proxy; user, password, database and query kept verbatim. */
export function postgresUrlThrough(proxy: { host: string; port: number }, url: string): string {
  const match = /^(postgres(?:ql)?:\/\/)([^@/?#]*@)?([^/?#]*)(.*)$/s.exec(url);
  if (!match) throw new Error(`not a postgres:// URL: ${url}`);
  return `${match[1]}${match[2] ?? ""}${proxy.host}:${proxy.port}${match[4]}`;
}

export type RequestMatcher = (req: { method: string; url: string }) => boolean;

export interface HttpFaultProxy {
  /** http://127.0.0.1:port */
  url: string;
  fail(options?: { status?: number; ms?: number; match?: RequestMatcher }): void;
  reset(ms?: number, match?: RequestMatcher): void;
  hang(ms?: number, match?: RequestMatcher): void;
  throttle(bytesPerSecond: number, ms?: number, match?: RequestMatcher): void;
  pass(): void;
  stats(): { forwarded: number; failed: number; reset: number; byMethod: Record<string, number> };
  close(): Promise<void>;
}

type HttpFault =
  | { kind: "fail"; status: number; match?: RequestMatcher }
  | { kind: "reset" | "hang"; match?: RequestMatcher }
  | { kind: "throttle"; bytesPerSecond: number; match?: RequestMatcher };

// Hop-by-hop headers belong to one connection, not the request. None is covered by a SigV4
// signature (the SDK never signs them), so dropping them keeps signatures valid. `expect` goes too:
// node:http has already answered 100-continue to the client.
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "expect",
]);

function endToEnd(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

const S3_CODES: Record<number, string> = {
  400: "BadRequest",
  403: "AccessDenied",
  404: "NoSuchKey",
  429: "SlowDown",
  500: "InternalError",
  503: "ServiceUnavailable",
};

function s3ErrorBody(status: number): string {
  const code = S3_CODES[status] ?? "InternalError";
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code>` +
    `<Message>Injected fault (HTTP ${status})</Message><RequestId>fault-proxy</RequestId></Error>`
  );
}

async function* dribble(source: AsyncIterable<Buffer>, bytesPerSecond: number) {
  // ~20 slices a second keeps the rate smooth without a timer per byte.
  const slice = Math.max(1, Math.floor(bytesPerSecond / 20));
  for await (const chunk of source) {
    for (let at = 0; at < chunk.length; at += slice) {
      const piece = chunk.subarray(at, at + slice);
      yield piece;
      await delay((piece.length / bytesPerSecond) * 1000);
    }
  }
}

export async function startHttpFaultProxy(target: string): Promise<HttpFaultProxy> {
  const upstreamUrl = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const counts = { forwarded: 0, failed: 0, reset: 0 };
  const byMethod: Record<string, number> = {};
  const hung = new Set<http.ServerResponse>();
  let fault: HttpFault | undefined;
  let timer: NodeJS.Timeout | undefined;

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, bytesPerSecond?: number) => {
    counts.forwarded++;
    const upstream = http.request({
      agent,
      host: upstreamUrl.hostname,
      port: upstreamUrl.port,
      method: req.method,
      path: req.url,
      // The client's Host header travels as sent: SigV4 signs it and s3rver re-derives the signature.
      headers: endToEnd(req.headers),
    });
    const upstreamFailed = () => {
      if (res.headersSent) res.destroy();
      else res.writeHead(502, { "content-type": "text/plain" }).end("fault proxy: upstream failed");
    };
    // pipeline's own listeners go once the request body is sent; the response can still fail after.
    upstream.on("error", upstreamFailed);
    upstream.on("response", (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, endToEnd(upRes.headers));
      const body = bytesPerSecond === undefined ? upRes : dribble(upRes, bytesPerSecond);
      pipeline(body, res).catch(() => {
        upRes.destroy();
        res.destroy();
      });
    });
    pipeline(req, upstream).catch(upstreamFailed);
  };

  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    byMethod[method] = (byMethod[method] ?? 0) + 1;
    req.on("error", () => {});
    res.on("error", () => {});
    const active = fault?.match && !fault.match({ method, url: req.url ?? "/" }) ? undefined : fault;
    if (active?.kind === "fail") {
      counts.failed++;
      // Drain rather than ignore the body so the keep-alive connection stays usable for the next request.
      req.resume();
      req.on("end", () => {
        const body = s3ErrorBody(active.status);
        res.writeHead(active.status, {
          "content-type": "application/xml",
          "content-length": Buffer.byteLength(body),
        });
        res.end(body);
      });
    } else if (active?.kind === "reset") {
      counts.reset++;
      req.socket.resetAndDestroy();
    } else if (active?.kind === "hang") {
      hung.add(res);
      res.on("close", () => hung.delete(res));
    } else {
      forward(req, res, active?.kind === "throttle" ? active.bytesPerSecond : undefined);
    }
  });
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  const setFault = (next: HttpFault | undefined, ms?: number) => {
    clearTimeout(timer);
    timer = undefined;
    if (!next) {
      for (const res of hung) res.socket?.destroy();
      hung.clear();
    }
    fault = next;
    if (next && ms !== undefined) timer = setTimeout(() => setFault(undefined), ms).unref();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    fail: ({ status = 503, ms, match } = {}) => setFault({ kind: "fail", status, match }, ms),
    reset: (ms, match) => setFault({ kind: "reset", match }, ms),
    hang: (ms, match) => setFault({ kind: "hang", match }, ms),
    throttle: (bytesPerSecond, ms, match) => setFault({ kind: "throttle", bytesPerSecond, match }, ms),
    pass: () => setFault(undefined),
    stats: () => ({ ...counts, byMethod: { ...byMethod } }),
    async close() {
      setFault(undefined);
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
