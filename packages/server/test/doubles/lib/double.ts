import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Callbacks } from "./callbacks.ts";
import { Clock, type ClockOptions } from "./clock.ts";
import {
  type FaultAction,
  FaultError,
  type FaultRule,
  type FaultRuleInput,
  Faults,
  replacesResponse,
} from "./faults.ts";
import { type ExpireFilter, Files } from "./files.ts";
import {
  json,
  lbErrorPage,
  matchRoute,
  type Reply,
  type RequestContext,
  type Route,
  writeReply,
} from "./http.ts";
import { Journal, redactHeaders } from "./journal.ts";
import { Rng } from "./random.ts";

/** Settings every double has. */
export interface BaseSettings {
  /** Request bodies larger than this are rejected (through the double's `bodyTooLarge`). */
  maxBodyBytes: number;
}

/**
 * Facts about a media URL a test wants the double to believe without fetching it: passed per
 * request in the `X-Double-Media-Meta` header (JSON `{ "<url>": {…} }`, or an array in media
 * order) or registered up front with `POST /__control/media-meta`.
 */
export interface MediaMeta {
  width?: number;
  height?: number;
  /** Container/format, lower case: png, jpeg, webp, mp4, mov, wav, mp3… */
  format?: string;
  bytes?: number;
  durationSec?: number;
  fps?: number;
  /** The media shows a real human face (privacy moderation). */
  face?: boolean;
}

export const MEDIA_META_HEADER = "x-double-media-meta";

export interface DoubleHooks {
  routes: Route[];
  /** Extra `/__control/...` routes for this double (not journaled, never faulted). */
  controlRoutes?: Route[];
  /** Headers added to every response, e.g. a request id. */
  responseHeaders?: (ctx: RequestContext) => Record<string, string>;
  /** A request id for a new request (default: 32 hex chars). */
  requestId?: () => string;
  /** A fault's `error` code as this provider's error response (status and envelope). */
  errorReply?: (code: string, message: string | undefined, ctx: RequestContext) => Reply;
  bodyTooLarge?: (ctx: RequestContext) => Reply;
  notFound?: (ctx: RequestContext) => Reply;
  methodNotAllowed?: (ctx: RequestContext, allowed: string[]) => Reply;
  internalError?: (ctx: RequestContext, err: unknown) => Reply;
  /** Check (throw to refuse) a settings patch before it is merged. */
  checkSettings?: (patch: Record<string, unknown>) => void;
  /** Runs after settings changed. */
  onSettings?: () => void;
  onClose?: () => void | Promise<void>;
}

export interface DoubleOptions<S extends object> {
  /** Shown in logs and the health endpoint. */
  name?: string;
  /** Default 0 (an ephemeral port). */
  port?: number;
  /** Default 127.0.0.1; doubles only listen on loopback. */
  host?: string;
  /** Seed for ids and jitter (default 1). */
  seed?: number;
  /** Clock options, or a clock to share between doubles. */
  clock?: ClockOptions | Clock;
  /** Secret that signs file URLs (default random from the seed). */
  fileSecret?: string;
  /** Initial settings (merged over `maxBodyBytes: 64 MiB`). */
  settings: S & Partial<BaseSettings>;
  /** Build the double's routes and hooks once the shared machinery exists. */
  setup: (core: DoubleCore<S>) => DoubleHooks;
}

/** The shared machinery a double is built on. */
export interface DoubleCore<S extends object> {
  name: string;
  clock: Clock;
  rng: Rng;
  journal: Journal;
  faults: Faults;
  files: Files;
  callbacks: Callbacks;
  settings: S & BaseSettings;
  /** Declared media facts for URLs (see MediaMeta). */
  mediaMeta: Map<string, MediaMeta>;
  /** Media facts for the request's URLs: header first, then the registry. Indexed lookups use `order`. */
  declaredMedia(ctx: RequestContext, url: string, index?: number): MediaMeta | undefined;
  /** Merge a settings patch (one level deep for plain objects); throws on unknown keys. */
  updateSettings(patch: Record<string, unknown>): S & BaseSettings;
}

