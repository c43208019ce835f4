import { isoBasic } from "../lib/clock.ts";
import { ControlError, type Double, type DoubleCore, startDouble } from "../lib/double.ts";
import { json, type Reply, type RequestContext, type Route } from "../lib/http.ts";
import { Rng } from "../lib/random.ts";
import { ArkRequestError, arkError, defaultMessage, invalid } from "./errors.ts";
import { findModel, otherRegionModel, type Profile, pixelSize } from "./models.ts";
import { type CreateParams, type DraftSource, validateCreate } from "./validate.ts";

/**
 * Seedance on Volcengine Ark (`cn`) / BytePlus ModelArk (`byteplus`): a faithful local double of
 * `/api/v3/contents/generations/tasks` (docs/providers.md §1 and §7.1). See test/doubles/README.md.
 */

export type ArkStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled" | "expired";
export const ARK_STATUSES: readonly ArkStatus[] = [
  "queued",
  "running",
  "succeeded",
  "failed",
  "cancelled",
  "expired",
];
const TERMINAL = new Set<ArkStatus>(["succeeded", "failed", "cancelled", "expired"]);

export interface ArkCallbackSettings {
  /** Extra attempts for terminal callbacks not acknowledged with a 2xx in time (default 3). */
  retries: number;
  /** Real ms the receiver has to answer (default 5000). */
  ackTimeoutMs: number;
  /** Real ms between attempts (default 200). */
  retryDelayMs: number;
  /** Extra copies of every terminal callback (default 0). */
  duplicates: number;
  /** Send `running` after the terminal callback (default false). */
  outOfOrder: boolean;
  /** Statuses whose callbacks are never sent ("*" = all). */
  drop: string[];
}

export interface ArkSettings {
  /** Simulated ms a task waits in `queued` (default 60 s: 100 real ms at the default scale). */
  queueDelayMs: number;
  /** Queue wait for `service_tier: "flex"` (default 2 h). */
  flexQueueDelayMs: number;
  /** Multiplier on the docs/providers.md §1.13 run times (default 1). */
  runTimeScale: number;
  /** ± fraction of random spread on queue and run times (default 0.1). */
  jitter: number;
  /** Tasks allowed in `running` at once (null = unlimited); the rest wait in `queued`. */
  maxRunning: number | null;
  /** More than this many queued tasks → 429 QuotaExceeded (default 120). */
  queueCap: number;
  /** Create requests per simulated minute per model (null = unlimited) → 429 …RpmRateLimitExceeded. */
  rpm: number | null;
  /** At most `max` creates within `windowMs` simulated ms → 429 RequestBurstTooFast. */
  burst: { max: number; windowMs: number } | null;
  /** Once succeeded tasks used this many tokens → 429 SetLimitExceeded (null = no cap). */
  spendLimitTokens: number | null;
  /** Every API call → 403 AccountOverdueError. */
  accountOverdue: boolean;
  /** Inline `--rs 720p` style commands on 2.x models: refuse with 400 or ignore them. */
  legacyCommandsOn2x: "reject" | "ignore";
  /** Lifetime of video/last-frame URLs (default 24 h). */
  videoUrlTtlMs: number;
  /** Cancelled tasks vanish this long after cancellation (default 24 h). */
  cancelledRetentionMs: number;
  /** Every task vanishes this long after creation (default 7 d). */
  taskRetentionMs: number;
  /** Model ids that answer 404 ModelNotOpen. */
  notOpenModels: string[];
  /** Endpoint ids (`ep-…`) and the model id each serves. */
  endpoints: Record<string, string>;
  /**
   * 2.0, 2.0 fast and mini take `omni_reference_task_type` (default true); false: only 2.5 does
   * ([I]: integrators disagree, docs/providers.md §1.3).
   */
  omniTaskTypeOn20: boolean;
  callbacks: ArkCallbackSettings;
}

