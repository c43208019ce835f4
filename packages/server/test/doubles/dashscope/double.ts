import sharp from "sharp";
import { ControlError, type Double, type DoubleCore, startDouble } from "../lib/double.ts";
import { json, type Reply, type RequestContext, type Route } from "../lib/http.ts";
import { ratioSamples } from "../lib/media.ts";
import { type CreateParams, DsRequestError, imageProblem, RATIOS, validateCreate } from "./validate.ts";

/**
 * HappyHorse on Alibaba Cloud Model Studio (DashScope): a faithful local double of the async
 * video-synthesis API (docs/providers.md §2.1 and §7.2), built on the shared doubles library.
 *
 * - `POST /api/v1/services/aigc/video-generation/video-synthesis` (needs `X-DashScope-Async: enable`),
 *   `GET /api/v1/tasks/{id}`, `POST /api/v1/tasks/{id}/cancel`, `GET /api/v1/tasks`.
 * - Profiles `beijing`, `singapore`, `workspace`, each with its own keys; a key of another region
 *   answers 401 InvalidApiKey.
 * - `PENDING → RUNNING → SUCCEEDED | FAILED`, `PENDING → CANCELED`; unknown ids and ids older than
 *   24 h answer **HTTP 200** with `task_status: "UNKNOWN"`.
 * - Task queries are limited per account (default 20 per second, real time: the adapter's pace is
 *   real) → 429 `Throttling.RateQuota`; creates by an optional RPS and concurrent-task cap.
 * - http(s) media are downloaded when the task is picked up (a failure is an async FAILED
 *   `InvalidParameter`); data: URLs are decoded at submit.
 *
 * Prompt markers drive faults: `[[moderate]]` (400 DataInspectionFailed), `[[moderate:output]]`
 * (FAILED DataInspectionFailed), `[[fail:CODE]]`, `[[stuck]]` (RUNNING forever), `[[queue:s]]`,
 * `[[run:s]]` (simulated seconds), `[[bad-media]]`. The control API (`/__control/tasks/{id}`)
 * forces states; the library's `/__control/faults` injects HTTP faults (`error: "Arrearage"` etc.).
 */

export type DashScopeProfile = "beijing" | "singapore" | "workspace";
export type DsStatus = "PENDING" | "RUNNING" | "SUCCEEDED" | "FAILED" | "CANCELED";
const TERMINAL = new Set<DsStatus>(["SUCCEEDED", "FAILED", "CANCELED"]);

export interface DashScopeSettings {
  /** Simulated ms a task waits in PENDING (default 20 s). */
  queueDelayMs: number;
  /** Simulated run time of a 5 s clip, per resolution (scaled by duration/5). */
  runMsPer5s: { "720P": number; "1080P": number };
  runTimeScale: number;
  /** ± fraction of random spread on queue and run times. */
  jitter: number;
  /** Task queries (GET task, list, cancel) per second per account, in real time; null = unlimited. */
  queryQps: number | null;
  /** Creates per second per account, in real time → 429 Throttling; null = unlimited. */
  createRps: number | null;
  /** PENDING + RUNNING tasks per account → 429 Throttling.AllocationQuota; null = unlimited. */
  maxConcurrentTasks: number | null;
  /** Tasks RUNNING at once (others wait PENDING); null = unlimited. */
  maxRunning: number | null;
  /** Task ids are forgotten (UNKNOWN) this long after submit (default 24 h). */
  taskRetentionMs: number;
  /** Lifetime of video URLs (default 24 h). */
  videoUrlTtlMs: number;
  /** Every call answers 403 Arrearage. */
  arrearage: boolean;
  /** Whether base64 data: URLs are accepted for images (HappyHorse docs only name URLs: [I]). */
  dataUrls: "accept" | "reject";
  /** Download http(s) media when a task is picked up. */
  fetchMedia: boolean;
}

const HOUR = 3600_000;

