import { ControlError, type Double, type DoubleCore, startDouble } from "../lib/double.ts";
import { json, type Reply, type RequestContext, type Route } from "../lib/http.ts";
import { type SignatureFault, WebhookKeys } from "./signing.ts";
import { APPS, type Detail, type Endpoint, type ValidInput, validateInput } from "./validate.ts";

/**
 * fal's queue with the HappyHorse apps: a faithful local double (docs/providers.md §2.2, §4.1–4.2, §7.3),
 * built on the shared doubles library.
 *
 * - `POST /{owner}/{app}/{path…}[?fal_webhook=]` → `{request_id, gateway_request_id, response_url,
 *   status_url, cancel_url, status: "IN_QUEUE", queue_position}`. The three URLs name **only
 *   owner/app**: an adapter that builds `/{owner}/{app}/{path}/requests/…` itself gets 404.
 * - `GET …/requests/{id}/status[?logs=1]`: 202 IN_QUEUE (queue_position counting down) or
 *   IN_PROGRESS, 200 COMPLETED (with `error`/`error_type` when it failed); `…/status/stream`: SSE.
 * - `GET …/requests/{id}`: 200 `{video, seed}`, 422 `{detail: [{loc, msg, type}]}`, 504
 *   `{detail, error_type: "request_timeout"}` + `X-Fal-Error-Type`, …; 400 while not completed.
 * - `PUT …/requests/{id}/cancel`: 202 CANCELLATION_REQUESTED (queued: honoured; running: accepted,
 *   honoured only if `honourRunningCancel`), 400 ALREADY_COMPLETED, 404 NOT_FOUND.
 * - Webhooks `{request_id, gateway_request_id, status: "OK"|"ERROR", payload, error?}` signed with an
 *   Ed25519 test key (`X-Fal-Webhook-*`), retried on non-2xx; the double serves its own
 *   `/.well-known/jwks.json`; faults: stale timestamp, bad signature, unknown key, key rotation.
 * - Platform: `X-Fal-Request-Timeout` (504 request_timeout, `X-Fal-Request-Timeout-Type: user`),
 *   `x-fal-no-retry`, internal retries that change `gateway_request_id`, a concurrency limit
 *   (default 10) that queues extra requests instead of refusing them.
 *
 * Prompt markers: `[[fail:TYPE]]` (422 detail of that type, e.g. content_policy_violation),
 * `[[timeout]]` (504 startup), `[[runner-disconnect]]` (one 503 run, retried internally unless
 * x-fal-no-retry), `[[stuck]]`, `[[queue:s]]`, `[[run:s]]` (simulated seconds).
 */

export type FalStatusName = "IN_QUEUE" | "IN_PROGRESS" | "COMPLETED";

export interface FalWebhookSettings {
  /** Extra attempts after a non-2xx (fal: 10 attempts in all). */
  retries: number;
  /** Real ms between attempts (fal: about 2 h in all; compressed here). */
  retryDelayMs: number;
  ackTimeoutMs: number;
  /** Extra copies of every webhook. */
  duplicates: number;
  /** Signature fault for the first `faultAttempts` attempts of each webhook (0 = every attempt). */
  fault: SignatureFault;
  faultAttempts: number;
}

export interface FalSettings {
  /** Simulated ms a request waits before a runner takes it. */
  queueDelayMs: number;
  runMsPer5s: { "720p": number; "1080p": number };
  jitter: number;
  /** Requests of one user running at once; the rest wait IN_QUEUE (not refused). */
  concurrency: number;
  /** Whether a cancel sent while IN_PROGRESS stops the request. */
  honourRunningCancel: boolean;
  /** Lifetime of the CDN URLs of outputs. */
  videoUrlTtlMs: number;
  /** Download http(s) image inputs to check them. */
  fetchMedia: boolean;
  webhook: FalWebhookSettings;
}

export const DEFAULT_FAL_SETTINGS: FalSettings = {
  queueDelayMs: 5000,
  runMsPer5s: { "720p": 60_000, "1080p": 90_000 },
  jitter: 0.1,
  concurrency: 10,
  honourRunningCancel: false,
  videoUrlTtlMs: 7 * 24 * 3600_000,
  fetchMedia: true,
  webhook: {
    retries: 9,
    retryDelayMs: 100,
    ackTimeoutMs: 5000,
    duplicates: 0,
    fault: "none",
    faultAttempts: 0,
  },
};

