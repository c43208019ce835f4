import type { NormalizedRequest } from "../../domain/request.ts";
import { originIsPublic } from "../../net/public-origin.ts";
import { bearerJson, callUpstream, QUERY_TIMEOUT_MS } from "../http.ts";
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
import { failedStatus, noOutput } from "../upstream-status.ts";
import { mediaUrl } from "./upload.ts";
import { readError, readTask, taskIdOf } from "./wire.ts";

/** A lookup reads at most this many pages of 100 tasks. */
const MAX_LOOKUP_PAGES = 20;
/** The peer's clock and ours may differ by this much. */
const CLOCK_SKEW_MS = 120_000;

const QUEUED = new Set([
  "submitted",
  "queued",
  "pending",
  "not_start",
  "in_queue",
  "waiting",
  "created",
  "accepted",
]);
const RUNNING = new Set(["running", "in_progress", "processing", "generating", "started", "starting"]);
const SUCCEEDED = new Set([
  "succeeded",
  "success",
  "successful",
  "completed",
  "complete",
  "done",
  "finished",
]);
const FAILED = new Set(["failed", "failure", "error", "errored"]);
const CANCELLED = new Set(["cancelled", "canceled"]);
const EXPIRED = new Set(["expired", "timeout", "timed_out"]);

/**
 * Another gateway speaking RelayDance v1 (docs/api.md; docs/providers.md §10) — the hosted service, another
 * vidrelay, or a compatible relay. The channel's base URL is its API root (`https://relay.example`
 * or `…/v1`); the model map gives the peer's model ids. Options in the base URL's query string:
 * - `callbacks=on|off|auto`: whether to ask the peer for `metadata.callback_url` webhooks (auto, the
 *   default: only when our own public URL is one the peer can reach).
 *
 * Statuses, progress, error codes and messages are carried through unchanged, so a chain of
 * gateways reports what the last one saw; our task still succeeds only once its video is copied.
 */
export class RelayDanceAdapter implements ProviderAdapter {
  readonly specificationVersion = "v1";
  readonly provider = "relaydance";
  /** The peer may be the hosted service, another vidrelay or a compatible relay. */
  readonly displayName = "the upstream gateway";
  /** The upstream gateway decides for itself and says so (409 when it cannot). */
  readonly cancelScope = "queued_or_running";

  constructor(private readonly options: { pollScale?: number; submitTimeoutMs?: number } = {}) {}

  typicalRunMs(request: RunFacts): number {
    return 60_000 * Math.max(0.5, request.seconds / 5);
  }

  pollSchedule(request: NormalizedRequest) {
    const typical = this.typicalRunMs(request);
    return scaledSchedule(
      { firstMs: Math.min(typical * 0.2, 10_000), intervalMs: 3000, maxIntervalMs: 15_000 },
      this.options.pollScale,
    );
  }

  private channel(context: Pick<ChannelContext, "baseUrl">): { api: string; callbacks: string } {
    const url = new URL(context.baseUrl);
    const callbacks = url.searchParams.get("callbacks") ?? "auto";
    url.search = "";
    url.hash = "";
    return { api: `${url.toString().replace(/\/+$/, "").replace(/\/v1$/, "")}/v1`, callbacks };
  }

  private headers(context: ChannelContext): Record<string, string> {
    return bearerJson(context.apiKey);
  }

  async submit(request: NormalizedRequest, context: SubmitContext): Promise<SubmittedTask> {
    const ch = this.channel(context);
    const content: Array<Record<string, unknown>> = [];
    for (const media of request.content) {
      const key = `${media.kind}_url`;
      content.push({
        type: key,
        [key]: { url: await mediaUrl(media, context, ch.api) },
        role: media.role,
      });
    }
    const metadata: Record<string, unknown> = {
      ratio: request.ratio,
      resolution: request.resolution,
      generate_audio: request.generateAudio,
    };
    if (request.seed !== undefined) metadata.seed = request.seed;
    if (request.watermark !== undefined) metadata.watermark = request.watermark;
    if (request.cameraFixed !== undefined) metadata.camera_fixed = request.cameraFixed;
    if (request.returnLastFrame !== undefined) metadata.return_last_frame = request.returnLastFrame;
    if (content.length > 0) metadata.content = content;
    if (context.callbackUrl && wantsCallbacks(ch.callbacks, context.callbackUrl))
      metadata.callback_url = context.callbackUrl;
    const body: Record<string, unknown> = {
      model: context.upstreamModel,
      seconds: String(request.seconds),
      metadata,
    };
    if (request.prompt) body.prompt = request.prompt;

    return sendCreate(
      `${ch.api}/video/generations`,
      {
        // A peer that honours Idempotency-Key (vidrelay does) answers a repeated create with the
        // task the first one made.
        headers: { ...this.headers(context), "idempotency-key": `vidrelay-${context.taskId}` },
        body,
        timeoutMs: this.options.submitTimeoutMs,
        signal: context.signal,
      },
      { name: this.displayName, rules: RELAY_FAILURES, created },
    );
  }