export const DEFAULT_DASHSCOPE_SETTINGS: DashScopeSettings = {
  queueDelayMs: 20_000,
  runMsPer5s: { "720P": 60_000, "1080P": 90_000 },
  runTimeScale: 1,
  jitter: 0.1,
  queryQps: 20,
  createRps: null,
  maxConcurrentTasks: null,
  maxRunning: null,
  taskRetentionMs: 24 * HOUR,
  videoUrlTtlMs: 24 * HOUR,
  arrearage: false,
  dataUrls: "accept",
  fetchMedia: true,
};

export const DEFAULT_DS_KEYS: Record<DashScopeProfile, string> = {
  beijing: "sk-ds-beijing-test-key",
  singapore: "sk-ds-singapore-test-key",
  workspace: "sk-ds-workspace-test-key",
};

export interface DashScopeDoubleOptions extends Partial<DashScopeSettings> {
  profile?: DashScopeProfile;
  keys?: string[];
  /** Keys of the other regions (401 with a region hint); default the other profiles' default keys. */
  otherRegionKeys?: string[];
  /** Key → account name (the query budget is per account). Default: one account for all keys. */
  accounts?: Record<string, string>;
  /** The workspace this host belongs to (profile `workspace`); a different X-DashScope-WorkSpace is refused. */
  workspaceId?: string;
  port?: number;
  seed?: number;
  /** Simulated ms per real ms (default 600); 0 = manual clock. */
  clockScale?: number;
  clockStart?: number;
}

export interface DsTaskError {
  code: string;
  message: string;
}

export interface DsTask {
  id: string;
  account: string;
  params: CreateParams;
  status: DsStatus;
  submittedAt: number;
  scheduledAt?: number;
  endAt?: number;
  readyAt: number;
  runMs: number;
  stuck: boolean;
  failWith?: DsTaskError;
  error?: DsTaskError;
  /** False while http(s) media are being downloaded. */
  mediaReady: boolean;
  mediaProblem?: string;
  /** Resolved output ratio. */
  ratio: string;
  videoUrl?: string;
  forgotten: boolean;
}

export interface DsTaskPatch {
  status?: DsStatus;
  code?: string;
  message?: string;
  stuck?: boolean;
  /** Make the id unknown (as after 24 h). */
  forget?: boolean;
  /** Revoke the output URL after this many simulated ms (0 = now). */
  expireUrlsInMs?: number;
}

export interface DashScopeDouble extends Double<DashScopeSettings> {
  profile: DashScopeProfile;
  /** The host root an adapter is configured with (it appends /api/v1). */
  baseUrl: string;
  keys: string[];
  tasks: {
    get(id: string): DsTask | undefined;
    list(): DsTask[];
    force(id: string, patch: DsTaskPatch): DsTask;
  };
  tick(): void;
}

const CREATE = "/api/v1/services/aigc/video-generation/video-synthesis";