export const DEFAULT_FAL_KEY = "fal-test-key-id:fal-test-key-secret";
export const FAL_USER_ID = "user_2test0double0fal";

interface Outcome {
  ok: boolean;
  status: number;
  body: unknown;
  errorType?: string;
  /** The status object's `error` text when it failed. */
  error?: string;
  headers?: Record<string, string>;
}

export interface FalRequest {
  id: string;
  gatewayRequestId: string;
  owner: string;
  app: string;
  endpoint: Endpoint;
  appId: string;
  input: unknown;
  webhookUrl?: string;
  status: FalStatusName;
  submittedAt: number;
  readyAt: number;
  startedAt?: number;
  completedAt?: number;
  runMs: number;
  /** X-Fal-Request-Timeout in simulated ms. */
  startTimeoutMs?: number;
  noRetry: boolean;
  stuck: boolean;
  failType?: string;
  timeout: boolean;
  disconnects: number;
  attempts: number;
  validated: boolean;
  details?: Detail[];
  value?: ValidInput;
  cancelRequested: boolean;
  logs: Array<{ message: string; level: string; source: string; timestamp: string }>;
  outcome?: Outcome;
}

export interface FalRequestPatch {
  /** COMPLETED: finish now (OK unless `errorType`/`failType`). */
  status?: "IN_PROGRESS" | "COMPLETED";
  failType?: string;
  /** A platform error (e.g. request_timeout, runner_disconnected) with its HTTP status. */
  errorType?: string;
  httpStatus?: number;
  stuck?: boolean;
  expireUrlsInMs?: number;
}

export interface FalDouble extends Double<FalSettings> {
  /** The queue host (what a fal channel's base URL is). */
  baseUrl: string;
  jwksUrl: string;
  keys: string[];
  signing: WebhookKeys;
  requests: {
    get(id: string): FalRequest | undefined;
    list(): FalRequest[];
    force(id: string, patch: FalRequestPatch): FalRequest;
  };
}

export interface FalDoubleOptions extends Partial<Omit<FalSettings, "webhook">> {
  keys?: string[];
  webhook?: Partial<FalWebhookSettings>;
  port?: number;
  seed?: number;
  clockScale?: number;
  clockStart?: number;
}

export async function startFalDouble(options: FalDoubleOptions = {}): Promise<FalDouble> {
  const { keys: k, webhook, port, seed, clockScale, clockStart, ...rest } = options;
  const keys = k ?? [DEFAULT_FAL_KEY];
  const signing = new WebhookKeys();
  const settings: FalSettings = {
    ...structuredClone(DEFAULT_FAL_SETTINGS),
    ...rest,
    webhook: { ...DEFAULT_FAL_SETTINGS.webhook, ...(webhook ?? {}) },
  };
  let machine: Machine | undefined;
  const double = await startDouble<FalSettings>({
    name: "fal",
    port,
    seed,
    clock: { scale: clockScale ?? 600, start: clockStart },
    settings,
    setup: (core) => {
      const m = new Machine(core, signing);
      machine = m;
      return {
        routes: apiRoutes(core, m, keys, signing),
        controlRoutes: controlRoutes(m, signing),
        requestId: () => core.rng.uuid(),
        responseHeaders: (ctx) => ({ "x-fal-request-id": ctx.requestId }),
        errorReply: (code, message) => falError(statusOfType(code), message ?? code, code),
        notFound: () => json(404, { detail: "Not Found" }),
        // A GET on a path that only POST knows (e.g. a rebuilt …/{path}/requests/{id}/status) is a 404 at fal.
        methodNotAllowed: () => json(404, { detail: "Not Found" }),
        internalError: (_ctx, err) => falError(500, (err as Error).message, "internal_error"),
        onSettings: () => m.tick(),
      };
    },
  });
  const m = machine as Machine;
  m.baseUrl = double.url;
  return Object.assign(double, {
    baseUrl: double.url,
    jwksUrl: `${double.url}/.well-known/jwks.json`,
    keys,
    signing,
    requests: {
      get: (id: string) => {
        m.tick();
        return m.requests.get(id);
      },
      list: () => {
        m.tick();
        return [...m.requests.values()];
      },
      force: (id: string, patch: FalRequestPatch) => m.force(id, patch),
    },
  });
}

