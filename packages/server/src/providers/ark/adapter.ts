import { createHash } from "node:crypto";
import type { NormalizedRequest } from "../../domain/request.ts";
import { bearerJson, callUpstream, QUERY_TIMEOUT_MS, type UpstreamResponse } from "../http.ts";
import { scaledSchedule } from "../poll-schedule.ts";
import { classifySubmitFailure, type SubmitFailureRules, sendCreate } from "../submit-failure.ts";
import type { RunFacts } from "../types.ts";
import {
  type CancelOutcome,
  type ChannelContext,
  type ProviderAdapter,
  ProviderError,
  type SubmitContext,
  type SubmittedTask,
  type UpstreamCallback,
  type UpstreamStatus,
} from "../types.ts";
import { failedStatus, moderatedStatus, noOutput } from "../upstream-status.ts";
import { ArkCreated, ArkError, ArkList, type ArkTask } from "./wire.ts";

/** Ark takes data: URLs but caps the whole body at 64 MB; keep each inline image well inside. */
const MAX_INLINE_BYTES = 10 * 1024 * 1024;
const LIST_PAGE = 100;
/** A lookup reads at most this many pages of 100 (tasks are listed newest first). */
const MAX_LOOKUP_PAGES = 20;
/** Ark's clock and ours may differ by this much. */
const CLOCK_SKEW_MS = 120_000;

/** Typical run time in seconds of a 10 s clip (docs/providers.md §1.13), used to pace polling. */
const TYPICAL_RUN_10S: Record<string, number> = { "480p": 80, "720p": 100, "1080p": 150 };

/**
 * Seedance on Volcengine Ark (CN) and BytePlus ModelArk (international): the same API on
 * different hosts with different model ids; the channel's base URL and model map choose.
 */
export class ArkAdapter implements ProviderAdapter {
  readonly specificationVersion = "v1";
  readonly provider = "ark";
  readonly displayName = "Ark";
  /** DELETE cancels a queued task; a running one cannot be stopped (docs/providers.md §1.6). */
  readonly cancelScope = "queued";

  constructor(private readonly options: { pollScale?: number; submitTimeoutMs?: number } = {}) {}

  typicalRunMs(request: RunFacts): number {
    return (TYPICAL_RUN_10S[request.resolution] ?? 100) * (request.seconds / 10) * 1000;
  }

  pollSchedule(request: NormalizedRequest) {
    const typical = this.typicalRunMs(request);
    return scaledSchedule(
      { firstMs: typical * 0.5, intervalMs: Math.min(typical * 0.1, 5000), maxIntervalMs: 30_000 },
      this.options.pollScale,
    );
  }

  private headers(context: ChannelContext): Record<string, string> {
    return bearerJson(context.apiKey);
  }

  async submit(request: NormalizedRequest, context: SubmitContext): Promise<SubmittedTask> {
    const content: Array<Record<string, unknown>> = [];
    if (request.prompt) content.push({ type: "text", text: request.prompt });
    for (const media of request.content) {
      const url = await context.mediaUrl(media, { maxInlineBytes: MAX_INLINE_BYTES, lowerCaseFormat: true });
      const key = `${media.kind}_url`;
      // An edit's or extension's source is a reference video to Ark (docs/providers.md §1.3).
      const role = media.role === "source_video" ? "reference_video" : media.role;
      content.push({ type: key, [key]: { url }, role });
    }
    // Top-level fields only: never `--` text commands (2.0 accepts only the top-level form).
    const body: Record<string, unknown> = {
      model: context.upstreamModel,
      content,
      resolution: request.resolution,
      ...shapeOf(request),
    };
    // An explicit task type makes Ark check edit/extend at create time instead of failing later
    // (docs/providers.md §1.3).
    if (request.operation) body.omni_reference_task_type = request.operation;
    if (request.generateAudio !== undefined) body.generate_audio = request.generateAudio;
    // Ark picks a random seed when none is given; ours is as random, but derived from the task, so
    // Ark's echo of it finds this create again after a crash (findSubmitted).
    body.seed = request.seed ?? seedFor(context.taskId);
    if (request.watermark !== undefined) body.watermark = request.watermark;
    if (request.cameraFixed !== undefined) body.camera_fixed = request.cameraFixed;
    if (request.returnLastFrame !== undefined) body.return_last_frame = request.returnLastFrame;
    if (request.priority !== undefined) body.priority = request.priority;
    if (request.safetyIdentifier !== undefined) body.safety_identifier = request.safetyIdentifier;
    // Ark's own deadline takes 1 to 72 h: a shorter one is sent as an hour (the gateway's sweep
    // ends the task at its own deadline and cancels it here; Ark's ends it if that cannot).
    if (request.deadlineSeconds !== undefined) {
      body.execution_expires_after = Math.min(259_200, Math.max(3600, request.deadlineSeconds));
    }
    if (context.callbackUrl) body.callback_url = context.callbackUrl;

    return sendCreate(
      `${context.baseUrl}/contents/generations/tasks`,
      {
        headers: this.headers(context),
        body,
        timeoutMs: this.options.submitTimeoutMs,
        signal: context.signal,
      },
      { name: this.displayName, rules: ARK_FAILURES, created },
    );
  }