export interface ArkDoubleOptions extends Partial<Omit<ArkSettings, "callbacks">> {
  profile?: Profile;
  /** Valid API keys for this profile (default `ark-cn-test-key` / `ark-byteplus-test-key`). */
  keys?: string[];
  /** Keys that belong to the other region (401 with a region hint); default: the other profile's default key. */
  otherRegionKeys?: string[];
  port?: number;
  seed?: number;
  /** Simulated ms per real ms (default 600); 0 = manual clock. */
  clockScale?: number;
  /** Simulated start time (epoch ms). */
  clockStart?: number;
  callbacks?: Partial<ArkCallbackSettings>;
  maxBodyBytes?: number;
}

export const DEFAULT_KEYS: Record<Profile, string> = {
  cn: "ark-cn-test-key",
  byteplus: "ark-byteplus-test-key",
};

const HOUR = 3600_000;

export const DEFAULT_ARK_SETTINGS: ArkSettings = {
  queueDelayMs: 60_000,
  flexQueueDelayMs: 2 * HOUR,
  runTimeScale: 1,
  jitter: 0.1,
  maxRunning: null,
  queueCap: 120,
  rpm: null,
  burst: null,
  spendLimitTokens: null,
  accountOverdue: false,
  legacyCommandsOn2x: "reject",
  videoUrlTtlMs: 24 * HOUR,
  cancelledRetentionMs: 24 * HOUR,
  taskRetentionMs: 7 * 24 * HOUR,
  notOpenModels: [],
  endpoints: {},
  omniTaskTypeOn20: true,
  callbacks: {
    retries: 3,
    ackTimeoutMs: 5000,
    retryDelayMs: 200,
    duplicates: 0,
    outOfOrder: false,
    drop: [],
  },
};

export interface ArkTaskError {
  code: string;
  message: string;
}

/** The double's internal view of a task (what `GET /__control/tasks/{id}` shows). */
export interface ArkTask {
  id: string;
  params: CreateParams;
  status: ArkStatus;
  createdAt: number;
  updatedAt: number;
  /** When it may leave `queued` (simulated epoch ms). */
  readyAt: number;
  /** Planned run time (simulated ms). */
  runMs: number;
  startedAt?: number;
  finishAt?: number;
  /** created_at + execution_expires_after. */
  expiresAt: number;
  error: ArkTaskError | null;
  /** Stays `running` forever (ignores execution_expires_after too). */
  stuck: boolean;
  /** Never finishes; expires (from `running`, or from `queued` when "queued"). */
  expireFrom?: "running" | "queued";
  failWith?: ArkTaskError;
  cancelledAt?: number;
  deleted: boolean;
  content?: { video_url: string; last_frame_url?: string };
  tokens?: number;
  /** GET reports this status for `polls` more polls. */
  fakeStatus?: { status: string; polls: number };
}

/** Force a task's state (`POST /__control/tasks/{id}`). */
export interface ArkTaskPatch {
  status?: ArkStatus;
  error?: ArkTaskError;
  stuck?: boolean;
  fakeStatus?: { status: string; polls?: number };
  /** Revoke the task's output URLs after this many simulated ms from now (0 = now). */
  expireUrlsInMs?: number;
}

export interface ArkDouble extends Double<ArkSettings> {
  profile: Profile;
  /** `${url}/api/v3`: the base URL an adapter is configured with. */
  baseUrl: string;
  keys: string[];
  tasks: {
    get(id: string): ArkTask | undefined;
    list(): ArkTask[];
    /** Force a state change (fires callbacks like a real transition). */
    force(id: string, patch: ArkTaskPatch): ArkTask;
    /** The body `GET /tasks/{id}` would return now (without consuming fake-status polls). */
    view(id: string): Record<string, unknown> | undefined;
  };
  /** Run due state transitions now (done automatically on every request and by timers). */
  tick(): void;
}

const BASE = "/api/v3/contents/generations/tasks";