const TYPE_STATUS: Record<string, number> = {
  request_timeout: 504,
  startup_timeout: 504,
  runner_scheduling_failure: 503,
  runner_connection_timeout: 503,
  runner_disconnected: 503,
  runner_connection_refused: 503,
  internal_error: 500,
  request_cancelled: 400,
};

function statusOfType(type: string): number {
  return TYPE_STATUS[type] ?? 500;
}

/** A platform error: `{detail, error_type}` with the same type in `X-Fal-Error-Type`. */
export function falError(status: number, detail: string, errorType?: string): Reply {
  return json(
    status,
    { detail, ...(errorType ? { error_type: errorType } : {}) },
    errorType ? { "x-fal-error-type": errorType } : {},
  );
}

const MARKER_RE = /\[\[([a-z-]+)(?::([^\]]*))?\]\]/g;

class Machine {
  requests = new Map<string, FalRequest>();
  baseUrl = "";
  #timer: { cancel(): void } | undefined;

  constructor(
    readonly core: DoubleCore<FalSettings>,
    readonly signing: WebhookKeys,
  ) {}

  get s(): FalSettings {
    return this.core.settings;
  }

  urls(r: FalRequest): Record<string, string> {
    // Only owner/app: fal's status, result and cancel URLs drop the app's path.
    const base = `${this.baseUrl}/${r.owner}/${r.app}/requests/${r.id}`;
    return { response_url: base, status_url: `${base}/status`, cancel_url: `${base}/cancel` };
  }

  log(r: FalRequest, message: string, level = "INFO"): void {
    r.logs.push({ message, level, source: "user", timestamp: new Date(this.core.clock.now()).toISOString() });
  }

  submit(r: FalRequest): void {
    this.requests.set(r.id, r);
    void validateInput(r.endpoint, r.input, (url) => this.core.mediaMeta.get(url), this.s.fetchMedia).then(
      ({ details, value }) => {
        r.details = details;
        r.value = value;
        r.validated = true;
        this.tick();
      },
    );
    this.tick();
  }

  /** Requests ahead of this one in the order runners take them (counts down to 0). */
  queuePosition(r: FalRequest): number {
    return Math.max(0, this.queue().indexOf(r));
  }

  queue(): FalRequest[] {
    return [...this.requests.values()]
      .filter((x) => x.status === "IN_QUEUE")
      .sort((a, b) => a.readyAt - b.readyAt || a.submittedAt - b.submittedAt);
  }