  async status(upstreamId: string, context: ChannelContext): Promise<UpstreamStatus> {
    const response = await callUpstream(
      `${context.baseUrl}/contents/generations/tasks/${encodeURIComponent(upstreamId)}`,
      {
        headers: this.headers(context),
        timeoutMs: QUERY_TIMEOUT_MS,
        signal: context.signal,
      },
    );
    if (response.status === 404)
      return failedStatus(
        "upstream_not_found",
        "Ark no longer knows this task (deleted or older than 7 days)",
      );
    if (response.status !== 200)
      throw new Error(`Ark status query answered ${response.status}: ${response.text.slice(0, 200)}`);
    const parsed = ArkTaskOf(response.json);
    return mapStatus(parsed);
  }

  async statusMany(upstreamIds: string[], context: ChannelContext): Promise<Map<string, UpstreamStatus>> {
    const out = new Map<string, UpstreamStatus>();
    for (let i = 0; i < upstreamIds.length; i += LIST_PAGE) {
      const chunk = upstreamIds.slice(i, i + LIST_PAGE);
      const query = new URLSearchParams({ page_num: "1", page_size: String(LIST_PAGE) });
      for (const id of chunk) query.append("filter.task_ids", id);
      const items = await this.listTasks(query, context);
      for (const item of items) out.set(item.id, mapStatus(item));
    }
    return out;
  }