export async function startArkDouble(options: ArkDoubleOptions = {}): Promise<ArkDouble> {
  const profile: Profile = options.profile ?? "cn";
  const keys = options.keys ?? [DEFAULT_KEYS[profile]];
  const otherKeys = options.otherRegionKeys ?? [DEFAULT_KEYS[profile === "cn" ? "byteplus" : "cn"]];
  const {
    profile: _p,
    keys: _k,
    otherRegionKeys: _o,
    port,
    seed,
    clockScale,
    clockStart,
    callbacks: cbOptions,
    maxBodyBytes,
    ...rest
  } = options;
  const settings: ArkSettings = {
    ...structuredClone(DEFAULT_ARK_SETTINGS),
    ...rest,
    callbacks: { ...DEFAULT_ARK_SETTINGS.callbacks, ...(cbOptions ?? {}) },
  };
  const ridRng = new Rng((seed ?? 1) ^ 0x2e9);
  let machine: Machine | undefined;

  const double = await startDouble<ArkSettings>({
    name: `ark-${profile}`,
    port,
    seed,
    clock: { scale: clockScale ?? 600, start: clockStart },
    settings: { ...settings, ...(maxBodyBytes !== undefined ? { maxBodyBytes } : {}) },
    setup: (core) => {
      const m = new Machine(core, profile);
      machine = m;
      return {
        routes: apiRoutes(core, m, profile, keys, otherKeys),
        controlRoutes: controlRoutes(m),
        requestId: () => `02${core.clock.now()}${ridRng.hex(24)}`,
        responseHeaders: (ctx) => ({ "x-request-id": ctx.requestId }),
        errorReply: (code, message, ctx) => arkError(code, ctx.requestId, { message }),
        bodyTooLarge: (ctx) =>
          arkError("InvalidParameter", ctx.requestId, {
            message: `The request body is too large (${ctx.bodyBytes} bytes); the limit is ${core.settings.maxBodyBytes} bytes.`,
          }),
        notFound: (ctx) =>
          arkError("ResourceNotFound", ctx.requestId, { message: `No API at ${ctx.method} ${ctx.path}.` }),
        methodNotAllowed: (ctx) =>
          arkError("ResourceNotFound", ctx.requestId, { message: `No API at ${ctx.method} ${ctx.path}.` }),
        internalError: (ctx, err) =>
          arkError("InternalServiceError", ctx.requestId, {
            message: `Internal error: ${(err as Error).message}.`,
          }),
        checkSettings: (patch) => checkArkSettings(patch),
        onSettings: () => m.tick(),
      };
    },
  });
  const m = machine as Machine;
  return Object.assign(double, {
    profile,
    baseUrl: `${double.url}/api/v3`,
    keys,
    tasks: {
      get: (id: string) => m.tasks.get(id),
      list: () => [...m.tasks.values()],
      force: (id: string, patch: ArkTaskPatch) => m.force(id, patch),
      view: (id: string) => {
        m.tick();
        const t = m.tasks.get(id);
        return t && m.visible(t) ? m.view(t) : undefined;
      },
    },
    tick: () => m.tick(),
  });
}

function checkArkSettings(patch: Record<string, unknown>): void {
  const numbers = ["queueDelayMs", "flexQueueDelayMs", "runTimeScale", "jitter", "queueCap", "videoUrlTtlMs"];
  for (const k of numbers)
    if (k in patch && !(typeof patch[k] === "number" && (patch[k] as number) >= 0))
      throw invalidSetting(`${k} must be a number >= 0`);
  if ("legacyCommandsOn2x" in patch && !["reject", "ignore"].includes(String(patch.legacyCommandsOn2x)))
    throw invalidSetting("legacyCommandsOn2x must be reject or ignore");
}

function invalidSetting(message: string): Error {
  return new ControlError(400, message);
}

/** The task store and its state machine, driven by the simulated clock. */
class Machine {
  tasks = new Map<string, ArkTask>();
  #timer: { cancel(): void } | undefined;
  #lastEvent = 0;
  #createTimes: Array<{ at: number; model: string }> = [];
  readonly #rng: Rng;

  constructor(
    readonly core: DoubleCore<ArkSettings>,
    readonly profile: Profile,
  ) {
    this.#rng = core.rng;
  }

  get s(): ArkSettings {
    return this.core.settings;
  }

