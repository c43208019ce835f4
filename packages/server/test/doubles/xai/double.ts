import { ControlError, type Double, type DoubleCore, startDouble } from "../lib/double.ts";
import { json, type Reply, type RequestContext, type Route } from "../lib/http.ts";

/**
 * xAI Grok Imagine video: a local double of `POST /v1/videos/generations` and
 * `GET /v1/videos/{request_id}` (docs/providers.md §3 and §7.4), built on the shared doubles library.
 *
 * - `pending` (with `progress` 0 while queued, rising while it renders) → `done` with
 *   `video {url, duration, respect_moderation: true}` and `usage.cost_in_usd_ticks`; or `failed`
 *   with `error {code, message}`; `expired` once a request outlives its TTL.
 * - 400 for a duration outside 1–15, an unsupported aspect ratio or resolution; 404 for an
 *   unknown model; a bad key answers 400 "Incorrect API key provided" as xAI does ([I]:
 *   `badKeyStatus` makes it 401).
 * - Prompt markers: `[[moderate]]` (done, respect_moderation false, empty URL), `[[fail:code]]`,
 *   `[[expire]]` (never finishes; expires), `[[stuck]]`, `[[queue:s]]`, `[[run:s]]`.
 * - Errors are `{code, error}`: a gRPC-style status text and a message.
 */

export type XaiStatus = "pending" | "done" | "failed" | "expired";

export interface XaiSettings {
  /** Simulated ms before a request starts rendering (progress stays 0). */
  queueDelayMs: number;
  /** Simulated render time of an 8 s clip (scaled by duration/8). */
  runMsPer8s: number;
  jitter: number;
  /** A request still pending this long after creation is `expired` (default 2 h). */
  pendingTtlMs: number;
  /** A finished request's result is `expired` this long after it was done (default 24 h). */
  resultTtlMs: number;
  videoUrlTtlMs: number;
  /** Status of a bad key: xAI answers 400 (default); 401 for the conventional behaviour. */
  badKeyStatus: 400 | 401;
}

const HOUR = 3600_000;

export const DEFAULT_XAI_SETTINGS: XaiSettings = {
  queueDelayMs: 5000,
  runMsPer8s: 60_000,
  jitter: 0.1,
  pendingTtlMs: 2 * HOUR,
  resultTtlMs: 24 * HOUR,
  videoUrlTtlMs: 24 * HOUR,
  badKeyStatus: 400,
};

export const DEFAULT_XAI_KEY = "xai-test-key-0000000000000000";

const MODELS: Record<string, { resolutions: string[] }> = {
  "grok-imagine-video": { resolutions: ["480p", "720p"] },
  "grok-imagine-video-1.5": { resolutions: ["480p", "720p", "1080p"] },
  "grok-imagine-video-1.5-preview": { resolutions: ["480p", "720p", "1080p"] },
  "grok-imagine-video-1.5-lite": { resolutions: ["480p", "720p"] },
};
const ASPECT_RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"];
/** USD per second of output, by resolution (about $0.05/s at 480p). */
const PRICE: Record<string, number> = { "480p": 0.05, "720p": 0.07, "1080p": 0.1 };

export interface XaiRequest {
  id: string;
  model: string;
  prompt: string;
  duration: number;
  aspectRatio?: string;
  resolution: string;
  image?: string;
  seed?: number;
  status: XaiStatus;
  createdAt: number;
  readyAt: number;
  runMs: number;
  doneAt?: number;
  stuck: boolean;
  neverFinish: boolean;
  moderated: boolean;
  failWith?: { code: string; message: string };
  error?: { code: string; message: string };
  videoUrl?: string;
}

export interface XaiRequestPatch {
  status?: XaiStatus;
  code?: string;
  message?: string;
  /** Finish as done with respect_moderation false. */
  moderate?: boolean;
  stuck?: boolean;
}

export interface XaiDouble extends Double<XaiSettings> {
  baseUrl: string;
  keys: string[];
  requests: {
    get(id: string): XaiRequest | undefined;
    list(): XaiRequest[];
    force(id: string, patch: XaiRequestPatch): XaiRequest;
  };
}

export interface XaiDoubleOptions extends Partial<XaiSettings> {
  keys?: string[];
  port?: number;
  seed?: number;
  clockScale?: number;
  clockStart?: number;
}