  /** One page of Ark's task list (`GET /contents/generations/tasks`), shape-checked. */
  private async listTasks(query: URLSearchParams, context: ChannelContext) {
    const response = await callUpstream(`${context.baseUrl}/contents/generations/tasks?${query}`, {
      headers: this.headers(context),
      timeoutMs: QUERY_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status !== 200)
      throw new Error(`Ark list answered ${response.status}: ${response.text.slice(0, 200)}`);
    const list = ArkList.safeParse(response.json);
    if (!list.success) throw new Error(`Ark list answered an unexpected shape: ${list.error.message}`);
    return list.data.items;
  }

  /**
   * Ark lists tasks by model, newest first, for 7 days, and echoes each one's seed, resolution,
   * ratio and duration (docs/providers.md §1.5): the task a create made is the one among those
   * created in the window whose echo is exactly this request's, the seed being the task's own.
   */
  async findSubmitted(
    request: NormalizedRequest,
    context: ChannelContext & { taskId: string },
    window: { from: number; to: number },
    exclude: ReadonlySet<string>,
  ): Promise<{ upstreamId: string } | null> {
    const seed = request.seed ?? seedFor(context.taskId);
    const found: string[] = [];
    for (let page = 1; page <= MAX_LOOKUP_PAGES; page++) {
      const query = new URLSearchParams({
        page_num: String(page),
        page_size: String(LIST_PAGE),
        "filter.model": context.upstreamModel,
      });
      const items = await this.listTasks(query, context);
      let older = false;
      for (const item of items) {
        const createdMs = (item.created_at ?? 0) * 1000;
        if (createdMs < window.from - CLOCK_SKEW_MS) older = true;
        else if (
          createdMs <= window.to + CLOCK_SKEW_MS &&
          !exclude.has(item.id) &&
          echoes(item, request, seed)
        )
          found.push(item.id);
      }
      if (older || items.length < LIST_PAGE) break;
      if (page === MAX_LOOKUP_PAGES)
        throw new ProviderError(
          "ambiguous",
          "upstream_lookup_incomplete",
          "too many Ark tasks in the window to look through",
        );
    }
    if (found.length > 1)
      throw new ProviderError(
        "ambiguous",
        "upstream_lookup_ambiguous",
        `${found.length} Ark tasks match this request (${found.join(", ")})`,
      );
    return found[0] ? { upstreamId: found[0] } : null;
  }

  async cancel(upstreamId: string, context: ChannelContext): Promise<CancelOutcome> {
    const response = await callUpstream(
      `${context.baseUrl}/contents/generations/tasks/${encodeURIComponent(upstreamId)}`,
      {
        method: "DELETE",
        headers: this.headers(context),
        timeoutMs: QUERY_TIMEOUT_MS,
        signal: context.signal,
      },
    );
    if (response.status === 200 || response.status === 204) return { cancelled: true };
    const { message } = readError(response);
    // 400 InvalidParameter: the task is running (Ark cannot stop it) or already finished.
    if (response.status === 400 || response.status === 409)
      return {
        cancelled: false,
        reason: `Ark cannot stop a task once it is running (${message.slice(0, 200)})`,
      };
    throw new Error(`Ark answered the cancel with ${response.status}: ${message.slice(0, 200)}`);
  }

  async check(context: ChannelContext): Promise<void> {
    const response = await callUpstream(
      `${context.baseUrl}/contents/generations/tasks?page_num=1&page_size=1`,
      {
        headers: this.headers(context),
        timeoutMs: QUERY_TIMEOUT_MS,
        signal: context.signal,
      },
    );
    if (response.status !== 200) throw classifySubmitFailure({ response }, this.displayName, ARK_FAILURES);
  }

  /** Ark does not sign callbacks: the body names the task; the unguessable hook URL is the only guard. */
  parseCallback(callback: UpstreamCallback): { upstreamId: string } | null {
    const id = (callback.body as { id?: unknown } | null)?.id;
    return typeof id === "string" && id ? { upstreamId: id } : null;
  }
}

function ArkTaskOf(json: unknown): ArkTask {
  const parsed = ArkList.shape.items.element.safeParse(json);
  if (!parsed.success) throw new Error(`Ark answered an unexpected task shape: ${parsed.error.message}`);
  return parsed.data;
}

/** docs/providers.md §6: unknown statuses stay unknown (polled, counted), never silently "running". */
export function mapStatus(task: ArkTask): UpstreamStatus {
  switch (task.status) {
    case "queued":
      return { type: "queued" };
    case "running":
      return { type: "running" };
    case "succeeded": {
      const url = task.content?.video_url;
      if (!url) return noOutput("Ark");
      return {
        type: "succeeded",
        videoUrl: url,
        lastFrameUrl: task.content?.last_frame_url,
        usage: { tokens: task.usage?.completion_tokens, seconds: task.duration },
      };
    }
    case "failed": {
      const code = task.error?.code ?? "upstream_failed";
      const message = task.error?.message ?? "the provider failed this task";
      if (/Sensitive|Risk|Moderation|PolicyViolation/i.test(code)) return moderatedStatus(code, message);
      return failedStatus(code, message);
    }
    case "cancelled":
      return failedStatus("cancelled", "the task was cancelled at the provider");
    case "expired":
      return failedStatus("expired", "the provider expired this task before it ran");
    default:
      return { type: "unknown", raw: task.status };
  }
}

function created(json: unknown): SubmittedTask | undefined {
  const parsed = ArkCreated.safeParse(json);
  return parsed.success ? { upstreamId: parsed.data.id } : undefined;
}

function readError(response: UpstreamResponse): { code: string; message: string } {
  const parsed = ArkError.safeParse(response.json);
  if (!parsed.success) return { code: "", message: response.text.slice(0, 300) };
  return { code: parsed.data.error.code ?? "", message: parsed.data.error.message ?? response.text };
}

/**
 * Ark's synchronous errors (docs/providers.md §1.10): its codes are carried (a moderation refusal
 * fails the task with Ark's own code); a 429 is its queue being full (`QuotaExceeded`) or the
 * account's spend limit (`SetLimitExceeded`) as well as throttling.
 */
const ARK_FAILURES: SubmitFailureRules = {
  readError,
  refine(byStatus, { code }) {
    if (byStatus !== "rate_limited") return byStatus;
    if (code === "QuotaExceeded") return "queue_full";
    if (code === "SetLimitExceeded") return "account";
    return byStatus;
  },
};

/** A seed in Ark's range [0, 2^32 - 1] derived from the task id: random across tasks, stable for one. */
export function seedFor(taskId: string): number {
  return createHash("sha256").update(`ark-seed:${taskId}`).digest().readUInt32BE(0);
}

/**
 * The `ratio` and `duration` a request is sent with: an edit keeps the source's shape and length
 * (`adaptive`, `-1`), an extension its shape (`adaptive`) with `duration` the seconds it adds
 * (docs/providers.md §1.3).
 */
function shapeOf(request: NormalizedRequest): { ratio: string; duration: number } {
  if (request.operation === "edit") return { ratio: "adaptive", duration: -1 };
  if (request.operation === "extend") return { ratio: "adaptive", duration: request.seconds };
  return { ratio: request.ratio, duration: request.seconds };
}

/** Whether an Ark task's echo is exactly what this request sent (adaptive ratios and durations are resolved by Ark). */
function echoes(item: ArkTask, request: NormalizedRequest, seed: number): boolean {
  const echo = item as Record<string, unknown>;
  const sent = shapeOf(request);
  return (
    echo.seed === seed &&
    echo.resolution === request.resolution &&
    (sent.duration === -1 || echo.duration === sent.duration) &&
    (sent.ratio === "adaptive" || echo.ratio === sent.ratio)
  );
}