  newId(): string {
    for (;;) {
      const stamp = isoBasic(this.core.clock.now()).replace("T", "").replace("Z", "");
      const id = `cgt-${stamp}-${this.#rng.string(5)}`;
      if (!this.tasks.has(id)) return id;
    }
  }

  visible(t: ArkTask): boolean {
    const now = this.core.clock.now();
    if (t.deleted) return false;
    if (now >= t.createdAt + this.s.taskRetentionMs) return false;
    if (
      t.status === "cancelled" &&
      t.cancelledAt !== undefined &&
      now >= t.cancelledAt + this.s.cancelledRetentionMs
    )
      return false;
    return true;
  }

  queuedCount(): number {
    let n = 0;
    for (const t of this.tasks.values()) if (t.status === "queued" && this.visible(t)) n++;
    return n;
  }

  /** Rate limits and caps checked before a create is accepted; returns the error code or undefined. */
  admit(modelField: string, viaEndpoint: boolean): string | undefined {
    const now = this.core.clock.now();
    this.#createTimes = this.#createTimes.filter(
      (c) => c.at > now - Math.max(60_000, this.s.burst?.windowMs ?? 0),
    );
    if (this.s.burst) {
      const { max, windowMs } = this.s.burst;
      if (this.#createTimes.filter((c) => c.at > now - windowMs).length >= max) return "RequestBurstTooFast";
    }
    if (this.s.rpm !== null) {
      const recent = this.#createTimes.filter((c) => c.at > now - 60_000 && c.model === modelField).length;
      if (recent >= this.s.rpm)
        return viaEndpoint ? "RateLimitExceeded.EndpointRPMExceeded" : "ModelAccountRpmRateLimitExceeded";
    }
    this.#createTimes.push({ at: now, model: modelField });
    return undefined;
  }

  spent(): number {
    let n = 0;
    for (const t of this.tasks.values()) n += t.tokens ?? 0;
    return n;
  }