  tick(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    for (;;) {
      const now = this.core.clock.now();
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
    for (const r of this.requests.values()) if (r.status === "IN_PROGRESS") running++;
    const queued = this.queue();
    for (const r of queued) {
      if (r.startTimeoutMs !== undefined)
        consider(r.submittedAt + r.startTimeoutMs, (at) => {
          r.completedAt = at;
          this.#complete(r, at, {
            ok: false,
            status: 504,
            body: { detail: "Request timed out before it could start.", error_type: "request_timeout" },
            errorType: "request_timeout",
            error: "Request timed out",
            headers: { "x-fal-error-type": "request_timeout", "x-fal-request-timeout-type": "user" },
          });
        });
    }
    if (running < this.s.concurrency) {
      const first = queued.find((r) => r.validated);
      if (first) consider(first.readyAt, (at) => this.#start(first, at));
    }
    for (const r of this.requests.values()) {
      if (r.status !== "IN_PROGRESS" || r.stuck || r.startedAt === undefined) continue;
      if (r.disconnects > 0) consider(r.startedAt + r.runMs / 2, (at) => this.#disconnect(r, at));
      else consider(r.startedAt + r.runMs, (at) => this.#finish(r, at));
    }
    return best;
  }

  #start(r: FalRequest, at: number): void {
    r.status = "IN_PROGRESS";
    r.startedAt = at;
    r.attempts++;
    this.log(r, `Runner picked up the request (attempt ${r.attempts}).`);
    if (r.timeout) {
      this.#complete(r, at, {
        ok: false,
        status: 504,
        body: { detail: "The runner did not start in time.", error_type: "startup_timeout" },
        errorType: "startup_timeout",
        error: "Startup timeout",
        headers: { "x-fal-error-type": "startup_timeout" },
      });
      return;
    }
    if (r.details && r.details.length > 0) {
      this.#complete(r, at, {
        ok: false,
        status: 422,
        body: { detail: r.details },
        error: "Invalid status code: 422",
      });
    }
  }

  #disconnect(r: FalRequest, at: number): void {
    r.disconnects--;
    this.log(r, "Runner disconnected.", "ERROR");
    if (r.noRetry) {
      this.#complete(r, at, {
        ok: false,
        status: 503,
        body: { detail: "The runner disconnected.", error_type: "runner_disconnected" },
        errorType: "runner_disconnected",
        error: "Runner disconnected",
        headers: { "x-fal-error-type": "runner_disconnected" },
      });
      return;
    }
    // fal retries internally: the request is queued again under a new gateway request id.
    r.status = "IN_QUEUE";
    r.startedAt = undefined;
    r.readyAt = at;
    r.gatewayRequestId = this.core.rng.uuid();
  }

  #finish(r: FalRequest, at: number): void {
    if (r.failType) {
      this.#complete(r, at, {
        ok: false,
        status: 422,
        body: { detail: [failDetail(r.failType)] },
        error: "Invalid status code: 422",
      });
      return;
    }
    const file = this.core.files.publish({
      kind: "mp4",
      style: "plain",
      key: `files/${r.id.slice(0, 8)}/${this.core.rng.string(20)}_output.mp4`,
      ttlMs: this.s.videoUrlTtlMs,
      tag: r.id,
      at,
    });
    this.#complete(r, at, {
      ok: true,
      status: 200,
      body: {
        video: {
          url: file.url,
          content_type: "video/mp4",
          file_name: "output.mp4",
          file_size: file.bytes,
        },
        seed: r.value?.seed ?? this.core.rng.int(0, 2147483647),
      },
    });
  }

  #complete(r: FalRequest, at: number, outcome: Outcome): void {
    r.status = "COMPLETED";
    r.completedAt = at;
    r.outcome = outcome;
    this.log(r, outcome.ok ? "Request completed." : `Request failed: ${outcome.error ?? outcome.status}`);
    if (r.webhookUrl) this.#webhook(r);
  }

  #webhook(r: FalRequest): void {
    const o = r.outcome!;
    const body = o.ok
      ? { request_id: r.id, gateway_request_id: r.gatewayRequestId, status: "OK", payload: o.body }
      : {
          request_id: r.id,
          gateway_request_id: r.gatewayRequestId,
          status: "ERROR",
          error: `Invalid status code: ${o.status}`,
          payload: o.body,
        };
    const w = this.s.webhook;
    void this.core.callbacks.deliver({
      url: r.webhookUrl!,
      body,
      key: r.id,
      event: body.status,
      terminal: true,
      retries: w.retries,
      retryDelayMs: w.retryDelayMs,
      ackTimeoutMs: w.ackTimeoutMs,
      duplicates: w.duplicates,
      sign: (text, attempt) => {
        const faulty = w.fault !== "none" && (w.faultAttempts === 0 || attempt <= w.faultAttempts);
        return this.signing.headers(r.id, FAL_USER_ID, text, faulty ? w.fault : "none");
      },
    });
  }

  cancel(r: FalRequest): "CANCELLATION_REQUESTED" | "ALREADY_COMPLETED" {
    if (r.status === "COMPLETED") return "ALREADY_COMPLETED";
    r.cancelRequested = true;
    const now = this.core.clock.now();
    if (r.status === "IN_QUEUE" || this.s.honourRunningCancel) {
      this.#complete(r, now, {
        ok: false,
        status: 400,
        body: { detail: "Request was cancelled.", error_type: "request_cancelled" },
        errorType: "request_cancelled",
        error: "Request cancelled",
        headers: { "x-fal-error-type": "request_cancelled" },
      });
    } else this.log(r, "Cancellation requested; the app keeps running.", "WARN");
    this.tick();
    return "CANCELLATION_REQUESTED";
  }

  statusBody(r: FalRequest, logs: boolean): { status: number; body: Record<string, unknown> } {
    const common = { request_id: r.id, ...this.urls(r), logs: logs ? r.logs : null };
    if (r.status === "IN_QUEUE")
      return { status: 202, body: { status: "IN_QUEUE", queue_position: this.queuePosition(r), ...common } };
    if (r.status === "IN_PROGRESS") return { status: 202, body: { status: "IN_PROGRESS", ...common } };
    const o = r.outcome!;
    return {
      status: 200,
      body: {
        status: "COMPLETED",
        ...common,
        metrics: { inference_time: r.startedAt !== undefined ? (r.completedAt! - r.startedAt) / 1000 : null },
        ...(o.ok
          ? {}
          : {
              error: o.error ?? `Invalid status code: ${o.status}`,
              error_type: o.errorType ?? "validation_error",
            }),
      },
    };
  }

  force(id: string, patch: FalRequestPatch): FalRequest {
    this.tick();
    const r = this.requests.get(id);
    if (!r) throw new ControlError(404, `no request ${id}`);
    const now = this.core.clock.now();
    if (patch.stuck !== undefined) r.stuck = patch.stuck;
    if (patch.failType) r.failType = patch.failType;
    if (patch.status === "IN_PROGRESS" && r.status === "IN_QUEUE") {
      r.validated = true;
      this.#start(r, now);
    }
    if (patch.status === "COMPLETED") {
      if (r.status === "COMPLETED") throw new ControlError(400, "request is already COMPLETED");
      if (r.startedAt === undefined) r.startedAt = now;
      if (patch.errorType) {
        const status = patch.httpStatus ?? statusOfType(patch.errorType);
        this.#complete(r, now, {
          ok: false,
          status,
          body: { detail: `Request failed: ${patch.errorType}.`, error_type: patch.errorType },
          errorType: patch.errorType,
          error: patch.errorType,
          headers: { "x-fal-error-type": patch.errorType },
        });
      } else this.#finish(r, now);
    }
    if (patch.expireUrlsInMs !== undefined) {
      if (patch.expireUrlsInMs <= 0) this.core.files.expire({ tag: r.id });
      else this.core.clock.after(patch.expireUrlsInMs, () => this.core.files.expire({ tag: r.id }));
    }
    this.tick();
    return r;
  }
}