export async function startDashScopeDouble(options: DashScopeDoubleOptions = {}): Promise<DashScopeDouble> {
  const profile = options.profile ?? "beijing";
  const keys = options.keys ?? [DEFAULT_DS_KEYS[profile]];
  const otherKeys =
    options.otherRegionKeys ??
    Object.entries(DEFAULT_DS_KEYS).flatMap(([p, k]) => (p === profile ? [] : [k]));
  const {
    profile: _p,
    keys: _k,
    otherRegionKeys: _o,
    accounts,
    workspaceId,
    port,
    seed,
    clockScale,
    clockStart,
    ...rest
  } = options;
  const settings: DashScopeSettings = {
    ...structuredClone(DEFAULT_DASHSCOPE_SETTINGS),
    ...rest,
    runMsPer5s: { ...DEFAULT_DASHSCOPE_SETTINGS.runMsPer5s, ...(rest.runMsPer5s ?? {}) },
  };
  let machine: Machine | undefined;
  const shaped = await ratioSamples();
  const double = await startDouble<DashScopeSettings>({
    name: `dashscope-${profile}`,
    port,
    seed,
    clock: { scale: clockScale ?? 600, start: clockStart },
    settings,
    setup: (core) => {
      const m = new Machine(core, profile, shaped);
      machine = m;
      return {
        routes: apiRoutes(core, m, {
          profile,
          keys,
          otherKeys,
          accounts: accounts ?? {},
          workspaceId: workspaceId ?? (profile === "workspace" ? "ws-test" : undefined),
        }),
        controlRoutes: controlRoutes(m),
        requestId: () => core.rng.uuid(),
        errorReply: (code, message, ctx) => dsError(code, ctx.requestId, message),
        bodyTooLarge: (ctx) => dsError("InvalidParameter", ctx.requestId, "The request body is too large."),
        notFound: (ctx) => dsError("InvalidURL", ctx.requestId, `No API at ${ctx.method} ${ctx.path}.`),
        methodNotAllowed: (ctx) =>
          dsError("InvalidURL", ctx.requestId, `No API at ${ctx.method} ${ctx.path}.`),
        internalError: (ctx, err) =>
          dsError("InternalError", ctx.requestId, `Internal error: ${(err as Error).message}`),
        checkSettings: (patch) => {
          for (const k of ["queueDelayMs", "runTimeScale", "jitter", "taskRetentionMs", "videoUrlTtlMs"])
            if (k in patch && !(typeof patch[k] === "number" && (patch[k] as number) >= 0))
              throw new ControlError(400, `${k} must be a number >= 0`);
        },
        onSettings: () => m.tick(),
      };
    },
  });
  const m = machine as Machine;
  return Object.assign(double, {
    profile,
    baseUrl: double.url,
    keys,
    tasks: {
      get: (id: string) => m.tasks.get(id),
      list: () => [...m.tasks.values()],
      force: (id: string, patch: DsTaskPatch) => m.force(id, patch),
    },
    tick: () => m.tick(),
  });
}

const STATUS_OF_CODE: Record<string, number> = {
  InvalidApiKey: 401,
  Arrearage: 403,
  AccessDenied: 403,
  "Model.NotFound": 404,
  Throttling: 429,
  "Throttling.RateQuota": 429,
  "Throttling.AllocationQuota": 429,
  InternalError: 500,
  "InternalError.Timeout": 500,
  InvalidURL: 404,
};

const DEFAULT_MESSAGES: Record<string, string> = {
  InvalidApiKey: "Invalid API-key provided.",
  Arrearage: "Access denied, please make sure your account is in good standing.",
  Throttling: "Requests rate limit exceeded, please try again later.",
  "Throttling.RateQuota": "Requests rate limit exceeded, please try again later.",
  "Throttling.AllocationQuota": "Allocated quota exceeded, please increase your quota limit.",
  InternalError: "An internal error has occured, please try again later or contact service support.",
  DataInspectionFailed: "Input data may contain inappropriate content.",
};

/** DashScope's error envelope `{request_id, code, message}`, with the HTTP status its code carries. */
export function dsError(code: string, requestId: string, message?: string, status?: number): Reply {
  return json(status ?? STATUS_OF_CODE[code] ?? 400, {
    request_id: requestId,
    code,
    message: message ?? DEFAULT_MESSAGES[code] ?? `The request failed: ${code}.`,
  });
}

/** `YYYY-MM-DD HH:mm:ss.SSS` in Beijing/Singapore time (UTC+8), without a zone marker. */
function stamp(ms: number): string {
  return new Date(ms + 8 * HOUR).toISOString().replace("T", " ").replace("Z", "");
}

class Machine {
  tasks = new Map<string, DsTask>();
  #timer: { cancel(): void } | undefined;
  /** Real-time stamps of accepted calls per account, for the per-second limits. */
  #queries = new Map<string, number[]>();
  #creates = new Map<string, number[]>();

  constructor(
    readonly core: DoubleCore<DashScopeSettings>,
    readonly profile: DashScopeProfile,
    /** One sample clip per ratio: the output is in the task's ratio (i2v: the first frame's shape). */
    readonly shaped: Record<string, Buffer>,
  ) {}

  get s(): DashScopeSettings {
    return this.core.settings;
  }

  visible(t: DsTask): boolean {
    return !t.forgotten && this.core.clock.now() < t.submittedAt + this.s.taskRetentionMs;
  }