  create(params: CreateParams): ArkTask {
    const now = this.core.clock.now();
    const s = this.s;
    const mk = params.markers;
    const jitter = (v: number) => Math.max(0, Math.round(this.#rng.jitter(v, s.jitter)));
    const queueMs =
      mk.queueSec !== undefined
        ? mk.queueSec * 1000
        : jitter(params.serviceTier === "flex" ? s.flexQueueDelayMs : s.queueDelayMs);
    const table = params.spec.runSecondsPer10s[params.resolution] ?? 120;
    const seconds = (params.frames - 1) / 24;
    const runMs =
      mk.runSec !== undefined
        ? mk.runSec * 1000
        : jitter(table * 1000 * (seconds / 10) * s.runTimeScale * (params.draft ? 0.4 : 1));
    const task: ArkTask = {
      id: this.newId(),
      params,
      status: "queued",
      createdAt: now,
      updatedAt: now,
      readyAt: mk.expire === "queued" ? Number.POSITIVE_INFINITY : now + queueMs,
      runMs,
      expiresAt: now + params.executionExpiresAfter * 1000,
      error: null,
      stuck: mk.stuck ?? false,
      expireFrom: mk.expire,
      failWith: mk.fail ? { code: mk.fail, message: defaultMessage(mk.fail) } : undefined,
      deleted: false,
      fakeStatus: mk.fakeStatus ? { ...mk.fakeStatus } : undefined,
    };
    this.tasks.set(task.id, task);
    this.#emit(task);
    this.tick();
    return task;
  }

  /** Apply every transition that is due, in time order, then arm a timer for the next one. */
  tick(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const now = this.core.clock.now();
    for (;;) {
      const next = this.#nextEvent();
      if (!next || next.at > now) {
        if (next) this.#timer = this.core.clock.at(next.at, () => this.tick());
        return;
      }
      this.#lastEvent = Math.max(this.#lastEvent, next.at);
      next.apply(Math.max(next.at, this.#lastEvent));
    }
  }

  #nextEvent(): { at: number; apply: (at: number) => void } | undefined {
    let best: { at: number; order: number; apply: (at: number) => void } | undefined;
    const consider = (at: number, order: number, apply: (at: number) => void) => {
      if (!Number.isFinite(at)) return;
      if (!best || at < best.at || (at === best.at && order < best.order)) best = { at, order, apply };
    };
    let running = 0;
    for (const t of this.tasks.values()) if (t.status === "running") running++;
    const slots = this.s.maxRunning === null || running < this.s.maxRunning;
    let order = 0;
    for (const t of this.tasks.values()) {
      order++;
      if (t.deleted || TERMINAL.has(t.status)) continue;
      if (!t.stuck) consider(t.expiresAt, order, (at) => this.#finish(t, "expired", at));
      if (t.status === "queued" && slots)
        consider(Math.max(t.readyAt, this.#lastEvent), order, (at) => this.#start(t, at));
      if (t.status === "running" && !t.stuck && !t.expireFrom && t.finishAt !== undefined)
        consider(t.finishAt, order, (at) => this.#finish(t, t.failWith ? "failed" : "succeeded", at));
    }
    return best;
  }

  #start(t: ArkTask, at: number): void {
    t.status = "running";
    t.startedAt = at;
    t.updatedAt = at;
    t.finishAt = at + t.runMs;
    this.#emit(t);
  }

  #finish(t: ArkTask, status: "succeeded" | "failed" | "expired", at: number, error?: ArkTaskError): void {
    t.status = status;
    t.updatedAt = at;
    if (status === "succeeded") {
      t.error = null;
      this.#publish(t);
    } else if (status === "failed") {
      t.error = error ??
        t.failWith ?? { code: "InternalServiceError", message: defaultMessage("InternalServiceError") };
    } else {
      t.error = {
        code: "TaskExpired",
        message: `The task did not finish within execution_expires_after (${t.params.executionExpiresAfter} s).`,
      };
    }
    this.#emit(t);
  }

  #publish(t: ArkTask): void {
    const p = t.params;
    const bucket =
      this.profile === "cn" ? "ark-content-generation-cn-beijing" : "ark-content-generation-ap-southeast-1";
    const region = this.profile === "cn" ? "cn-beijing" : "ap-southeast-1";
    const revokeAfterMs = p.markers.urlTtlSec !== undefined ? p.markers.urlTtlSec * 1000 : undefined;
    const common = {
      style: "tos" as const,
      bucket,
      region,
      ttlMs: this.s.videoUrlTtlMs,
      revokeAfterMs,
      tag: t.id,
      at: t.updatedAt,
    };
    const video = this.core.files.publish({ ...common, kind: "mp4", key: `${t.id}/video.mp4` });
    const frame = p.returnLastFrame
      ? this.core.files.publish({ ...common, kind: "png", key: `${t.id}/last_frame.png` })
      : undefined;
    t.content = { video_url: video.url, ...(frame ? { last_frame_url: frame.url } : {}) };
    const [w, h] = pixelSize(p.spec, p.resolution, p.ratio);
    t.tokens = Math.floor((w * h * p.frames) / 1024);
  }

  /** The public JSON of a task (GET, list items and callbacks). */
  view(t: ArkTask, status: string = t.status): Record<string, unknown> {
    const p = t.params;
    const out: Record<string, unknown> = {
      id: t.id,
      model: p.modelField,
      status,
      error: t.error,
    };
    if (t.status === "succeeded" && t.content) {
      out.content = { ...t.content };
      out.usage = {
        completion_tokens: t.tokens,
        total_tokens: t.tokens,
        ...(p.tools ? { tool_usage: { web_search: p.tools.length > 0 ? 1 : 0 } } : {}),
      };
    }
    Object.assign(out, {
      created_at: Math.floor(t.createdAt / 1000),
      updated_at: Math.floor(t.updatedAt / 1000),
      seed: p.seed,
      resolution: p.resolution,
      ratio: p.ratio,
      duration: p.duration,
      frames: p.frames,
      framespersecond: 24,
      generate_audio: p.generateAudio,
      draft: p.draft,
      ...(p.draftTaskId ? { draft_task_id: p.draftTaskId } : {}),
      service_tier: p.serviceTier,
      execution_expires_after: p.executionExpiresAfter,
      ...(p.priority !== undefined ? { priority: p.priority } : {}),
      ...(p.safetyIdentifier !== undefined ? { safety_identifier: p.safetyIdentifier } : {}),
      ...(p.spec.generation === 2 && p.prompt ? { revised_prompt: p.prompt } : {}),
      ...(p.tools ? { tools: p.tools } : {}),
    });
    return out;
  }

  #emit(t: ArkTask): void {
    const url = t.params.callbackUrl;
    if (!url || t.status === "cancelled") return;
    const cb = this.s.callbacks;
    const mk = t.params.markers;
    const terminal = TERMINAL.has(t.status);
    const drop = mk.cbDrop ?? cb.drop;
    void this.core.callbacks.deliver({
      url,
      body: this.view(t),
      key: t.id,
      event: t.status,
      terminal,
      retries: terminal ? cb.retries : 0,
      ackTimeoutMs: cb.ackTimeoutMs,
      retryDelayMs: cb.retryDelayMs,
      duplicates: terminal ? (mk.cbDuplicates ?? cb.duplicates) : 0,
      drop: drop.includes("*") || drop.includes(t.status),
      hold: t.status === "running" && (mk.cbOutOfOrder ?? cb.outOfOrder),
    });
  }

  cancel(t: ArkTask): void {
    const now = this.core.clock.now();
    t.status = "cancelled";
    t.cancelledAt = now;
    t.updatedAt = now;
    this.core.callbacks.discardHeld(t.id);
    this.tick();
  }

  force(id: string, patch: ArkTaskPatch): ArkTask {
    this.tick();
    const t = this.tasks.get(id);
    if (!t || !this.visible(t)) throw Object.assign(new Error(`no task ${id}`), { status: 404 });
    const now = this.core.clock.now();
    if (patch.stuck !== undefined) t.stuck = patch.stuck;
    if (patch.fakeStatus)
      t.fakeStatus = { status: patch.fakeStatus.status, polls: patch.fakeStatus.polls ?? 3 };
    if (patch.error && patch.status === undefined) t.failWith = patch.error;
    switch (patch.status) {
      case undefined:
        break;
      case "queued":
        if (t.status !== "queued")
          throw Object.assign(new Error("a task cannot go back to queued"), { status: 400 });
        break;
      case "running":
        if (t.status === "queued") this.#start(t, now);
        else if (t.status !== "running")
          throw Object.assign(new Error(`task is ${t.status}, it cannot run`), { status: 400 });
        break;
      case "cancelled":
        this.cancel(t);
        break;
      case "succeeded":
      case "failed":
      case "expired":
        if (TERMINAL.has(t.status))
          throw Object.assign(new Error(`task is already ${t.status}`), { status: 400 });
        if (patch.status === "failed") t.failWith = patch.error ?? t.failWith;
        this.#finish(t, patch.status, now, patch.error);
        break;
      default:
        throw Object.assign(new Error(`unknown status ${String(patch.status)}`), { status: 400 });
    }
    if (patch.expireUrlsInMs !== undefined) {
      if (patch.expireUrlsInMs <= 0) this.core.files.expire({ tag: t.id });
      else this.core.clock.after(patch.expireUrlsInMs, () => this.core.files.expire({ tag: t.id }));
    }
    this.tick();
    return t;
  }
}

function apiRoutes(
  core: DoubleCore<ArkSettings>,
  m: Machine,
  profile: Profile,
  keys: string[],
  otherKeys: string[],
): Route[] {
  /** Auth and account checks shared by every API call; a Reply means "stop here". */
  const gate = (ctx: RequestContext): Reply | undefined => {
    const auth = ctx.headers.authorization;
    const match = typeof auth === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
    const key = match?.[1];
    if (!key)
      return arkError("AuthenticationError", ctx.requestId, {
        message: "The API key is missing in the Authorization header (Bearer <ARK_API_KEY>).",
      });
    if (!keys.includes(key))
      return arkError("AuthenticationError", ctx.requestId, {
        message: otherKeys.includes(key)
          ? `The API key is not valid in this region (${profile === "cn" ? "cn-beijing" : "ap-southeast"}).`
          : "The API key in the request is invalid.",
      });
    if (core.settings.accountOverdue) return arkError("AccountOverdueError", ctx.requestId);
    m.tick();
    return undefined;
  };
  const fail = (ctx: RequestContext, err: unknown): Reply => {
    if (err instanceof ArkRequestError)
      return arkError(err.code, ctx.requestId, { message: err.message, param: err.param });
    throw err;
  };

  return [
    {
      method: "POST",
      pattern: BASE,
      handler: async (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        if (ctx.jsonError || !ctx.body || typeof ctx.body !== "object" || Array.isArray(ctx.body))
          return arkError("InvalidParameter", ctx.requestId, {
            message: "The request body must be a JSON object.",
          });
        const body = ctx.body as Record<string, unknown>;
        if (body.model === undefined)
          return arkError("MissingParameter", ctx.requestId, {
            message: "The request failed because it is missing `model`.",
            param: "model",
          });
        if (typeof body.model !== "string")
          return arkError("InvalidParameter", ctx.requestId, {
            message: "`model` must be a string.",
            param: "model",
          });
        const modelField = body.model;
        const viaEndpoint = modelField.startsWith("ep-");
        const modelId = viaEndpoint ? core.settings.endpoints[modelField] : modelField;
        const spec = modelId === undefined ? undefined : findModel(profile, modelId);
        if (!spec || modelId === undefined)
          return arkError("InvalidEndpointOrModel.NotFound", ctx.requestId, {
            message: `The model or endpoint ${modelField} does not exist or you do not have access to it${
              otherRegionModel(profile, modelField) ? " (it is a model id of the other region)" : ""
            }.`,
            param: "model",
          });
        if (core.settings.notOpenModels.includes(modelId))
          return arkError("ModelNotOpen", ctx.requestId, {
            message: `Your account has not activated the model ${modelId}. Please activate it in the console.`,
            param: "model",
          });
        const limited = m.admit(modelField, viaEndpoint);
        if (limited) return arkError(limited, ctx.requestId);
        let params: CreateParams;
        try {
          params = await validateCreate(body, modelField, spec, modelId, {
            profile,
            rng: core.rng,
            legacyCommandsOn2x: core.settings.legacyCommandsOn2x,
            omniTaskTypeOn20: core.settings.omniTaskTypeOn20,
            media: (url, index) => core.declaredMedia(ctx, url, index),
            draft: (id): DraftSource | undefined => {
              const t = m.tasks.get(id);
              if (!t || !m.visible(t)) return undefined;
              return { id, isDraft: t.params.draft, succeeded: t.status === "succeeded", params: t.params };
            },
          });
        } catch (err) {
          return fail(ctx, err);
        }
        const moderation = params.markers.moderate;
        if (moderation) {
          const code =
            moderation === "image"
              ? "InputImageSensitiveContentDetected.PrivacyInformation"
              : moderation === "video"
                ? "InputVideoSensitiveContentDetected.PrivacyInformation"
                : moderation === "text"
                  ? "InputTextSensitiveContentDetected"
                  : moderation;
          return arkError(code, ctx.requestId);
        }
        if (m.queuedCount() >= core.settings.queueCap)
          return arkError("QuotaExceeded", ctx.requestId, {
            message: `Too many queued tasks: your account already has ${m.queuedCount()} queued tasks (limit ${core.settings.queueCap}).`,
          });
        const cap = core.settings.spendLimitTokens;
        if (cap !== null && m.spent() >= cap) return arkError("SetLimitExceeded", ctx.requestId);
        const task = m.create(params);
        return json(200, {
          id: task.id,
          ...(params.safetyIdentifier ? { safety_identifier: params.safetyIdentifier } : {}),
        });
      },
    },
    {
      method: "GET",
      pattern: BASE,
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        try {
          return list(ctx, m);
        } catch (err) {
          return fail(ctx, err);
        }
      },
    },
    {
      method: "GET",
      pattern: `${BASE}/:id`,
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        const t = m.tasks.get(ctx.params.id ?? "");
        if (!t || !m.visible(t)) return notFound(ctx);
        let status: string = t.status;
        if (t.fakeStatus && t.fakeStatus.polls > 0) {
          status = t.fakeStatus.status;
          t.fakeStatus.polls--;
        }
        return json(200, m.view(t, status));
      },
    },
    {
      method: "DELETE",
      pattern: `${BASE}/:id`,
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        const t = m.tasks.get(ctx.params.id ?? "");
        if (!t || !m.visible(t)) return notFound(ctx);
        if (t.status === "queued") m.cancel(t);
        else if (t.status === "running")
          return arkError("InvalidParameter", ctx.requestId, {
            message: `The task ${t.id} is running and cannot be cancelled; only queued tasks can be cancelled.`,
            param: "id",
          });
        else {
          t.deleted = true;
          core.callbacks.discardHeld(t.id);
        }
        return json(200, {});
      },
    },
  ];
}