function failDetail(type: string): Detail {
  if (type === "content_policy_violation")
    return {
      loc: ["body", "prompt"],
      msg: "The content could not be processed because it contained material flagged by a content checker.",
      type,
    };
  return { loc: ["body"], msg: `The request failed: ${type}.`, type };
}

function apiRoutes(core: DoubleCore<FalSettings>, m: Machine, keys: string[], signing: WebhookKeys): Route[] {
  const gate = (ctx: RequestContext): Reply | undefined => {
    const auth = ctx.headers.authorization;
    const key = typeof auth === "string" ? /^Key\s+(\S+)\s*$/.exec(auth)?.[1] : undefined;
    if (!key || !keys.includes(key))
      return json(401, {
        detail:
          typeof auth === "string" && /^Bearer/i.test(auth)
            ? "Authorization must use the Key scheme: Authorization: Key <FAL_KEY>."
            : "Authentication is required to access this endpoint.",
      });
    m.tick();
    return undefined;
  };
  const find = (ctx: RequestContext): FalRequest | undefined => {
    const r = m.requests.get(ctx.params.id ?? "");
    return r && r.owner === ctx.params.owner && r.app === ctx.params.app ? r : undefined;
  };
  const requestNotFound = () => json(404, { detail: "Request not found" });

  return [
    {
      method: "GET",
      pattern: "/.well-known/jwks.json",
      handler: () => json(200, signing.jwks(), { "cache-control": "public, max-age=86400" }),
    },
    {
      method: "GET",
      pattern: "/:owner/:app/requests/:id/status",
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        const r = find(ctx);
        if (!r) return requestNotFound();
        const { status, body } = m.statusBody(r, ctx.query.get("logs") === "1");
        return json(status, body);
      },
    },
    {
      method: "GET",
      pattern: "/:owner/:app/requests/:id/status/stream",
      handler: async (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        const r = find(ctx);
        if (!r) return requestNotFound();
        // A buffered stream: the events seen until COMPLETED (or 10 s), then the stream closes.
        const events: string[] = [];
        let last = "";
        const deadline = Date.now() + 10_000;
        for (;;) {
          m.tick();
          const { body } = m.statusBody(r, ctx.query.get("logs") === "1");
          const text = JSON.stringify(body);
          if (body.status !== last) events.push(`data: ${text}\n\n`);
          last = String(body.status);
          if (r.status === "COMPLETED" || Date.now() > deadline) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        return {
          status: 200,
          headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
          body: events.join(""),
        };
      },
    },
    {
      method: "PUT",
      pattern: "/:owner/:app/requests/:id/cancel",
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        const r = find(ctx);
        if (!r) return json(404, { status: "NOT_FOUND" });
        const result = m.cancel(r);
        return json(result === "ALREADY_COMPLETED" ? 400 : 202, { status: result });
      },
    },
    {
      method: "GET",
      pattern: "/:owner/:app/requests/:id",
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        const r = find(ctx);
        if (!r) return requestNotFound();
        if (r.status !== "COMPLETED") return json(400, { detail: "Request is still in progress" });
        const o = r.outcome!;
        return json(o.status, o.body, o.headers ?? {});
      },
    },
    {
      method: "POST",
      pattern: "/:owner/:app/*",
      handler: (ctx) => {
        const stop = gate(ctx);
        if (stop) return stop;
        const owner = ctx.params.owner ?? "";
        const app = ctx.params.app ?? "";
        const path = (ctx.params.rest ?? "").replace(/\/+$/, "");
        const appId = path ? `${owner}/${app}/${path}` : `${owner}/${app}`;
        const endpoint = APPS[appId];
        if (!endpoint) return json(404, { detail: `Application '${appId}' not found` });
        if (ctx.jsonError)
          return json(422, { detail: [{ loc: ["body"], msg: "JSON decode error", type: "json_invalid" }] });
        const now = core.clock.now();
        const jitter = (v: number) => Math.max(0, Math.round(core.rng.jitter(v, core.settings.jitter)));
        const input = ctx.body ?? {};
        const prompt =
          typeof (input as { prompt?: unknown }).prompt === "string"
            ? (input as { prompt: string }).prompt
            : "";
        const resolution = (input as { resolution?: unknown }).resolution === "720p" ? "720p" : "1080p";
        const duration = Number((input as { duration?: unknown }).duration ?? 5) || 5;
        const timeoutHeader = ctx.headers["x-fal-request-timeout"];
        const r: FalRequest = {
          id: core.rng.uuid(),
          gatewayRequestId: "",
          owner,
          app,
          endpoint,
          appId,
          input,
          webhookUrl: ctx.query.get("fal_webhook") ?? undefined,
          status: "IN_QUEUE",
          submittedAt: now,
          readyAt: now + jitter(core.settings.queueDelayMs),
          runMs: jitter(core.settings.runMsPer5s[resolution] * (Math.min(15, Math.max(3, duration)) / 5)),
          startTimeoutMs:
            typeof timeoutHeader === "string" && Number(timeoutHeader) > 0
              ? Number(timeoutHeader) * 1000
              : undefined,
          noRetry: ["1", "true"].includes(String(ctx.headers["x-fal-no-retry"] ?? "").toLowerCase()),
          stuck: false,
          timeout: false,
          disconnects: 0,
          attempts: 0,
          validated: false,
          cancelRequested: false,
          logs: [],
        };
        r.gatewayRequestId = r.id;
        for (const mk of prompt.matchAll(MARKER_RE)) {
          const arg = mk[2];
          switch (mk[1]) {
            case "fail":
              r.failType = arg || "internal_error";
              break;
            case "timeout":
              r.timeout = true;
              break;
            case "runner-disconnect":
              r.disconnects = 1;
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
        m.submit(r);
        return json(200, {
          status: "IN_QUEUE",
          request_id: r.id,
          gateway_request_id: r.gatewayRequestId,
          ...m.urls(r),
          queue_position: m.queuePosition(r),
        });
      },
    },
  ];
}

function controlRoutes(m: Machine, signing: WebhookKeys): Route[] {
  return [
    {
      method: "GET",
      pattern: "/__control/requests/:id",
      handler: (ctx) => {
        m.tick();
        const r = m.requests.get(ctx.params.id ?? "");
        return r ? json(200, r) : json(404, { error: "no such request" });
      },
    },
    {
      method: "POST",
      pattern: "/__control/requests/:id",
      handler: (ctx) => json(200, m.force(ctx.params.id ?? "", (ctx.body ?? {}) as FalRequestPatch)),
    },
    {
      method: "POST",
      pattern: "/__control/webhook-keys/rotate",
      handler: (ctx) => {
        const key = signing.rotate((ctx.body as { keepOld?: boolean } | undefined)?.keepOld === true);
        return json(200, { kid: key.kid, jwks: signing.jwks() });
      },
    },
  ];
}
