import type { NormalizedRequest } from "../../domain/request.ts";
import { happyHorsePrompt, happyHorseTask, unsupportedInput } from "../happyhorse.ts";
import { callUpstream, QUERY_TIMEOUT_MS, type UpstreamResponse } from "../http.ts";
import { scaledSchedule } from "../poll-schedule.ts";
import { classifySubmitFailure, type SubmitFailureRules, sendCreate } from "../submit-failure.ts";
import type {
  CancelOutcome,
  ChannelContext,
  ProviderAdapter,
  RunFacts,
  SubmitContext,
  SubmittedTask,
  UpstreamCallback,
  UpstreamStatus,
} from "../types.ts";
import { failedStatus, moderatedStatus } from "../upstream-status.ts";
import { type FalUrls, falUrls } from "./urls.ts";
import {
  type CallbackRequest,
  DEFAULT_FAL_JWKS_URL,
  FalWebhookVerifier,
  type VerifierOptions,
} from "./webhook.ts";
import { FalErrorBody, FalStatus, FalSubmitted, FalVideoResult } from "./wire.ts";

/** fal takes data: URIs for file inputs; big ones belong on a public URL. */
const MAX_INLINE_BYTES = 10 * 1024 * 1024;
const TYPICAL_RUN_5S: Record<string, number> = { "720p": 75, "1080p": 110 };

/**
 * HappyHorse (and any other video app) on fal's queue (docs/providers.md §2.2, §4.1–4.2).
 *
 * The channel's base URL is the queue host, `https://queue.fal.run`; the model map gives the app
 * id (`alibaba/happy-horse/image-to-video`). Options ride in the base URL's query string:
 * - `jwks_url`: where fal publishes its webhook keys (default fal's own);
 * - `webhooks=off`: do not ask for webhooks;
 * - `request_timeout`: seconds a request may wait to start, sent as `X-Fal-Request-Timeout`.
 *
 * Status, result and cancel go to the URLs fal returned at submit (they name only owner/app, not
 * the app's path), kept as the task's `upstreamRef` (urls.ts).
 */
interface FalChannel {
  queue: string;
  jwksUrl: string;
  webhooks: boolean;
  requestTimeout?: string;
}

export class FalAdapter implements ProviderAdapter {
  readonly specificationVersion = "v1";
  readonly provider = "fal";
  readonly displayName = "fal";
  /** fal stops queued requests; a started one may accept the cancel and run on (docs/providers.md §4.1). */
  readonly cancelScope = "queued";
  readonly verifier: FalWebhookVerifier;

  constructor(
    private readonly options: {
      pollScale?: number;
      submitTimeoutMs?: number;
      webhook?: VerifierOptions;
    } = {},
  ) {
    this.verifier = new FalWebhookVerifier(options.webhook);
  }

  typicalRunMs(request: RunFacts): number {
    return (TYPICAL_RUN_5S[request.resolution] ?? 90) * Math.max(1, request.seconds / 5) * 1000;
  }

  pollSchedule(request: NormalizedRequest) {
    const typical = this.typicalRunMs(request);
    return scaledSchedule(
      { firstMs: typical * 0.5, intervalMs: Math.min(typical * 0.1, 10_000), maxIntervalMs: 30_000 },
      this.options.pollScale,
    );
  }

  channel(context: Pick<ChannelContext, "baseUrl">): FalChannel {
    const url = new URL(context.baseUrl);
    const query = new URLSearchParams(url.search);
    url.search = "";
    url.hash = "";
    const timeout = query.get("request_timeout");
    return {
      queue: url.toString().replace(/\/+$/, ""),
      jwksUrl: query.get("jwks_url") || DEFAULT_FAL_JWKS_URL,
      webhooks: query.get("webhooks") !== "off",
      requestTimeout: timeout && /^\d+(\.\d+)?$/.test(timeout) ? timeout : undefined,
    };
  }

  private headers(context: ChannelContext): Record<string, string> {
    return { authorization: `Key ${context.apiKey}`, "content-type": "application/json" };
  }

  /** The model input in fal's own naming (lower-case resolution, `image_url`, `aspect_ratio`). */
  private async input(request: NormalizedRequest, context: SubmitContext): Promise<Record<string, unknown>> {
    const task = happyHorseTask(request);
    unsupportedInput(request);
    const body: Record<string, unknown> = {};
    const prompt = happyHorsePrompt(request, task);
    if (prompt) body.prompt = prompt;
    const images: string[] = [];
    for (const media of request.content) {
      const url = await context.mediaUrl(media, { maxInlineBytes: MAX_INLINE_BYTES, lowerCaseFormat: true });
      if (media.kind === "video") body.video_url = url;
      else if (media.kind === "image" && task === "i2v" && media.role === "first_frame") body.image_url = url;
      else if (media.kind === "image") images.push(url);
    }
    if (images.length > 0) body.image_urls = images;
    body.resolution = request.resolution;
    if ((task === "t2v" || task === "r2v") && request.ratio !== "adaptive") body.aspect_ratio = request.ratio;
    if (task !== "edit") body.duration = Math.round(request.seconds);
    if (request.seed !== undefined && Number.isInteger(request.seed) && request.seed >= 0)
      body.seed = request.seed;
    return body;
  }