export async function startXaiDouble(options: XaiDoubleOptions = {}): Promise<XaiDouble> {
  const { keys: k, port, seed, clockScale, clockStart, ...rest } = options;
  const keys = k ?? [DEFAULT_XAI_KEY];
  let machine: Machine | undefined;
  const double = await startDouble<XaiSettings>({
    name: "xai",
    port,
    seed,
    clock: { scale: clockScale ?? 600, start: clockStart },
    settings: { ...DEFAULT_XAI_SETTINGS, ...rest },
    setup: (core) => {
      const m = new Machine(core);
      machine = m;
      return {
        routes: apiRoutes(core, m, keys),
        controlRoutes: [
          {
            method: "GET",
            pattern: "/__control/requests/:id",
            handler: (ctx) => {
              const r = m.requests.get(ctx.params.id ?? "");
              return r ? json(200, r) : json(404, { error: "no such request" });
            },
          },
          {
            method: "POST",
            pattern: "/__control/requests/:id",
            handler: (ctx) => json(200, m.force(ctx.params.id ?? "", (ctx.body ?? {}) as XaiRequestPatch)),
          },
        ],
        requestId: () => core.rng.uuid(),
        responseHeaders: (ctx) => ({ "x-request-id": ctx.requestId }),
        errorReply: (code, message) => xaiError(STATUS_OF[code] ?? 500, code, message),
        notFound: (ctx) => xaiError(404, "Not found", `No route for ${ctx.method} ${ctx.path}.`),
        internalError: (_ctx, err) => xaiError(500, "Internal error", (err as Error).message),
      };
    },
  });
  const m = machine as Machine;
  return Object.assign(double, {
    baseUrl: double.url,
    keys,
    requests: {
      get: (id: string) => {
        m.tick();
        return m.requests.get(id);
      },
      list: () => {
        m.tick();
        return [...m.requests.values()];
      },
      force: (id: string, patch: XaiRequestPatch) => m.force(id, patch),
    },
  });
}

/** Fault codes usable with `/__control/faults` `{action: {error}}`. */
const STATUS_OF: Record<string, number> = {
  "Too many requests": 429,
  "Resource exhausted": 429,
  "Internal error": 500,
  "Service unavailable": 503,
  "Invalid argument": 400,
};

export function xaiError(status: number, code: string, message?: string): Reply {
  return json(status, { code, error: message ?? code });
}

class Machine {
  requests = new Map<string, XaiRequest>();
  #timer: { cancel(): void } | undefined;

  constructor(readonly core: DoubleCore<XaiSettings>) {}

  get s(): XaiSettings {
    return this.core.settings;
  }

  tick(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const now = this.core.clock.now();
    let next = Number.POSITIVE_INFINITY;
    for (const r of this.requests.values()) {
      if (r.status === "pending") {
        const expiresAt = r.createdAt + this.s.pendingTtlMs;
        const doneAt = r.stuck || r.neverFinish ? Number.POSITIVE_INFINITY : r.readyAt + r.runMs;
        if (doneAt <= now && doneAt < expiresAt) this.#finish(r, doneAt);
        else if (expiresAt <= now) {
          r.status = "expired";
          r.doneAt = expiresAt;
        } else next = Math.min(next, doneAt, expiresAt);
      }
      if ((r.status === "done" || r.status === "failed") && r.doneAt !== undefined) {
        const expiresAt = r.doneAt + this.s.resultTtlMs;
        if (expiresAt <= now) r.status = "expired";
        else next = Math.min(next, expiresAt);
      }
    }
    if (Number.isFinite(next)) this.#timer = this.core.clock.at(next, () => this.tick());
  }

  #finish(r: XaiRequest, at: number, failure?: { code: string; message: string }): void {
    r.doneAt = at;
    const error = failure ?? r.failWith;
    if (error) {
      r.status = "failed";
      r.error = error;
      return;
    }
    r.status = "done";
    if (!r.moderated) {
      r.videoUrl = this.core.files.publish({
        kind: "mp4",
        style: "plain",
        key: `xai-imagine-video/${r.id}.mp4`,
        ttlMs: this.s.videoUrlTtlMs,
        tag: r.id,
        at,
      }).url;
    }
  }

  progress(r: XaiRequest): number {
    const now = this.core.clock.now();
    if (now < r.readyAt) return 0;
    if (r.stuck || r.neverFinish) return Math.min(99, 1 + Math.floor((now - r.readyAt) / 1000));
    return Math.max(1, Math.min(99, Math.floor(((now - r.readyAt) / Math.max(1, r.runMs)) * 100)));
  }

  view(r: XaiRequest): Record<string, unknown> {
    switch (r.status) {
      case "pending":
        return { status: "pending", progress: this.progress(r) };
      case "expired":
        return { status: "expired" };
      case "failed":
        return { status: "failed", model: r.model, error: r.error };
      case "done":
        return {
          status: "done",
          model: r.model,
          video: {
            url: r.moderated ? "" : r.videoUrl,
            duration: r.duration,
            respect_moderation: !r.moderated,
          },
          usage: { cost_in_usd_ticks: Math.round((PRICE[r.resolution] ?? 0.05) * r.duration * 1e10) },
        };
    }
  }

  force(id: string, patch: XaiRequestPatch): XaiRequest {
    this.tick();
    const r = this.requests.get(id);
    if (!r) throw new ControlError(404, `no request ${id}`);
    if (patch.stuck !== undefined) r.stuck = patch.stuck;
    if (patch.moderate) r.moderated = true;
    const now = this.core.clock.now();
    if (patch.status && patch.status !== "pending") {
      if (r.status !== "pending") throw new ControlError(400, `request is already ${r.status}`);
      if (patch.status === "expired") {
        r.status = "expired";
        r.doneAt = now;
      } else if (patch.status === "failed")
        this.#finish(r, now, {
          code: patch.code ?? "internal_error",
          message: patch.message ?? "Generation failed.",
        });
      else {
        r.failWith = undefined;
        this.#finish(r, now);
      }
    }
    this.tick();
    return r;
  }
}

