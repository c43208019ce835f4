import type { NormalizedMedia, NormalizedRequest } from "../../domain/request.ts";
import { originIsPublic } from "../../net/public-origin.ts";
import { callUpstream, retryAfterMs, submitUpstream, type UpstreamResponse } from "../http.ts";
import {
  type CancelOutcome,
  type ChannelContext,
  type ProviderAdapter,
  ProviderError,
  type SubmitContext,
  type UpstreamCallback,
  type UpstreamStatus,
} from "../types.ts";
import { readError, readTask, taskIdOf } from "./wire.ts";

const SUBMIT_TIMEOUT_MS = 30_000;
const STATUS_TIMEOUT_MS = 15_000;
const UPLOAD_TIMEOUT_MS = 120_000;
/** The contract takes data: URLs for images and audio (its submit body allows ~126 MB). */
const MAX_INLINE_BYTES = 30 * 1024 * 1024;
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
  readonly provider = "relaydance";
  /** The upstream gateway decides for itself and says so (409 when it cannot). */
  readonly cancelScope = "queued_or_running";

  constructor(private readonly options: { pollScale?: number; submitTimeoutMs?: number } = {}) {}

  pollSchedule(request: NormalizedRequest) {
    const scale = this.options.pollScale ?? 1;
    const typical = 60_000 * Math.max(0.5, request.seconds / 5);
    return {
      firstMs: Math.max(20, Math.min(typical * 0.2, 10_000) * scale),
      intervalMs: Math.max(20, 3000 * scale),
      maxIntervalMs: Math.max(50, 15_000 * scale),
    };
  }

  private channel(context: Pick<ChannelContext, "baseUrl">): { api: string; callbacks: string } {
    const url = new URL(context.baseUrl);
    const callbacks = url.searchParams.get("callbacks") ?? "auto";
    url.search = "";
    url.hash = "";
    return { api: `${url.toString().replace(/\/+$/, "").replace(/\/v1$/, "")}/v1`, callbacks };
  }

  private headers(context: ChannelContext, json = true): Record<string, string> {
    return {
      authorization: `Bearer ${context.apiKey}`,
      ...(json ? { "content-type": "application/json" } : {}),
    };
  }

  async submit(request: NormalizedRequest, context: SubmitContext): Promise<{ upstreamId: string }> {
    const ch = this.channel(context);
    const content: Array<Record<string, unknown>> = [];
    for (const media of request.content) {
      const key = `${media.kind}_url`;
      content.push({
        type: key,
        [key]: { url: await this.mediaUrl(media, context, ch.api) },
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

    const response = await submitUpstream(`${ch.api}/video/generations`, {
      method: "POST",
      // A peer that honours Idempotency-Key (vidrelay does) answers a repeated create with the
      // task the first one made.
      headers: { ...this.headers(context), "idempotency-key": `vidrelay-${context.taskId}` },
      body: JSON.stringify(body),
      timeoutMs: this.options.submitTimeoutMs ?? SUBMIT_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status >= 200 && response.status < 300) {
      const id = taskIdOf(response.json);
      if (id) return { upstreamId: id };
      throw new ProviderError(
        "ambiguous",
        "upstream_bad_response",
        `the gateway answered ${response.status} without a task id: ${response.text.slice(0, 200)}`,
      );
    }
    throw submitError(response);
  }

  /**
   * Our file URL when the peer can fetch it; otherwise inline. The contract takes data: URLs for
   * images and audio only, so an inline video is uploaded to the peer's `/v1/files` first.
   */
  private async mediaUrl(media: NormalizedMedia, context: SubmitContext, api: string): Promise<string> {
    const url = await context.mediaUrl(media, { maxInlineBytes: MAX_INLINE_BYTES });
    if (media.kind !== "video" || !url.startsWith("data:")) return url;
    const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
    if (!match) return url;
    const form = new FormData();
    form.append("purpose", "video_reference");
    form.append(
      "file",
      new Blob([Buffer.from(match[2]!, "base64")], { type: match[1] }),
      `video${media.index}`,
    );
    let response: Response;
    try {
      response = await fetch(`${api}/files`, {
        method: "POST",
        headers: this.headers(context, false),
        body: form,
        signal: context.signal
          ? AbortSignal.any([context.signal, AbortSignal.timeout(UPLOAD_TIMEOUT_MS)])
          : AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
      });
    } catch (error) {
      // No task exists yet whatever happened to the upload.
      throw new ProviderError(
        "not_created",
        "upload_failed",
        `uploading video ${media.index}: ${(error as Error).message}`,
      );
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {}
    const uploaded = (json as { url?: unknown } | undefined)?.url;
    if (response.status === 200 && typeof uploaded === "string") return uploaded;
    const err = readError(json, text);
    throw new ProviderError(
      response.status >= 500 || response.status === 429 ? "not_created" : "rejected",
      err.code || "upload_failed",
      `the gateway refused video ${media.index}: ${err.message}`,
      { httpStatus: response.status },
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
        timeoutMs: STATUS_TIMEOUT_MS,
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
      timeoutMs: STATUS_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status === 404) {
      const err = readError(response.json, response.text);
      return {
        type: "failed",
        code: "upstream_not_found",
        message: `the upstream gateway no longer knows task ${upstreamId}: ${err.message}`,
        retryable: false,
      };
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
        timeoutMs: STATUS_TIMEOUT_MS,
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
      timeoutMs: STATUS_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status !== 200) throw submitError(response);
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
    if (!task.url)
      return {
        type: "failed",
        code: "upstream_no_output",
        message: "the upstream gateway reported success without a video URL",
        retryable: false,
      };
    return {
      type: "succeeded",
      videoUrl: task.url,
      lastFrameUrl: task.lastFrameUrl,
      usage: task.seconds !== undefined ? { seconds: task.seconds } : {},
    };
  }
  if (FAILED.has(status)) {
    // Carried through unchanged: a chain of gateways reports the code the last one saw.
    return {
      type: "failed",
      code: task.error?.code ?? "upstream_failed",
      message: task.error?.message || "the upstream gateway failed this task",
      retryable: false,
    };
  }
  if (CANCELLED.has(status))
    return {
      type: "failed",
      code: "cancelled",
      message: task.error?.message || "the task was cancelled at the upstream gateway",
      retryable: false,
    };
  if (EXPIRED.has(status))
    return {
      type: "failed",
      code: "expired",
      message: task.error?.message || "the upstream gateway expired this task",
      retryable: false,
    };
  return { type: "unknown", raw: task.status };
}

/** docs/api.md §1: 4xx is the request or the key, 429 and 5xx are "retry later". */
function submitError(response: UpstreamResponse): ProviderError {
  const { code, message, param } = readError(response.json, response.text);
  const status = response.status;
  const where = param ? ` (${param})` : "";
  if (status === 429)
    return new ProviderError(
      "not_created",
      code || "rate_limited",
      `the upstream gateway is rate limiting: ${message}`,
      {
        retryAfterMs: retryAfterMs(response.headers) ?? 2000,
        httpStatus: status,
      },
    );
  if (status === 401 || status === 403)
    return new ProviderError(
      "channel_broken",
      code || "upstream_auth",
      `the upstream gateway refused this channel's key: ${message}`,
      { httpStatus: status },
    );
  if (status === 404)
    return new ProviderError(
      "channel_broken",
      code || "upstream_model_not_found",
      `the upstream gateway does not serve this model: ${message}`,
      { httpStatus: status },
    );
  if (status >= 400 && status < 500)
    return new ProviderError("rejected", code || "upstream_rejected", `${message}${where}`, {
      httpStatus: status,
    });
  if (status === 504 && !response.json)
    return new ProviderError(
      "ambiguous",
      "upstream_timeout",
      "a proxy in front of the upstream gateway timed out (HTTP 504); the task may exist",
      { httpStatus: status },
    );
  return new ProviderError(
    "not_created",
    code || `upstream_${status}`,
    `the upstream gateway answered ${status}: ${message}`,
    {
      retryAfterMs: retryAfterMs(response.headers),
      httpStatus: status,
    },
  );
}