  async submit(request: NormalizedRequest, context: SubmitContext): Promise<SubmittedTask> {
    const ch = this.channel(context);
    const app = context.upstreamModel.replace(/^\/+|\/+$/g, "");
    let url = `${ch.queue}/${app}`;
    if (ch.webhooks && context.callbackUrl) url += `?fal_webhook=${encodeURIComponent(context.callbackUrl)}`;
    const headers = this.headers(context);
    // fal's request timeout is a deadline to start (docs/providers.md §4.1): the task's own deadline
    // bounds it; the channel's setting applies when it is shorter.
    const timeout = [ch.requestTimeout ? Number(ch.requestTimeout) : undefined, request.deadlineSeconds]
      .filter((s): s is number => s !== undefined && Number.isFinite(s))
      .sort((a, b) => a - b)[0];
    if (timeout !== undefined) headers["x-fal-request-timeout"] = String(timeout);
    const body = await this.input(request, context);
    return sendCreate(
      url,
      {
        headers,
        body,
        timeoutMs: this.options.submitTimeoutMs,
        signal: context.signal,
      },
      { name: this.displayName, rules: FAL_FAILURES, created },
    );
  }

  async status(upstreamId: string, context: ChannelContext, upstreamRef?: string): Promise<UpstreamStatus> {
    const urls = falUrls(upstreamId, upstreamRef);
    const response = await callUpstream(urls.statusUrl, {
      headers: this.headers(context),
      timeoutMs: QUERY_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status === 404)
      return failedStatus("upstream_not_found", `fal no longer knows request ${urls.requestId}`);
    if (response.status !== 200 && response.status !== 202)
      throw new Error(`fal status answered ${response.status}: ${response.text.slice(0, 200)}`);
    const parsed = FalStatus.safeParse(response.json);
    if (!parsed.success)
      throw new Error(`fal status answered an unexpected shape: ${response.text.slice(0, 200)}`);
    const status = parsed.data;
    switch (status.status.toUpperCase()) {
      case "IN_QUEUE":
        return { type: "queued" };
      case "IN_PROGRESS":
        return { type: "running" };
      case "CANCELLED":
      case "CANCELED":
        return cancelled();
      // A failed request also ends COMPLETED: the result (or the status's error fields) tells.
      case "COMPLETED":
      case "FAILED":
      case "ERROR":
        return this.result(urls, status, context);
      default:
        return { type: "unknown", raw: status.status };
    }
  }

  private async result(
    urls: FalUrls,
    status: { error?: string | null; error_type?: string | null },
    context: ChannelContext,
  ): Promise<UpstreamStatus> {
    const response = await callUpstream(urls.responseUrl, {
      headers: this.headers(context),
      timeoutMs: QUERY_TIMEOUT_MS,
      signal: context.signal,
    });
    if (response.status === 200) {
      const result = FalVideoResult.safeParse(response.json);
      if (result.success) return { type: "succeeded", videoUrl: result.data.video.url };
      return failedStatus(
        "upstream_no_output",
        `fal completed the request without a video: ${response.text.slice(0, 200)}`,
      );
    }
    return resultFailure(response, status);
  }

  /** Cancel a queued request: 202 CANCELLATION_REQUESTED; too late answers 400 ALREADY_COMPLETED. */
  async cancel(upstreamId: string, context: ChannelContext, upstreamRef?: string): Promise<CancelOutcome> {
    const urls = falUrls(upstreamId, upstreamRef);
    const response = await callUpstream(urls.cancelUrl, {
      method: "PUT",
      headers: this.headers(context),
      timeoutMs: QUERY_TIMEOUT_MS,
      signal: context.signal,
    });
    const state = String((response.json as { status?: unknown } | undefined)?.status ?? response.text).slice(
      0,
      100,
    );
    if (response.status === 400 && state === "ALREADY_COMPLETED")
      return { cancelled: false, reason: "fal has already completed this request" };
    if (response.status !== 200 && response.status !== 202)
      throw new Error(`fal answered the cancel of ${urls.requestId} with ${response.status} ${state}`);
    // CANCELLATION_REQUESTED is only a request: fal honours it for a queued request, while one that
    // has started may keep running (and be billed). Ask where it stands before claiming anything.
    const now = await this.status(upstreamId, context, upstreamRef);
    if (now.type === "running")
      return {
        cancelled: false,
        reason:
          "fal had already started this request; it accepted the cancel but does not stop started requests",
      };
    if (now.type === "succeeded")
      return { cancelled: false, reason: "fal has already completed this request" };
    return { cancelled: true };
  }

  /** Asks for the status of a request that cannot exist: 404 proves the key works, 401/403 that it does not. */
  async check(context: ChannelContext): Promise<void> {
    const ch = this.channel(context);
    const [owner, app] = context.upstreamModel.replace(/^\/+/, "").split("/");
    const response = await callUpstream(
      `${ch.queue}/${owner}/${app}/requests/00000000-0000-4000-8000-000000000000/status`,
      { headers: this.headers(context), timeoutMs: QUERY_TIMEOUT_MS, signal: context.signal },
    );
    if (response.status === 401 || response.status === 403 || response.status >= 500)
      throw classifySubmitFailure({ response }, this.displayName, FAL_FAILURES);
  }

  /** fal signs its webhooks: a callback counts only if its Ed25519 signature verifies against the JWKS. */
  async parseCallback(
    callback: UpstreamCallback,
    context: ChannelContext,
  ): Promise<{ upstreamId: string } | null> {
    const verdict = await this.verifyCallback(callback, context);
    return "refused" in verdict ? null : { upstreamId: verdict.requestId };
  }

  /** Verify a webhook (Ed25519 against the channel's JWKS, ±300 s) and name the request it is about. */
  async verifyCallback(
    request: CallbackRequest,
    context: Pick<ChannelContext, "baseUrl">,
  ): Promise<{ requestId: string; status?: string } | { refused: string }> {
    const verdict = await this.verifier.verify(request, this.channel(context).jwksUrl);
    if (!verdict.ok) return { refused: verdict.reason };
    const status = (verdict.body as { status?: unknown } | null)?.status;
    return { requestId: verdict.requestId, status: typeof status === "string" ? status : undefined };
  }
}

/** fal's submit answer: its request id, and the URLs to use for it as given (docs/providers.md §4.1). */
function created(json: unknown): SubmittedTask | undefined {
  const submitted = FalSubmitted.safeParse(json);
  if (!submitted.success) return undefined;
  const { request_id, response_url, status_url, cancel_url } = submitted.data;
  const urls = {
    response_url,
    status_url: status_url ?? `${response_url}/status`,
    cancel_url: cancel_url ?? `${response_url}/cancel`,
  };
  return { upstreamId: request_id, upstreamRef: JSON.stringify(urls) };
}

function cancelled(): UpstreamStatus {
  return failedStatus("cancelled", "the request was cancelled at fal");
}

/** A failed result fetch (docs/providers.md §4.1): 422 validation details, or a platform error type. */
function resultFailure(
  response: UpstreamResponse,
  status: { error?: string | null; error_type?: string | null },
): UpstreamStatus {
  const parsed = FalErrorBody.safeParse(response.json);
  const body = parsed.success ? parsed.data : {};
  const errorType =
    body.error_type ?? response.headers.get("x-fal-error-type") ?? status.error_type ?? undefined;
  const detail = body.detail;
  if (errorType && /cancel/i.test(errorType)) return cancelled();
  if (Array.isArray(detail)) {
    const types = detail.map((d) => d.type ?? "");
    const message = detail
      .map(
        (d) =>
          `${(d.loc ?? []).filter((p) => p !== "body").join(".") || "input"}: ${d.msg ?? d.type ?? "invalid"}`,
      )
      .join("; ");
    if (types.some((t) => /content_policy|moderation|nsfw|safety/i.test(t)))
      return moderatedStatus("", message);
    return failedStatus(types.find((t) => t) ?? "invalid_input", `fal refused the input: ${message}`);
  }
  const text = typeof detail === "string" ? detail : (status.error ?? response.text.slice(0, 300));
  if (response.status === 400 || response.status === 404) {
    // Not ready (yet) although the status said COMPLETED: ask again later unless fal told why.
    if (!status.error && !errorType)
      throw new Error(`fal result not available yet: ${response.status} ${text}`);
  }
  if (response.status === 401 || response.status === 403 || response.status === 429)
    throw new Error(`fal result answered ${response.status}: ${text}`);
  return failedStatus(
    errorType ?? `upstream_${response.status}`,
    `fal failed the request (${errorType ?? `HTTP ${response.status}`}): ${text}`,
    response.status >= 500,
  );
}

/**
 * fal's refusals (docs/providers.md §4.1): `{detail}` a message or validation entries, and an error
 * type (body or `X-Fal-Error-Type`) carried as the code. A 504 with that JSON is fal's own
 * `request_timeout` (the request never started), not a proxy's: nothing was made.
 */
const FAL_FAILURES: SubmitFailureRules = {
  readError(response: UpstreamResponse) {
    const parsed = FalErrorBody.safeParse(response.json);
    const detail = parsed.success ? parsed.data.detail : undefined;
    const message =
      typeof detail === "string"
        ? detail
        : Array.isArray(detail)
          ? detail.map((d) => `${(d.loc ?? []).join(".")}: ${d.msg ?? d.type}`).join("; ")
          : response.text.slice(0, 300);
    const errorType =
      (parsed.success ? parsed.data.error_type : undefined) ?? response.headers.get("x-fal-error-type");
    return { code: errorType ?? "", message };
  },
};