  /** A per-second window in real time: true when one more call is allowed (and counts it). */
  admit(kind: "query" | "create", account: string): boolean {
    const limit = kind === "query" ? this.s.queryQps : this.s.createRps;
    if (limit === null) return true;
    const map = kind === "query" ? this.#queries : this.#creates;
    const now = Date.now();
    const recent = (map.get(account) ?? []).filter((t) => t > now - 1000);
    if (recent.length >= limit) {
      map.set(account, recent);
      return false;
    }
    recent.push(now);
    map.set(account, recent);
    return true;
  }

  active(account: string): number {
    let n = 0;
    for (const t of this.tasks.values())
      if (t.account === account && this.visible(t) && (t.status === "PENDING" || t.status === "RUNNING")) n++;
    return n;
  }

  create(params: CreateParams, account: string): DsTask {
    const now = this.core.clock.now();
    const jitter = (v: number) => Math.max(0, Math.round(this.core.rng.jitter(v, this.s.jitter)));
    const mk = params.markers;
    const run = this.s.runMsPer5s[params.resolution] * (params.duration / 5) * this.s.runTimeScale;
    const first = params.media.find((m) => m.type === "first_frame")?.meta;
    const task: DsTask = {
      id: this.core.rng.uuid(),
      account,
      params,
      status: "PENDING",
      submittedAt: now,
      readyAt: now + (mk.queueSec !== undefined ? mk.queueSec * 1000 : jitter(this.s.queueDelayMs)),
      runMs: mk.runSec !== undefined ? mk.runSec * 1000 : jitter(run),
      stuck: mk.stuck ?? false,
      failWith: mk.fail ? { code: mk.fail, message: failMessage(mk.fail) } : undefined,
      mediaReady: true,
      ratio: params.ratio ?? ratioOf(first?.width, first?.height),
      forgotten: false,
    };
    if (mk.badMedia)
      task.mediaProblem = "Download the media resource timed out during the data inspection process.";
    const remote = params.media.filter((m) => /^https?:/i.test(m.url) && !m.meta);
    if (this.s.fetchMedia && remote.length > 0 && !task.mediaProblem) {
      task.mediaReady = false;
      void Promise.all(remote.map((m) => fetchMediaProblem(m.url, m.type, params))).then((problems) => {
        task.mediaProblem = problems.find((p) => p);
        if (!task.mediaProblem && params.task === "i2v" && !params.ratio) {
          const meta = remote[0]?.meta;
          if (meta) task.ratio = ratioOf(meta.width, meta.height);
        }
        task.mediaReady = true;
        this.tick();
      });
    }
    this.tasks.set(task.id, task);
    this.tick();
    return task;
  }

  tick(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const now = this.core.clock.now();
    for (;;) {
      const next = this.#next();
      if (!next || next.at > now) {
        if (next) this.#timer = this.core.clock.at(next.at, () => this.tick());
        return;
      }
      next.apply(next.at);
    }
  }

  #next(): { at: number; apply: (at: number) => void } | undefined {
    let best: { at: number; apply: (at: number) => void } | undefined;
    const consider = (at: number, apply: (at: number) => void) => {
      if (Number.isFinite(at) && (!best || at < best.at)) best = { at, apply };
    };
    let running = 0;
    for (const t of this.tasks.values()) if (t.status === "RUNNING") running++;
    const slots = this.s.maxRunning === null || running < this.s.maxRunning;
    for (const t of this.tasks.values()) {
      if (TERMINAL.has(t.status) || t.forgotten) continue;
      if (t.status === "PENDING" && slots && t.mediaReady) consider(t.readyAt, (at) => this.#start(t, at));
      if (t.status === "RUNNING" && !t.stuck && t.scheduledAt !== undefined)
        consider(t.scheduledAt + t.runMs, (at) => this.#finish(t, at));
    }
    return best;
  }

  #start(t: DsTask, at: number): void {
    t.scheduledAt = at;
    if (t.mediaProblem) {
      t.status = "FAILED";
      t.endAt = at;
      t.error = { code: "InvalidParameter", message: t.mediaProblem };
      return;
    }
    t.status = "RUNNING";
  }