export interface Double<S extends object> extends DoubleCore<S> {
  /** http://127.0.0.1:<port> */
  url: string;
  port: number;
  host: string;
  close(): Promise<void>;
}

/** Fault modifiers applied to a normal response. */
type ResponseMods = Pick<FaultAction, "truncate" | "throttle">;

export const DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024;

export class ControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Start a double: a real HTTP server on loopback with journal, faults, files, callbacks and clock. */
export async function startDouble<S extends object>(options: DoubleOptions<S>): Promise<Double<S>> {
  const clock = options.clock instanceof Clock ? options.clock : new Clock(options.clock);
  const rng = new Rng(options.seed ?? 1);
  const files = new Files(clock, new Rng((options.seed ?? 1) ^ 0x5eed), options.fileSecret);
  await files.init();
  const settings = { maxBodyBytes: DEFAULT_MAX_BODY_BYTES, ...options.settings } as S & BaseSettings;
  const mediaMeta = new Map<string, MediaMeta>();
  let hooks: DoubleHooks | undefined;

  const core: DoubleCore<S> = {
    name: options.name ?? "double",
    clock,
    rng,
    journal: new Journal(),
    faults: new Faults(),
    files,
    callbacks: new Callbacks(clock),
    settings,
    mediaMeta,
    declaredMedia(ctx, url, index) {
      const header = ctx.headers[MEDIA_META_HEADER];
      if (typeof header === "string") {
        try {
          const parsed = JSON.parse(header) as unknown;
          if (Array.isArray(parsed)) {
            if (index !== undefined && parsed[index]) return parsed[index] as MediaMeta;
          } else if (parsed && typeof parsed === "object") {
            const hit = (parsed as Record<string, MediaMeta>)[url];
            if (hit) return hit;
          }
        } catch {
          // An unparsable fixture header is ignored.
        }
      }
      return mediaMeta.get(url);
    },
    updateSettings(patch) {
      if (!patch || typeof patch !== "object" || Array.isArray(patch))
        throw new ControlError(400, "settings patch must be an object");
      for (const key of Object.keys(patch))
        if (!(key in settings)) throw new ControlError(400, `unknown setting: ${key}`);
      hooks?.checkSettings?.(patch);
      const target = settings as Record<string, unknown>;
      for (const [key, value] of Object.entries(patch)) {
        const current = target[key];
        target[key] = isPlainObject(current) && isPlainObject(value) ? { ...current, ...value } : value;
      }
      hooks?.onSettings?.();
      return settings;
    },
  };

  hooks = options.setup(core);
  const h = hooks;
  const controlRoutes = [...libControlRoutes(core), ...(h.controlRoutes ?? [])];
  const newRequestId = h.requestId ?? (() => rng.hex(32));

  const server = createServer((req, res) => {
    void handle(req, res).catch((err) => {
      if (!res.headersSent) {
        res.statusCode = 500;
        res.end(String(err));
      } else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const time = clock.now();
    const url = new URL(req.url ?? "/", "http://double.local");
    const method = (req.method ?? "GET").toUpperCase();
    const isControl = url.pathname.startsWith("/__control/");
    const max = isControl ? Number.POSITIVE_INFINITY : settings.maxBodyBytes;
    const { raw, bytes, tooLarge } = await readBody(req, max);
    const text = tooLarge ? "" : raw.toString("utf8");
    let body: unknown;
    let jsonError: string | undefined;
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch (err) {
        jsonError = (err as Error).message;
      }
    }
    const ctx: RequestContext = {
      req,
      method,
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      rawBody: tooLarge ? Buffer.alloc(0) : raw,
      text,
      body,
      jsonError,
      bodyBytes: bytes,
      bodyTooLarge: tooLarge,
      requestId: newRequestId(),
      time,
      params: {},
    };

    if (isControl) {
      await writeReply(res, await control(ctx));
      return;
    }

    const entry = core.journal.record({
      time,
      realTime: Date.now(),
      method,
      path: ctx.path,
      query: queryRecord(url.searchParams),
      headers: redactHeaders(req.headers),
      body: body ?? (text.length > 0 ? text : undefined),
      bodyBytes: bytes,
      requestId: ctx.requestId,
    });
    const common = () => h.responseHeaders?.(ctx) ?? {};
    const send = async (reply: Reply, mods: ResponseMods = {}) => {
      entry.status = reply.status;
      await writeReply(
        res,
        { ...reply, headers: { ...common(), ...(reply.headers ?? {}) } },
        {
          ...mods,
          headOnly: method === "HEAD",
        },
      );
    };

    const rule = core.faults.take({ method, path: ctx.path, headers: req.headers, rawBody: text, body });
    let mods: ResponseMods = {};
    if (rule) {
      entry.fault = rule.id;
      const a = rule.action;
      if (a.delayMs) await new Promise((r) => setTimeout(r, a.delayMs));
      if (a.dropConnection) {
        req.socket.destroy();
        return;
      }
      if (a.hang) return; // never answered; close() tears the socket down
      if (replacesResponse(a)) {
        await send(faultReply(a, ctx), { truncate: a.truncate, throttle: a.throttle });
        return;
      }
      mods = { truncate: a.truncate, throttle: a.throttle };
    }

    if (ctx.bodyTooLarge) {
      await send(h.bodyTooLarge?.(ctx) ?? json(413, { error: "request body too large" }), mods);
      return;
    }
    const fileReply = files.serve(ctx);
    if (fileReply) {
      await send(fileReply, mods);
      return;
    }
    const found = matchRoute(h.routes, method, ctx.path);
    let reply: Reply;
    if (!found) reply = h.notFound?.(ctx) ?? json(404, { error: "not found" });
    else if ("allowed" in found)
      reply = h.methodNotAllowed?.(ctx, found.allowed) ?? json(405, { error: "method not allowed" });
    else {
      ctx.params = found.params;
      try {
        reply = await found.route.handler(ctx);
      } catch (err) {
        reply = h.internalError?.(ctx, err) ?? json(500, { error: String(err) });
      }
    }
    await send(reply, mods);
  }

  function faultReply(a: FaultRule["action"], ctx: RequestContext): Reply {
    if (a.nonJson) {
      const status = a.status ?? 502;
      return {
        status,
        headers: { "content-type": "text/html", server: "nginx", ...(a.headers ?? {}) },
        body: typeof a.body === "string" ? a.body : lbErrorPage(status),
      };
    }
    const base: Reply = a.error
      ? (h.errorReply?.(a.error, a.message, ctx) ??
        json(a.status ?? 500, { error: a.error, message: a.message }))
      : json(a.status ?? 500, {});
    return {
      status: a.status ?? base.status,
      headers: { ...(base.headers ?? {}), ...(a.headers ?? {}) },
      body: a.body !== undefined ? a.body : base.body,
    };
  }

  async function control(ctx: RequestContext): Promise<Reply> {
    const found = matchRoute(controlRoutes, ctx.method, ctx.path);
    if (!found) return json(404, { error: `no control route ${ctx.method} ${ctx.path}` });
    if ("allowed" in found) return json(405, { error: `allowed: ${found.allowed.join(", ")}` });
    if (ctx.jsonError) return json(400, { error: `invalid JSON: ${ctx.jsonError}` });
    ctx.params = found.params;
    try {
      return await found.route.handler(ctx);
    } catch (err) {
      const status = err instanceof ControlError ? err.status : err instanceof FaultError ? 400 : 500;
      return json(status, { error: (err as Error).message });
    }
  }

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  files.baseUrl = url;

  let closed: Promise<void> | undefined;
  return Object.assign(core, {
    url,
    port,
    host,
    close() {
      closed ??= (async () => {
        clock.close();
        core.callbacks.close();
        await h.onClose?.();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closed;
    },
  });
}

function libControlRoutes<S extends object>(core: DoubleCore<S>): Route[] {
  const body = (ctx: RequestContext) => (ctx.body ?? {}) as Record<string, unknown>;
  return [
    { method: "GET", pattern: "/__control/health", handler: () => json(200, { ok: true, name: core.name }) },
    {
      method: "GET",
      pattern: "/__control/requests",
      handler: (ctx) => {
        const since = ctx.query.get("since");
        const items = core.journal.list({
          method: ctx.query.get("method") ?? undefined,
          path: ctx.query.get("path") ?? undefined,
          since: since === null ? undefined : Number(since),
        });
        return json(200, { total: items.length, items });
      },
    },
    {
      method: "DELETE",
      pattern: "/__control/requests",
      handler: () => {
        const cleared = core.journal.size;
        core.journal.clear();
        return json(200, { cleared });
      },
    },
    { method: "GET", pattern: "/__control/faults", handler: () => json(200, { items: core.faults.list() }) },
    {
      method: "POST",
      pattern: "/__control/faults",
      handler: (ctx) => {
        const b = ctx.body as FaultRuleInput | FaultRuleInput[] | { rules: FaultRuleInput[] } | undefined;
        const inputs = Array.isArray(b) ? b : b && "rules" in b ? b.rules : b ? [b] : [];
        if (inputs.length === 0)
          throw new ControlError(400, "POST a rule {match, action, count} or {rules: [...]}");
        const added = inputs.map((r) => core.faults.add(r));
        return json(201, { items: added });
      },
    },
    {
      method: "DELETE",
      pattern: "/__control/faults",
      handler: () => {
        const cleared = core.faults.list().length;
        core.faults.clear();
        return json(200, { cleared });
      },
    },
    {
      method: "DELETE",
      pattern: "/__control/faults/:id",
      handler: (ctx) => json(200, { removed: core.faults.remove(Number(ctx.params.id)) }),
    },
    { method: "GET", pattern: "/__control/settings", handler: () => json(200, core.settings) },
    {
      method: "POST",
      pattern: "/__control/settings",
      handler: (ctx) => json(200, core.updateSettings(body(ctx))),
    },
    {
      method: "GET",
      pattern: "/__control/callbacks",
      handler: (ctx) => {
        const items = core.callbacks.attempts({
          key: ctx.query.get("key") ?? undefined,
          event: ctx.query.get("event") ?? undefined,
        });
        return json(200, { total: items.length, items });
      },
    },
    {
      method: "DELETE",
      pattern: "/__control/callbacks",
      handler: () => {
        const cleared = core.callbacks.attempts().length;
        core.callbacks.clear();
        return json(200, { cleared });
      },
    },
    {
      method: "GET",
      pattern: "/__control/files",
      handler: () => json(200, { items: core.files.list() }),
    },
    {
      method: "POST",
      pattern: "/__control/expire-urls",
      handler: (ctx) => json(200, { expired: core.files.expire(body(ctx) as ExpireFilter) }),
    },
    {
      method: "GET",
      pattern: "/__control/clock",
      handler: () => json(200, { now: core.clock.now(), scale: core.clock.scale }),
    },
    {
      method: "POST",
      pattern: "/__control/clock",
      handler: (ctx) => {
        const b = body(ctx);
        if (b.scale !== undefined) core.clock.setScale(Number(b.scale));
        if (b.advanceMs !== undefined) core.clock.advance(Number(b.advanceMs));
        return json(200, { now: core.clock.now(), scale: core.clock.scale });
      },
    },
    {
      method: "POST",
      pattern: "/__control/media-meta",
      handler: (ctx) => {
        for (const [url, meta] of Object.entries(body(ctx))) core.mediaMeta.set(url, meta as MediaMeta);
        return json(200, { size: core.mediaMeta.size });
      },
    },
    {
      method: "DELETE",
      pattern: "/__control/media-meta",
      handler: () => {
        core.mediaMeta.clear();
        return json(200, { size: 0 });
      },
    },
  ];
}

async function readBody(
  req: IncomingMessage,
  max: number,
): Promise<{ raw: Buffer; bytes: number; tooLarge: boolean }> {
  const chunks: Buffer[] = [];
  let bytes = 0;
  let tooLarge = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    bytes += chunk.length;
    if (bytes > max) {
      tooLarge = true;
      chunks.length = 0;
    }
    if (!tooLarge) chunks.push(chunk);
  }
  return { raw: Buffer.concat(chunks), bytes, tooLarge };
}

function queryRecord(params: URLSearchParams): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key of new Set(params.keys())) {
    const all = params.getAll(key);
    out[key] = all.length === 1 ? (all[0] as string) : all;
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