  /**
   * The contract's list (`GET /v1/video/generations`, newest first, with each task's prompt,
   * model, seconds and creation time) finds the task an unanswered create made: the one created
   * in the window with exactly this request's model, prompt and seconds.
   */
  async findSubmitted(
    request: NormalizedRequest,
    context: ChannelContext & { taskId: string },
    window: { from: number; to: number },
    exclude: ReadonlySet<string>,
  ): Promise<{ upstreamId: string } | null> {
    const ch = this.channel(context);
    const found: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < MAX_LOOKUP_PAGES; page++) {
      const query = new URLSearchParams({ limit: "100", model: context.upstreamModel });
      if (after) query.set("after", after);
      const response = await callUpstream(`${ch.api}/video/generations?${query}`, {
        headers: this.headers(context),
        timeoutMs: QUERY_TIMEOUT_MS,
        signal: context.signal,
      });
      if (response.status !== 200)
        throw new Error(
          `the upstream gateway's task list answered ${response.status}: ${response.text.slice(0, 200)}`,
        );
      const list = response.json as { data?: unknown; has_more?: unknown; next_cursor?: unknown };
      if (!Array.isArray(list?.data)) throw new Error("the upstream gateway's task list has no data array");
      let older = false;
      for (const item of list.data as Array<Record<string, unknown>>) {
        const id = taskIdOf(item);
        const createdMs = Number(item.created_at) * 1000;
        if (!id || !Number.isFinite(createdMs)) continue;
        if (createdMs < window.from - CLOCK_SKEW_MS) older = true;
        else if (
          createdMs <= window.to + CLOCK_SKEW_MS &&
          !exclude.has(id) &&
          item.model === context.upstreamModel &&
          (item.prompt ?? "") === request.prompt &&
          Number(item.seconds) === request.seconds
        )
          found.push(id);
      }
      if (older || list.has_more !== true || typeof list.next_cursor !== "string") break;
      after = list.next_cursor;
    }
    if (found.length > 1)
      throw new ProviderError(
        "ambiguous",
        "upstream_lookup_ambiguous",
        `${found.length} tasks at the upstream gateway match this request (${found.join(", ")})`,
      );
    return found[0] ? { upstreamId: found[0] } : null;
  }

  async status(upstreamId: string, context: ChannelContext): Promise<UpstreamStatus> {
    const ch = this.channel(context);
    const response = await callUpstream(`${ch.api}/video/generations/${encodeURIComponent(upstreamId)}`, {
      headers: this.headers(context),
      timeoutMs: QUERY_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status === 404) {
      const err = readError(response.json, response.text);
      return failedStatus(
        "upstream_not_found",
        `the upstream gateway no longer knows task ${upstreamId}: ${err.message}`,
      );
    }
    if (response.status !== 200)
      throw new Error(`the upstream gateway answered ${response.status}: ${response.text.slice(0, 200)}`);
    const task = readTask(response.json);
    if (!task)
      throw new Error(`the upstream gateway answered an unexpected shape: ${response.text.slice(0, 200)}`);
    return mapStatus(task);
  }

  async cancel(upstreamId: string, context: ChannelContext): Promise<CancelOutcome> {
    const ch = this.channel(context);
    const response = await callUpstream(
      `${ch.api}/video/generations/${encodeURIComponent(upstreamId)}/cancel`,
      {
        method: "POST",
        headers: this.headers(context),
        body: "{}",
        timeoutMs: QUERY_TIMEOUT_MS,
        signal: context.signal,
      },
    );
    if (response.status === 200) return { cancelled: true };
    const err = readError(response.json, response.text);
    // 409 task_not_cancellable: finished already, or its own provider refused; it runs on.
    if (response.status === 409)
      return { cancelled: false, reason: `the upstream gateway refused: ${err.message.slice(0, 300)}` };
    throw new Error(
      `the upstream gateway answered the cancel of ${upstreamId} with ${response.status}: ${err.message}`,
    );
  }

  async check(context: ChannelContext): Promise<void> {
    const response = await callUpstream(`${this.channel(context).api}/models`, {
      headers: this.headers(context),
      timeoutMs: QUERY_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status !== 200) throw classifySubmitFailure({ response }, this.displayName, RELAY_FAILURES);
  }

  /** The webhook body is the task object (docs/api.md §5): a hint; we re-poll with our key. */
  parseCallback(callback: UpstreamCallback): { upstreamId: string } | null {
    const id = taskIdOf(callback.body);
    return id ? { upstreamId: id } : null;
  }
}

function wantsCallbacks(mode: string, callbackUrl: string): boolean {
  if (mode === "on") return true;
  if (mode === "off") return false;
  return originIsPublic(callbackUrl);
}

export function mapStatus(task: NonNullable<ReturnType<typeof readTask>>): UpstreamStatus {
  const status = task.status.toLowerCase();
  if (QUEUED.has(status)) return { type: "queued" };
  if (RUNNING.has(status))
    return task.progress !== undefined ? { type: "running", progress: task.progress } : { type: "running" };
  if (SUCCEEDED.has(status)) {
    if (!task.url) return noOutput("the upstream gateway");
    return {
      type: "succeeded",
      videoUrl: task.url,
      lastFrameUrl: task.lastFrameUrl,
      usage: task.seconds !== undefined ? { seconds: task.seconds } : {},
    };
  }
  if (FAILED.has(status)) {
    // Carried through unchanged: a chain of gateways reports the code the last one saw.
    return failedStatus(
      task.error?.code ?? "upstream_failed",
      task.error?.message || "the upstream gateway failed this task",
    );
  }
  if (CANCELLED.has(status))
    return failedStatus("cancelled", task.error?.message || "the task was cancelled at the upstream gateway");
  if (EXPIRED.has(status))
    return failedStatus("expired", task.error?.message || "the upstream gateway expired this task");
  return { type: "unknown", raw: task.status };
}

function created(json: unknown): SubmittedTask | undefined {
  const id = taskIdOf(json);
  return id ? { upstreamId: id } : undefined;
}

/**
 * docs/api.md §1: 4xx is the request or the key, 429 and 5xx are "retry later". Codes and messages
 * are carried through unchanged (with the field a refusal names), so a chain of gateways reports
 * what the last one saw.
 */
const RELAY_FAILURES: SubmitFailureRules = {
  readError(response) {
    const { code, message, param } = readError(response.json, response.text);
    return { code, message: param ? `${message} (${param})` : message };
  },
};