  #finish(t: DsTask, at: number, forced?: DsTaskError): void {
    t.endAt = at;
    const failure = forced ?? t.failWith;
    if (failure) {
      t.status = "FAILED";
      t.error = failure;
      return;
    }
    t.status = "SUCCEEDED";
    const region = this.profile === "singapore" ? "ap-southeast-1" : "cn-beijing";
    const day = stamp(at).slice(0, 10).replace(/-/g, "");
    const file = this.core.files.publish({
      kind: "mp4",
      data: this.shaped[t.ratio],
      contentType: "video/mp4",
      style: "oss",
      bucket: `dashscope-result-${this.profile === "singapore" ? "sgp" : "bj"}`,
      key: `${day}/${t.id}.mp4`,
      region,
      ttlMs: this.s.videoUrlTtlMs,
      tag: t.id,
      at,
    });
    t.videoUrl = file.url;
  }

  cancel(t: DsTask): void {
    t.status = "CANCELED";
    t.endAt = this.core.clock.now();
    this.tick();
  }

  /** The public JSON of GET /api/v1/tasks/{id}. */
  view(t: DsTask, requestId: string): Record<string, unknown> {
    const output: Record<string, unknown> = {
      task_id: t.id,
      task_status: t.status,
      submit_time: stamp(t.submittedAt),
    };
    if (t.scheduledAt !== undefined) output.scheduled_time = stamp(t.scheduledAt);
    if (t.endAt !== undefined) output.end_time = stamp(t.endAt);
    if (t.params.origPrompt) output.orig_prompt = t.params.origPrompt;
    if (t.status === "SUCCEEDED") output.video_url = t.videoUrl;
    if (t.status === "FAILED" && t.error)
      Object.assign(output, { code: t.error.code, message: t.error.message });
    const out: Record<string, unknown> = { request_id: requestId, output };
    if (t.status === "SUCCEEDED") {
      const input = t.params.task === "edit" ? t.params.duration : 0;
      out.usage = {
        duration: t.params.duration + input,
        input_video_duration: input,
        output_video_duration: t.params.duration,
        video_count: 1,
        SR: t.params.resolution === "720P" ? 720 : 1080,
        ratio: t.ratio,
      };
    }
    return out;
  }

  force(id: string, patch: DsTaskPatch): DsTask {
    this.tick();
    const t = this.tasks.get(id);
    if (!t) throw new ControlError(404, `no task ${id}`);
    const now = this.core.clock.now();
    if (patch.stuck !== undefined) t.stuck = patch.stuck;
    if (patch.forget) t.forgotten = true;
    const error = patch.code
      ? { code: patch.code, message: patch.message ?? failMessage(patch.code) }
      : undefined;
    if (error && patch.status === undefined) t.failWith = error;
    switch (patch.status) {
      case undefined:
        break;
      case "PENDING":
        if (t.status !== "PENDING") throw new ControlError(400, "a task cannot go back to PENDING");
        break;
      case "RUNNING":
        if (t.status === "PENDING") {
          t.mediaReady = true;
          this.#start(t, now);
        } else if (t.status !== "RUNNING") throw new ControlError(400, `task is ${t.status}`);
        break;
      case "CANCELED":
        if (TERMINAL.has(t.status)) throw new ControlError(400, `task is already ${t.status}`);
        this.cancel(t);
        break;
      case "SUCCEEDED":
      case "FAILED":
        if (TERMINAL.has(t.status)) throw new ControlError(400, `task is already ${t.status}`);
        if (t.scheduledAt === undefined) t.scheduledAt = now;
        if (patch.status === "SUCCEEDED") t.failWith = undefined;
        this.#finish(
          t,
          now,
          patch.status === "FAILED"
            ? (error ?? { code: "InternalError", message: failMessage("InternalError") })
            : undefined,
        );
        break;
      default:
        throw new ControlError(400, `unknown status ${String(patch.status)}`);
    }
    if (patch.expireUrlsInMs !== undefined) {
      if (patch.expireUrlsInMs <= 0) this.core.files.expire({ tag: t.id });
      else this.core.clock.after(patch.expireUrlsInMs, () => this.core.files.expire({ tag: t.id }));
    }
    this.tick();
    return t;
  }
}