const MARKER_RE = /\[\[([a-z-]+)(?::([^\]]*))?\]\]/g;

function apiRoutes(core: DoubleCore<XaiSettings>, m: Machine, keys: string[]): Route[] {
  const gate = (ctx: RequestContext): Reply | undefined => {
    const auth = ctx.headers.authorization;
    const key = typeof auth === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
    if (!key)
      return xaiError(401, "Unauthenticated", "No API key provided. Send Authorization: Bearer <key>.");
    if (!keys.includes(key))
      return xaiError(
        core.settings.badKeyStatus,
        "Client specified an invalid argument",
        `Incorrect API key provided: ${key.slice(0, 4)}***${key.slice(-4)}. You can obtain an API key from https://console.x.ai.`,
      );
    m.tick();
    return undefined;
  };
  const bad = (message: string) => xaiError(400, "Client specified an invalid argument", message);

  return [
    {
      method: "POST",
      pattern: "/v1/videos/generations",
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        const b = ctx.body as Record<string, unknown> | undefined;
        if (ctx.jsonError || !b || typeof b !== "object" || Array.isArray(b))
          return bad("The request body must be a JSON object.");
        const model = b.model ?? "grok-imagine-video";
        if (typeof model !== "string" || !MODELS[model])
          return xaiError(
            404,
            "Some requested entity was not found",
            `The model ${String(model)} does not exist or your team does not have access to it.`,
          );
        if (typeof b.prompt !== "string" || b.prompt.trim() === "") return bad("prompt is required.");
        const duration = b.duration ?? 8;
        if (typeof duration !== "number" || !Number.isInteger(duration) || duration < 1 || duration > 15)
          return bad(
            `duration must be an integer between 1 and 15 seconds; got ${JSON.stringify(duration)}.`,
          );
        if (b.aspect_ratio !== undefined && !ASPECT_RATIOS.includes(String(b.aspect_ratio)))
          return bad(
            `aspect_ratio must be one of ${ASPECT_RATIOS.join(", ")}; got ${JSON.stringify(b.aspect_ratio)}.`,
          );
        const resolution = b.resolution ?? "720p";
        if (typeof resolution !== "string" || !MODELS[model]!.resolutions.includes(resolution))
          return bad(
            `resolution must be one of ${MODELS[model]!.resolutions.join(", ")} for ${model}; got ${JSON.stringify(resolution)}.`,
          );
        let image: string | undefined;
        if (b.image !== undefined) {
          const url = (b.image as { url?: unknown } | null)?.url;
          if (typeof url !== "string" || !/^(https?:\/\/|data:image\/[a-z0-9.+-]+;base64,)/i.test(url))
            return bad("image.url must be an http(s) URL or a base64 data:image URL.");
          image = url;
        }
        if (b.seed !== undefined && (typeof b.seed !== "number" || !Number.isInteger(b.seed) || b.seed < 0))
          return bad("seed must be a non-negative integer.");
        const now = core.clock.now();
        const jitter = (v: number) => Math.max(0, Math.round(core.rng.jitter(v, core.settings.jitter)));
        const r: XaiRequest = {
          id: core.rng.uuid(),
          model,
          prompt: b.prompt,
          duration,
          aspectRatio: b.aspect_ratio as string | undefined,
          resolution,
          image,
          seed: b.seed as number | undefined,
          status: "pending",
          createdAt: now,
          readyAt: now + jitter(core.settings.queueDelayMs),
          runMs: jitter(core.settings.runMsPer8s * (duration / 8)),
          stuck: false,
          neverFinish: false,
          moderated: false,
        };
        for (const mk of b.prompt.matchAll(MARKER_RE)) {
          const arg = mk[2];
          switch (mk[1]) {
            case "moderate":
              r.moderated = true;
              break;
            case "fail":
              r.failWith = {
                code: arg || "internal_error",
                message: `Video generation failed (${arg || "internal_error"}).`,
              };
              break;
            case "expire":
              r.neverFinish = true;
              break;
            case "stuck":
              r.stuck = true;
              break;
            case "queue":
              r.readyAt = now + Number(arg ?? 0) * 1000;
              break;
            case "run":
              r.runMs = Number(arg ?? 0) * 1000;
              break;
          }
        }
        m.requests.set(r.id, r);
        m.tick();
        return json(200, { request_id: r.id });
      },
    },
    {
      method: "GET",
      pattern: "/v1/videos/:id",
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        const r = m.requests.get(ctx.params.id ?? "");
        if (!r)
          return xaiError(
            404,
            "Some requested entity was not found",
            `No video request ${ctx.params.id ?? ""}.`,
          );
        return json(200, m.view(r));
      },
    },
    {
      method: "GET",
      pattern: "/v1/models",
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        return json(200, {
          object: "list",
          data: Object.keys(MODELS).map((id) => ({
            id,
            object: "model",
            created: 1759276800,
            owned_by: "xai",
          })),
        });
      },
    },
  ];
}
