import { ControlError, type Double, type DoubleCore, startDouble } from "../lib/double.ts";
import { json, type Reply, type RequestContext, type Route } from "../lib/http.ts";
import {
  type Generation,
  type Operation,
  type ValidateEnv,
  validateGeneration,
  validateOperation,
  XAI_MODELS,
  XaiRefusal,
} from "./validate.ts";

/**
 * xAI Grok Imagine video: a local double of `POST /v1/videos/generations`, `/edits`, `/extensions`
 * and `GET /v1/videos/{request_id}` (docs/providers.md §3 and §7.4), built on the shared doubles
 * library. The request checks per model are in `validate.ts`.
 *
 * - `pending` (with `progress` 0 while queued, rising while it renders) → `done` with
 *   `video {url, duration, respect_moderation: true}` and `usage.cost_in_usd_ticks`; or `failed`
 *   with `error {code, message}`; `expired` once a request outlives its TTL.
 * - 400 for a duration outside 1–15, an unsupported aspect ratio or resolution, `last_frame` or
 *   `keyframes` off the 1.5 models (≤ 4, strictly inside the clip, on a 1/3 s grid), an edit source
 *   over 8.7 s, an extension source outside 2–15 s or +2–10 s, edits/extensions off
 *   `grok-imagine-video`; 404 for an unknown model; a bad key answers 400 "Incorrect API key
 *   provided" as xAI does ([I]: `badKeyStatus` makes it 401).
 * - The served MP4 is always the library's 2 s sample; `video.duration` reports what xAI would: the
 *   asked duration, an edit's source length, or an extension's source + added seconds.
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
  /** 1.5-lite takes `last_frame` and `keyframes` ([I]: integrators say it refuses them; default false). */
  liteTakesFrames: boolean;
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
  liteTakesFrames: false,
};

export const DEFAULT_XAI_KEY = "xai-test-key-0000000000000000";

/** USD per second of output, by resolution (about $0.05/s at 480p). */
const PRICE: Record<string, number> = { "480p": 0.05, "720p": 0.07, "1080p": 0.1 };

export interface XaiRequest {
  id: string;
  /** Which endpoint made it: `generations`, `edits` or `extensions`. */
  kind: "generation" | "edit" | "extension";
  model: string;
  prompt: string;
  /** Seconds of output xAI reports: the asked duration, the edit's source, or source + added. */
  duration: number;
  aspectRatio?: string;
  resolution: string;
  image?: string;
  lastFrame?: string;
  keyframes?: Array<{ url: string; timestampS: number }>;
  referenceImages?: string[];
  generateAudio: boolean;
  user?: string;
  /** Edits and extensions: the source clip's URL and length; extensions: the seconds added. */
  video?: string;
  sourceSeconds?: number;
  addedSeconds?: number;
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
  const refuse = (err: unknown): Reply => {
    if (!(err instanceof XaiRefusal)) throw err;
    return xaiError(
      err.status,
      err.status === 404 ? "Some requested entity was not found" : "Client specified an invalid argument",
      err.message,
    );
  };
  const env = (ctx: RequestContext): ValidateEnv => ({
    liteTakesFrames: core.settings.liteTakesFrames,
    declared: (url) => core.declaredMedia(ctx, url),
  });
  /** The JSON object body, or an XaiRefusal. */
  const bodyOf = (ctx: RequestContext): Record<string, unknown> => {
    const b = ctx.body as Record<string, unknown> | undefined;
    if (ctx.jsonError || !b || typeof b !== "object" || Array.isArray(b))
      throw new XaiRefusal(400, "The request body must be a JSON object.");
    return b;
  };
  /** A new request in `pending`, its timing scaled by the output's length, markers applied. */
  const accept = (
    fields: Omit<
      XaiRequest,
      "id" | "status" | "createdAt" | "readyAt" | "runMs" | "stuck" | "neverFinish" | "moderated"
    >,
  ): Reply => {
    const now = core.clock.now();
    const jitter = (v: number) => Math.max(0, Math.round(core.rng.jitter(v, core.settings.jitter)));
    const r: XaiRequest = {
      ...fields,
      id: core.rng.uuid(),
      status: "pending",
      createdAt: now,
      readyAt: now + jitter(core.settings.queueDelayMs),
      runMs: jitter(core.settings.runMsPer8s * (fields.duration / 8)),
      stuck: false,
      neverFinish: false,
      moderated: false,
    };
    for (const mk of r.prompt.matchAll(MARKER_RE)) {
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
  };
  const fromGeneration = (g: Generation) => {
    const { kind: _kind, ...rest } = g;
    return { kind: "generation" as const, ...rest };
  };
  const fromOperation = (o: Operation) => ({
    kind: o.kind,
    model: o.model,
    prompt: o.prompt,
    video: o.video,
    sourceSeconds: o.sourceSeconds,
    addedSeconds: o.duration,
    // The output keeps the source's length (an edit) or adds to it (an extension), at most 720p.
    duration: Math.round((o.sourceSeconds + (o.duration ?? 0)) * 10) / 10,
    resolution: o.sourceHeight !== undefined && o.sourceHeight <= 480 ? "480p" : "720p",
    generateAudio: true,
  });

  return [
    {
      method: "POST",
      pattern: "/v1/videos/generations",
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        try {
          return accept(fromGeneration(validateGeneration(bodyOf(ctx), env(ctx))));
        } catch (err) {
          return refuse(err);
        }
      },
    },
    ...(["edits", "extensions"] as const).map(
      (endpoint): Route => ({
        method: "POST",
        pattern: `/v1/videos/${endpoint}`,
        handler: async (ctx) => {
          const stop = gate(ctx);
          if (stop) return stop;
          try {
            const kind = endpoint === "edits" ? "edit" : "extension";
            return accept(fromOperation(await validateOperation(kind, bodyOf(ctx), env(ctx))));
          } catch (err) {
            return refuse(err);
          }
        },
      }),
    ),
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
          data: Object.keys(XAI_MODELS).map((id) => ({
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