function failMessage(code: string): string {
  if (code === "DataInspectionFailed") return "Output data may contain inappropriate content.";
  if (code === "InvalidParameter") return "The media url could not be downloaded.";
  return DEFAULT_MESSAGES[code] ?? `The task failed: ${code}.`;
}

/** The nearest documented ratio for an image (i2v follows the image). */
function ratioOf(width: number | undefined, height: number | undefined): string {
  if (!width || !height) return "16:9";
  const aspect = width / height;
  let best = "16:9";
  let distance = Number.POSITIVE_INFINITY;
  for (const r of RATIOS) {
    const [w, h] = r.split(":").map(Number) as [number, number];
    const d = Math.abs(Math.log(aspect / (w / h)));
    if (d < distance) {
      distance = d;
      best = r;
    }
  }
  return best;
}

/** Download a media URL as DashScope would; a problem becomes the async failure's message. */
async function fetchMediaProblem(
  url: string,
  type: CreateParams["media"][number]["type"],
  params: CreateParams,
): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) return `Download the media resource failed: HTTP ${res.status} for ${type}.`;
    const bytes = Buffer.from(await res.arrayBuffer());
    if (type === "video") return undefined;
    const info = await sharp(bytes).metadata();
    const item = params.media.find((m) => m.url === url);
    if (item)
      item.meta = { width: info.width, height: info.height, format: info.format, bytes: bytes.length };
    const problem = imageProblem(type, params.task, {
      width: info.width,
      height: info.height,
      bytes: bytes.length,
    });
    return problem ? `The ${type} is not valid: ${problem}` : undefined;
  } catch (err) {
    return `Download the media resource timed out or failed: ${(err as Error).message}.`;
  }
}

interface ApiConfig {
  profile: DashScopeProfile;
  keys: string[];
  otherKeys: string[];
  accounts: Record<string, string>;
  workspaceId?: string;
}

