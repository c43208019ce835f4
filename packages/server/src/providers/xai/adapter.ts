import type { NormalizedRequest } from "../../domain/request.ts";
import { callUpstream, retryAfterMs, submitUpstream, type UpstreamResponse } from "../http.ts";
import {
  type ChannelContext,
  type ProviderAdapter,
  ProviderError,
  type SubmitContext,
  type UpstreamStatus,
} from "../types.ts";
import { XaiCreated, XaiError, XaiVideo } from "./wire.ts";

const SUBMIT_TIMEOUT_MS = 30_000;
const STATUS_TIMEOUT_MS = 15_000;
const MAX_INLINE_BYTES = 10 * 1024 * 1024;
/** No published run times; Grok Imagine clips come back in about a minute. */
const TYPICAL_RUN_MS = 60_000;
const CITATION = /(?<![\w.])@(image|video|audio)(\d+)/gi;

/**
 * xAI Grok Imagine video (docs/providers.md §3): `POST /v1/videos/generations` → `{request_id}`,
 * `GET /v1/videos/{request_id}` → `pending | done | expired | failed`. No cancel, no callbacks.
 * The channel's base URL is `https://api.x.ai` (a trailing `/v1` is accepted).
 */
export class XaiAdapter implements ProviderAdapter {
  readonly provider = "xai";

  constructor(private readonly options: { pollScale?: number; submitTimeoutMs?: number } = {}) {}

  pollSchedule(request: NormalizedRequest) {
    const typical = TYPICAL_RUN_MS * Math.max(0.5, request.seconds / 8);
    const scale = this.options.pollScale ?? 1;
    return {
      firstMs: Math.max(20, typical * 0.4 * scale),
      // The SDK polls every second; a gateway with many tasks can afford less.
      intervalMs: Math.max(20, 3000 * scale),
      maxIntervalMs: Math.max(50, 15_000 * scale),
    };
  }

  private api(context: ChannelContext): string {
    const url = new URL(context.baseUrl);
    url.search = "";
    url.hash = "";
    return `${url.toString().replace(/\/+$/, "").replace(/\/v1$/, "")}/v1`;
  }

  private headers(context: ChannelContext): Record<string, string> {
    return { authorization: `Bearer ${context.apiKey}`, "content-type": "application/json" };
  }