function notFound(ctx: RequestContext): Reply {
  return arkError("ResourceNotFound", ctx.requestId, {
    message: `The specified task ${ctx.params.id ?? ""} is not found.`,
    param: "id",
  });
}

function list(ctx: RequestContext, m: Machine): Reply {
  const q = ctx.query;
  const page = (name: string): number => {
    const raw = q.get(name);
    if (raw === null) return name === "page_num" ? 1 : 10;
    const n = Number(raw);
    if (!/^\d+$/.test(raw) || n < 1 || n > 500) throw invalid(name, "must be an integer in [1, 500]");
    return n;
  };
  const pageNum = page("page_num");
  const pageSize = page("page_size");
  const status = q.get("filter.status");
  if (status !== null && !ARK_STATUSES.includes(status as ArkStatus))
    throw invalid("filter.status", `must be one of ${ARK_STATUSES.join(", ")}`);
  const ids = q.getAll("filter.task_ids");
  const model = q.get("filter.model");
  const tier = q.get("filter.service_tier");
  if (tier !== null && tier !== "default" && tier !== "flex")
    throw invalid("filter.service_tier", "must be default or flex");
  const now = m.core.clock.now();
  const items = [...m.tasks.values()]
    .filter(
      (t) =>
        m.visible(t) &&
        t.createdAt >= now - 7 * 24 * HOUR &&
        (status === null || t.status === status) &&
        (ids.length === 0 || ids.includes(t.id)) &&
        (model === null || t.params.modelField === model) &&
        (tier === null || t.params.serviceTier === tier),
    )
    .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
  const slice = items.slice((pageNum - 1) * pageSize, pageNum * pageSize);
  return json(200, { total: items.length, items: slice.map((t) => m.view(t)) });
}

function controlRoutes(m: Machine): Route[] {
  const attempt = (fn: () => Reply): Reply => {
    try {
      return fn();
    } catch (err) {
      const status = (err as { status?: number }).status ?? 500;
      return json(status, { error: (err as Error).message });
    }
  };
  return [
    {
      method: "GET",
      pattern: "/__control/tasks",
      handler: () => {
        m.tick();
        return json(200, { items: [...m.tasks.values()].map(internalView) });
      },
    },
    {
      method: "GET",
      pattern: "/__control/tasks/:id",
      handler: (ctx) => {
        m.tick();
        const t = m.tasks.get(ctx.params.id ?? "");
        return t ? json(200, internalView(t)) : json(404, { error: "no such task" });
      },
    },
    {
      method: "POST",
      pattern: "/__control/tasks/:id",
      handler: (ctx) =>
        attempt(() =>
          json(200, internalView(m.force(ctx.params.id ?? "", (ctx.body ?? {}) as ArkTaskPatch))),
        ),
    },
  ];
}

function internalView(t: ArkTask): Record<string, unknown> {
  const { params, ...rest } = t;
  const { spec, ...p } = params;
  return { ...rest, params: { ...p, family: spec.family } };
}