function apiRoutes(core: DoubleCore<DashScopeSettings>, m: Machine, api: ApiConfig): Route[] {
  /** Auth, account and workspace checks; a Reply means "stop here", a string is the account. */
  const gate = (ctx: RequestContext): Reply | string => {
    const auth = ctx.headers.authorization;
    const key = typeof auth === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(auth)?.[1] : undefined;
    if (!key || !api.keys.includes(key))
      return dsError(
        "InvalidApiKey",
        ctx.requestId,
        key && api.otherKeys.includes(key)
          ? `Invalid API-key provided: this key belongs to another region than ${api.profile}.`
          : undefined,
      );
    if (core.settings.arrearage) return dsError("Arrearage", ctx.requestId);
    const ws = ctx.headers["x-dashscope-workspace"];
    if (api.workspaceId && typeof ws === "string" && ws !== api.workspaceId)
      return dsError("AccessDenied", ctx.requestId, `Workspace ${ws} does not belong to this host.`);
    m.tick();
    return api.accounts[key] ?? "main";
  };
  const query = (ctx: RequestContext): Reply | string => {
    const account = gate(ctx);
    if (typeof account !== "string") return account;
    if (!m.admit("query", account)) return dsError("Throttling.RateQuota", ctx.requestId);
    return account;
  };
  const find = (id: string, account: string): DsTask | undefined => {
    const t = m.tasks.get(id);
    return t && t.account === account && m.visible(t) ? t : undefined;
  };

  return [
    {
      method: "POST",
      pattern: CREATE,
      handler: async (ctx) => {
        const account = gate(ctx);
        if (typeof account !== "string") return account;
        if (ctx.headers["x-dashscope-async"] !== "enable")
          return dsError(
            "AccessDenied",
            ctx.requestId,
            "current user api does not support synchronous calls",
          );
        if (!m.admit("create", account)) return dsError("Throttling", ctx.requestId);
        if (ctx.jsonError)
          return dsError("InvalidParameter", ctx.requestId, "The request body is not valid JSON.");
        let params: CreateParams;
        try {
          params = await validateCreate(ctx.body, {
            dataUrls: core.settings.dataUrls,
            media: (url, index) => core.declaredMedia(ctx, url, index),
            rng: core.rng,
          });
        } catch (err) {
          if (err instanceof DsRequestError) return dsError(err.code, ctx.requestId, err.message, err.status);
          throw err;
        }
        if (params.markers.moderate) return dsError("DataInspectionFailed", ctx.requestId);
        const cap = core.settings.maxConcurrentTasks;
        if (cap !== null && m.active(account) >= cap)
          return dsError("Throttling.AllocationQuota", ctx.requestId);
        const task = m.create(params, account);
        return json(200, { output: { task_status: "PENDING", task_id: task.id }, request_id: ctx.requestId });
      },
    },
    {
      method: "GET",
      pattern: "/api/v1/tasks/:id",
      handler: (ctx) => {
        const account = query(ctx);
        if (typeof account !== "string") return account;
        const t = find(ctx.params.id ?? "", account);
        if (!t)
          return json(200, {
            request_id: ctx.requestId,
            output: { task_id: ctx.params.id ?? "", task_status: "UNKNOWN" },
          });
        return json(200, m.view(t, ctx.requestId));
      },
    },
    {
      method: "POST",
      pattern: "/api/v1/tasks/:id/cancel",
      handler: (ctx) => {
        const account = query(ctx);
        if (typeof account !== "string") return account;
        const t = find(ctx.params.id ?? "", account);
        if (!t)
          return dsError("InvalidParameter", ctx.requestId, `Task ${ctx.params.id ?? ""} does not exist.`);
        if (t.status !== "PENDING")
          return dsError(
            "UnsupportedOperation",
            ctx.requestId,
            `Failed to cancel the task, please confirm if the task is in PENDING status (it is ${t.status}).`,
          );
        m.cancel(t);
        return json(200, { request_id: ctx.requestId });
      },
    },
    {
      method: "GET",
      pattern: "/api/v1/tasks",
      handler: (ctx) => {
        const account = query(ctx);
        if (typeof account !== "string") return account;
        const q = ctx.query;
        const pageNo = Math.max(1, Number(q.get("page_no") ?? 1) || 1);
        const pageSize = Math.min(100, Math.max(1, Number(q.get("page_size") ?? 10) || 10));
        const status = q.get("status");
        const model = q.get("model_name");
        const items = [...m.tasks.values()]
          .filter(
            (t) =>
              t.account === account &&
              m.visible(t) &&
              (status === null || t.status === status) &&
              (model === null || t.params.model === model),
          )
          .sort((a, b) => b.submittedAt - a.submittedAt);
        const page = items.slice((pageNo - 1) * pageSize, pageNo * pageSize);
        return json(200, {
          request_id: ctx.requestId,
          data: page.map((t) => ({
            task_id: t.id,
            task_status: t.status,
            model_name: t.params.model,
            region: api.profile === "singapore" ? "ap-southeast-1" : "cn-beijing",
            submit_time: stamp(t.submittedAt),
            ...(t.endAt !== undefined ? { end_time: stamp(t.endAt) } : {}),
          })),
          total: items.length,
          total_page: Math.ceil(items.length / pageSize),
          page_no: pageNo,
          page_size: pageSize,
        });
      },
    },
  ];
}

function controlRoutes(m: Machine): Route[] {
  const internal = (t: DsTask) => ({ ...t });
  return [
    {
      method: "GET",
      pattern: "/__control/tasks",
      handler: () => {
        m.tick();
        return json(200, { items: [...m.tasks.values()].map(internal) });
      },
    },
    {
      method: "GET",
      pattern: "/__control/tasks/:id",
      handler: (ctx) => {
        m.tick();
        const t = m.tasks.get(ctx.params.id ?? "");
        return t ? json(200, internal(t)) : json(404, { error: "no such task" });
      },
    },
    {
      method: "POST",
      pattern: "/__control/tasks/:id",
      handler: (ctx) => json(200, internal(m.force(ctx.params.id ?? "", (ctx.body ?? {}) as DsTaskPatch))),
    },
  ];
}