  async submit(request: NormalizedRequest, context: SubmitContext): Promise<{ upstreamId: string }> {
    const body: Record<string, unknown> = {
      model: context.upstreamModel,
      // xAI has no citation syntax: the one image is the first frame.
      prompt: request.prompt
        .replace(CITATION, "")
        .replace(/[ \t]{2,}/g, " ")
        .trim(),
      duration: Math.round(request.seconds),
      resolution: request.resolution,
    };
    // "adaptive" is ours: xAI follows the image when no aspect ratio is sent.
    if (request.ratio !== "adaptive") body.aspect_ratio = request.ratio;
    const first = request.content.find((m) => m.kind === "image");
    if (first) {
      body.image = {
        url: await context.mediaUrl(first, { maxInlineBytes: MAX_INLINE_BYTES, lowerCaseFormat: true }),
      };
    }
    // No seed: it is not a documented field of xAI's create request (the catalog says so too).

    const response = await submitUpstream(`${this.api(context)}/videos/generations`, {
      method: "POST",
      headers: this.headers(context),
      body: JSON.stringify(body),
      timeoutMs: this.options.submitTimeoutMs ?? SUBMIT_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status === 200 || response.status === 201 || response.status === 202) {
      const created = XaiCreated.safeParse(response.json);
      if (created.success) return { upstreamId: created.data.request_id };
      throw new ProviderError(
        "ambiguous",
        "upstream_bad_response",
        `xAI answered ${response.status} without a request id: ${response.text.slice(0, 200)}`,
      );
    }
    throw submitError(response);
  }

  async status(upstreamId: string, context: ChannelContext): Promise<UpstreamStatus> {
    const response = await callUpstream(`${this.api(context)}/videos/${encodeURIComponent(upstreamId)}`, {
      headers: this.headers(context),
      timeoutMs: STATUS_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status === 404) {
      return {
        type: "failed",
        code: "upstream_not_found",
        message: `xAI no longer knows request ${upstreamId}`,
        retryable: false,
      };
    }
    // Deferred results answer 202 while pending on some xAI endpoints; both carry the same body.
    if (response.status !== 200 && response.status !== 202)
      throw new Error(`xAI status answered ${response.status}: ${response.text.slice(0, 200)}`);
    if (response.status === 202 && !response.json) return { type: "queued" };
    const parsed = XaiVideo.safeParse(response.json);
    if (!parsed.success) throw new Error(`xAI answered an unexpected shape: ${response.text.slice(0, 200)}`);
    return mapStatus(parsed.data);
  }

  async check(context: ChannelContext): Promise<void> {
    const response = await callUpstream(`${this.api(context)}/models`, {
      headers: this.headers(context),
      timeoutMs: STATUS_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status !== 200) throw submitError(response);
  }
}

/** docs/providers.md §6: `pending` is queued until progress moves; `done` needs respect_moderation true. */
export function mapStatus(video: XaiVideo): UpstreamStatus {
  switch (video.status.toLowerCase()) {
    case "pending": {
      const progress = video.progress ?? 0;
      return progress > 0 ? { type: "running", progress } : { type: "queued" };
    }
    case "done": {
      const url = video.video?.url;
      if (video.video?.respect_moderation === false) {
        return {
          type: "failed",
          code: "content_moderated",
          message: "the provider's content moderation blocked this video (respect_moderation: false)",
          retryable: false,
        };
      }
      if (!url)
        return {
          type: "failed",
          code: "upstream_no_output",
          message: "xAI reported the video done without a URL",
          retryable: false,
        };
      const seconds = video.video?.duration ?? undefined;
      return { type: "succeeded", videoUrl: url, usage: seconds ? { seconds } : {} };
    }
    case "expired":
      return {
        type: "failed",
        code: "expired",
        message: "xAI expired this request before its result was collected",
        retryable: false,
      };
    case "failed": {
      const error = video.error;
      const code = (typeof error === "object" && error?.code) || "upstream_failed";
      const message =
        (typeof error === "string" ? error : error?.message) || "xAI failed this video generation";
      if (/moderat|safety|policy|sensitive/i.test(`${code} ${message}`)) {
        return {
          type: "failed",
          code: "content_moderated",
          message: `the provider's content moderation refused this task (${code}): ${message}`,
          retryable: false,
        };
      }
      return { type: "failed", code, message, retryable: false };
    }
    default:
      return { type: "unknown", raw: video.status };
  }
}

function errorOf(response: UpstreamResponse): { code: string; message: string } {
  const parsed = XaiError.safeParse(response.json);
  if (!parsed.success) return { code: "", message: response.text.slice(0, 300) };
  const { code, error } = parsed.data;
  if (typeof error === "object")
    return { code: error.code ?? String(code ?? ""), message: error.message ?? response.text.slice(0, 300) };
  return { code: String(code ?? ""), message: error ?? response.text.slice(0, 300) };
}

/** Map xAI's refusals to what the gateway may do next. */
function submitError(response: UpstreamResponse): ProviderError {
  const { code, message } = errorOf(response);
  const status = response.status;
  // xAI answers a bad key with 400 "Incorrect API key provided", not 401: that is the channel, not the request.
  if (
    status === 401 ||
    status === 403 ||
    /api[ -]?key|credits|spending limit|team .*blocked/i.test(message)
  ) {
    return new ProviderError(
      "channel_broken",
      "upstream_auth",
      `xAI refused this channel's key: ${message}`,
      {
        httpStatus: status,
      },
    );
  }
  if (status === 429)
    return new ProviderError("not_created", "rate_limited", `xAI rate limit: ${message}`, {
      retryAfterMs: retryAfterMs(response.headers) ?? 2000,
      httpStatus: status,
    });
  if (status === 404)
    return new ProviderError(
      "channel_broken",
      "upstream_model_not_found",
      `xAI does not serve this model: ${message}`,
      {
        httpStatus: status,
      },
    );
  if (status >= 400 && status < 500) {
    const moderated = /moderat|safety|policy|sensitive/i.test(`${code} ${message}`);
    return new ProviderError(
      "rejected",
      moderated ? "content_moderated" : "upstream_rejected",
      moderated
        ? `the provider's content moderation refused this task: ${message}`
        : `xAI refused the request: ${message}`,
      { httpStatus: status },
    );
  }
  if (status === 504 && !response.json)
    return new ProviderError(
      "ambiguous",
      "upstream_timeout",
      "xAI's gateway timed out (HTTP 504); the video may exist",
      {
        httpStatus: status,
      },
    );
  return new ProviderError("not_created", `upstream_${status}`, `xAI answered ${status}: ${message}`, {
    retryAfterMs: retryAfterMs(response.headers),
    httpStatus: status,
  });
}
