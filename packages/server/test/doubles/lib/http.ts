import type { IncomingMessage, ServerResponse } from "node:http";
import type { Throttle } from "./faults.ts";

/** What a handler answers: `body` is a Buffer, a string, or anything JSON-serialisable. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** One received request, with its body read and (if JSON) parsed. */
export interface RequestContext {
  req: IncomingMessage;
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage["headers"];
  rawBody: Buffer;
  /** The body as UTF-8 text (empty when too large). */
  text: string;
  /** Parsed JSON, or undefined when the body is empty, not JSON, or too large. */
  body: unknown;
  /** Set when a non-empty body failed to parse as JSON. */
  jsonError?: string;
  /** Bytes received (also when the body was too large to keep). */
  bodyBytes: number;
  bodyTooLarge: boolean;
  /** The id this double puts in its request-id header. */
  requestId: string;
  /** Simulated arrival time (epoch ms). */
  time: number;
  /** Path parameters of the matched route. */
  params: Record<string, string>;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  /** `/api/v3/tasks/:id`: `:name` segments capture one path segment; a trailing `*` captures the rest as `rest`. */
  pattern: string;
  handler: Handler;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, body, headers: { "content-type": "application/json; charset=utf-8", ...headers } };
}

/** Find the route for a method and path; HEAD falls back to GET routes. */
export function matchRoute(
  routes: readonly Route[],
  method: string,
  path: string,
): { route: Route; params: Record<string, string> } | { allowed: string[] } | undefined {
  const allowed: string[] = [];
  for (const route of routes) {
    const params = matchPattern(route.pattern, path);
    if (!params) continue;
    if (route.method === method || (method === "HEAD" && route.method === "GET")) return { route, params };
    allowed.push(route.method);
  }
  return allowed.length > 0 ? { allowed } : undefined;
}

function matchPattern(pattern: string, path: string): Record<string, string> | undefined {
  const want = pattern.split("/");
  const got = path.split("/");
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    if (w === "*") {
      params.rest = got.slice(i).map(safeDecode).join("/");
      return params;
    }
    const g = got[i];
    if (g === undefined) return undefined;
    if (w.startsWith(":")) {
      if (g === "") return undefined;
      params[w.slice(1)] = safeDecode(g);
    } else if (w !== g) return undefined;
  }
  return want.length === got.length ? params : undefined;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Serialise a reply body, filling in content-type. */
export function encodeBody(reply: Reply): { bytes: Buffer; headers: Record<string, string> } {
  const headers = { ...(reply.headers ?? {}) };
  const has = (name: string) => Object.keys(headers).some((k) => k.toLowerCase() === name);
  let bytes: Buffer;
  if (reply.body === undefined || reply.body === null) bytes = Buffer.alloc(0);
  else if (Buffer.isBuffer(reply.body)) bytes = reply.body;
  else if (typeof reply.body === "string") {
    bytes = Buffer.from(reply.body);
    if (!has("content-type")) headers["content-type"] = "text/plain; charset=utf-8";
  } else {
    bytes = Buffer.from(JSON.stringify(reply.body));
    if (!has("content-type")) headers["content-type"] = "application/json; charset=utf-8";
  }
  return { bytes, headers };
}

export interface WriteOptions {
  truncate?: boolean | number;
  throttle?: Throttle;
  /** HEAD: headers only. */
  headOnly?: boolean;
}

/** Send a reply, honouring truncation (cut the connection mid-body) and throttling (slow body). */
export async function writeReply(
  res: ServerResponse,
  reply: Reply,
  options: WriteOptions = {},
): Promise<void> {
  const { bytes, headers } = encodeBody(reply);
  res.statusCode = reply.status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader("content-length", String(bytes.length));
  if (options.headOnly || bytes.length === 0) {
    res.end();
    return;
  }
  let limit = bytes.length;
  const truncating = options.truncate !== undefined && options.truncate !== false;
  if (truncating) {
    const want = options.truncate === true ? Math.floor(bytes.length / 2) : Number(options.truncate);
    limit = Math.max(0, Math.min(want, bytes.length - 1));
  }
  if (options.throttle) {
    const { chunkBytes, intervalMs } = options.throttle;
    for (let at = 0; at < limit; at += chunkBytes) {
      if (res.destroyed) return;
      res.write(bytes.subarray(at, Math.min(at + chunkBytes, limit)));
      if (at + chunkBytes < limit) await new Promise((r) => setTimeout(r, intervalMs));
    }
  } else if (limit > 0) {
    res.write(bytes.subarray(0, limit));
  } else {
    res.flushHeaders();
  }
  if (truncating) {
    await new Promise<void>((resolve) => {
      // Let what was written reach the socket, then cut the connection before the rest.
      setTimeout(() => {
        res.destroy();
        resolve();
      }, 20);
    });
  } else {
    res.end();
  }
}

/** The HTML page a load balancer sends instead of JSON (e.g. for a 502). */
export function lbErrorPage(status: number): string {
  const reason: Record<number, string> = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
  };
  const title = `${status} ${reason[status] ?? "Error"}`;
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
}
