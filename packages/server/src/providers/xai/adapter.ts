import type { ContentRole, NormalizedMedia, NormalizedRequest, Operation } from "../../domain/request.ts";
import { bearerJson, callUpstream, QUERY_TIMEOUT_MS, type UpstreamResponse } from "../http.ts";
import { scaledSchedule } from "../poll-schedule.ts";
import { classifySubmitFailure, type SubmitFailureRules, sendCreate } from "../submit-failure.ts";
import type { RunFacts } from "../types.ts";
import {
  type ChannelContext,
  type ProviderAdapter,
  ProviderError,
  type SubmitContext,
  type SubmittedTask,
  type UpstreamStatus,
} from "../types.ts";
import { failedStatus, moderatedStatus, noOutput } from "../upstream-status.ts";
import { XaiCreated, XaiError, XaiVideo } from "./wire.ts";

const MAX_INLINE_BYTES = 10 * 1024 * 1024;
/** No published run times; Grok Imagine clips come back in about a minute. */
const TYPICAL_RUN_MS = 60_000;
const CITATION = /(?<![\w.])@(image|video|audio)(\d+)/gi;
/** The 1.5 models (`grok-imagine-video-1.5`, `-1.5-preview`, `-1.5-lite`): docs/providers.md §3. */
const FIFTEEN = /^grok-imagine-video-1\.5(?:$|-)/;
/**
 * The inputs each call takes: a generation its frames (first, last, keyframes), an edit or an
 * extension its one source video. Anything else is refused rather than sent as something it is not.
 */
const ROLES: Record<Operation | "generate", ReadonlySet<ContentRole>> = {
  generate: new Set(["first_frame", "last_frame", "keyframe"]),
  edit: new Set(["source_video"]),
  extend: new Set(["source_video"]),
};

/**
 * xAI Grok Imagine video (docs/providers.md §3): `POST /v1/videos/generations` (and `/edits`,
 * `/extensions`) → `{request_id}`, `GET /v1/videos/{request_id}` → `pending | done | expired |
 * failed`. No cancel, no callbacks.
 * The channel's base URL is `https://api.x.ai` (a trailing `/v1` is accepted).
 */
export class XaiAdapter implements ProviderAdapter {
  readonly specificationVersion = "v1";
  readonly provider = "xai";
  readonly displayName = "xAI";

  constructor(private readonly options: { pollScale?: number; submitTimeoutMs?: number } = {}) {}

  typicalRunMs(request: RunFacts): number {
    return TYPICAL_RUN_MS * Math.max(0.5, request.seconds / 8);
  }

  pollSchedule(request: NormalizedRequest) {
    const typical = this.typicalRunMs(request);
    // The SDK polls every second; a gateway with many tasks can afford less.
    return scaledSchedule(
      { firstMs: typical * 0.4, intervalMs: 3000, maxIntervalMs: 15_000 },
      this.options.pollScale,
    );
  }

  private api(context: ChannelContext): string {
    const url = new URL(context.baseUrl);
    url.search = "";
    url.hash = "";
    return `${url.toString().replace(/\/+$/, "").replace(/\/v1$/, "")}/v1`;
  }

  private headers(context: ChannelContext): Record<string, string> {
    return bearerJson(context.apiKey);
  }

  async submit(request: NormalizedRequest, context: SubmitContext): Promise<SubmittedTask> {
    const refused = request.content.find((m) => !ROLES[request.operation ?? "generate"].has(m.role));
    if (refused)
      throw new ProviderError(
        "rejected",
        "unsupported_by_provider",
        `xAI takes no ${refused.role.replace(/_/g, " ")} input ${
          request.operation ? `on an ${request.operation}` : "here"
        } (metadata.content[${refused.position}])`,
      );
    if (request.operation) return this.submitOperation(request.operation, request, context);

    const fifteen = FIFTEEN.test(context.upstreamModel);
    const body: Record<string, unknown> = {
      model: context.upstreamModel,
      // xAI has no citation syntax: the images are the frames they are sent as.
      prompt: withoutCitations(request.prompt),
      duration: Math.round(request.seconds),
      resolution: request.resolution,
    };
    // "adaptive" is ours: xAI follows the image when no aspect ratio is sent.
    if (request.ratio !== "adaptive") body.aspect_ratio = request.ratio;
    const first = request.content.find((m) => m.role === "first_frame");
    if (first) body.image = { url: await this.url(first, context) };
    // docs/providers.md §3: the last frame and keyframes are 1.5 fields (the catalog only lets them
    // through on models that declare them).
    const last = request.content.find((m) => m.role === "last_frame");
    if (last) body.last_frame = { url: await this.url(last, context) };
    const keyframes = request.content
      .filter((m) => m.role === "keyframe")
      .sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
    if (keyframes.length > 0) {
      body.keyframes = [];
      for (const frame of keyframes) {
        if (frame.at === undefined)
          throw new ProviderError(
            "rejected",
            "unsupported_by_provider",
            `a keyframe needs its time in seconds (metadata.content[${frame.position}].at)`,
          );
        (body.keyframes as unknown[]).push({
          image: { url: await this.url(frame, context) },
          timestamp_s: frame.at,
        });
      }
    }
    // xAI's default is sound (docs/providers.md §3); the 1.5 models are told either way, the older
    // model only when the request wants silence (its catalog entry never does).
    if (fifteen || request.generateAudio === false) body.generate_audio = request.generateAudio;
    // The end user, as xAI asks for it: a hash the gateway made, never the account id.
    if (request.safetyIdentifier) body.user = request.safetyIdentifier;
    // No seed: it is not a documented field of xAI's create request (the catalog says so too).
    return this.create("generations", body, context);
  }

  /**
   * `POST /v1/videos/edits` `{model, prompt, video}` (no duration, ratio or resolution: the output
   * keeps the source's) and `POST /v1/videos/extensions` `{model, prompt, duration, video}` where
   * `duration` is the seconds added (docs/providers.md §3). Both answer `{request_id}` and are
   * polled like generations.
   */
  private async submitOperation(
    operation: Operation,
    request: NormalizedRequest,
    context: SubmitContext,
  ): Promise<SubmittedTask> {
    const source = request.content.find((m) => m.role === "source_video");
    if (!source)
      throw new ProviderError("rejected", "unsupported_by_provider", `an ${operation} needs a source video`);
    const body: Record<string, unknown> = {
      model: context.upstreamModel,
      prompt: withoutCitations(request.prompt),
    };
    if (operation === "extend") body.duration = Math.round(request.seconds);
    body.video = { url: await this.url(source, context) };
    return this.create(operation === "edit" ? "edits" : "extensions", body, context);
  }

  private url(media: NormalizedMedia, context: SubmitContext): Promise<string> {
    return context.mediaUrl(media, { maxInlineBytes: MAX_INLINE_BYTES, lowerCaseFormat: true });
  }

  private create(
    endpoint: "generations" | "edits" | "extensions",
    body: Record<string, unknown>,
    context: SubmitContext,
  ): Promise<SubmittedTask> {
    return sendCreate(
      `${this.api(context)}/videos/${endpoint}`,
      {
        headers: this.headers(context),
        body,
        timeoutMs: this.options.submitTimeoutMs,
        signal: context.signal,
      },
      { name: this.displayName, rules: XAI_FAILURES, created },
    );
  }

  async status(upstreamId: string, context: ChannelContext): Promise<UpstreamStatus> {
    const response = await callUpstream(`${this.api(context)}/videos/${encodeURIComponent(upstreamId)}`, {
      headers: this.headers(context),
      timeoutMs: QUERY_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status === 404)
      return failedStatus("upstream_not_found", `xAI no longer knows request ${upstreamId}`);
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
      timeoutMs: QUERY_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status !== 200) throw classifySubmitFailure({ response }, this.displayName, XAI_FAILURES);
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
      if (video.video?.respect_moderation === false)
        return failedStatus(
          "content_moderated",
          "the provider's content moderation blocked this video (respect_moderation: false)",
        );
      if (!url) return noOutput("xAI");
      const seconds = video.video?.duration ?? undefined;
      return { type: "succeeded", videoUrl: url, usage: seconds ? { seconds } : {} };
    }
    case "expired":
      return failedStatus("expired", "xAI expired this request before its result was collected");
    case "failed": {
      const error = video.error;
      const code = (typeof error === "object" && error?.code) || "upstream_failed";
      const message =
        (typeof error === "string" ? error : error?.message) || "xAI failed this video generation";
      if (MODERATION.test(`${code} ${message}`)) return moderatedStatus(code, message);
      return failedStatus(code, message);
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

function created(json: unknown): SubmittedTask | undefined {
  const parsed = XaiCreated.safeParse(json);
  return parsed.success ? { upstreamId: parsed.data.request_id } : undefined;
}

const MODERATION = /moderat|safety|policy|sensitive/i;

/** The prompt without `@image1`-style citations, which xAI does not read. */
function withoutCitations(prompt: string): string {
  return prompt
    .replace(CITATION, "")
    .replace(/[ \t]{2,}/g, " ")
    .trim();
}

/**
 * xAI's refusals (docs/providers.md §3). Its codes are gRPC status texts ("Client specified an
 * invalid argument"), so none is carried; a bad key is a 400 "Incorrect API key provided" (or a
 * message about credits or spending limits) rather than a 401, and moderation shows only in words.
 */
const XAI_FAILURES: SubmitFailureRules = {
  readError: (response) => ({ code: "", message: errorOf(response).message }),
  refine(byStatus, { response }) {
    const { code, message } = errorOf(response);
    if (/api[ -]?key|credits|spending limit|team .*blocked/i.test(message)) return "auth";
    if (byStatus === "rejected" && MODERATION.test(`${code} ${message}`)) return "moderated";
    return byStatus;
  },
};
