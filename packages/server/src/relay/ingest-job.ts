import { createWriteStream } from "node:fs";
import { mkdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { ProviderUsage } from "../billing/holds.ts";
import type { ChannelService } from "../channels/service.ts";
import type { ClaimedJob } from "../jobs/queue.ts";
import { Deferred, type JobContext, type JobHandler } from "../jobs/runner.ts";
import { demuxerOf, parseRate, probe } from "../media/ffmpeg.ts";
import { readMp4Info } from "../media/mp4-info.ts";
import type { AllowMatcher } from "../net/address-policy.ts";
import { OutboundRequestError } from "../net/outbound-error.ts";
import { safeFetch } from "../net/safe-fetch.ts";
import type { BlobStorage } from "../storage/storage.ts";
import { isStorageUnavailable } from "../storage/unavailable.ts";
import type { ChannelRow, TaskRow } from "../store/schema.ts";
import { videoColumn } from "../store/task-columns.ts";
import type { TaskLifecycle } from "../tasks/lifecycle.ts";
import { mediaKeys } from "../tasks/media.ts";
import type { TaskRepository } from "../tasks/repository.ts";
import { urlExpiresAt } from "./url-expiry.ts";

const MAX_VIDEO_BYTES = 2 * 1024 * 1024 * 1024;
/** Attempts spent on the job's own failures (a video that cannot be probed); passing trouble spends none. */
export const INGEST_ATTEMPTS = 5;
const URL_MARGIN_MS = 60_000;
const MIN_BACKOFF_MS = 2_000;
const MAX_BACKOFF_MS = 60_000;
/** What a presigned URL past its life (or a deleted object) answers. */
const GONE_STATUSES = new Set([403, 404, 410]);

/** The provider no longer serves its video: final. */
class ProviderVideoGone extends Error {}

/** The provider's host answered something other than the video. */
class DownloadTrouble extends Error {
  constructor(
    message: string,
    readonly passing: boolean,
  ) {
    super(message);
  }
}

/** Trouble that may pass: our storage away, the provider's host slow, failing or unreachable. */
function isPassingTrouble(error: unknown): boolean {
  if (isStorageUnavailable(error)) return true;
  if (error instanceof DownloadTrouble) return error.passing;
  if (error instanceof OutboundRequestError) {
    return ["timeout", "connection_failed", "dns_failure"].includes(error.reason);
  }
  // A download cut off half way (the connection reset while the body streamed).
  const code = (error as { code?: string } | undefined)?.code;
  return code === "ECONNRESET" || code === "ERR_STREAM_PREMATURE_CLOSE" || code === "EPIPE";
}

export interface IngestDeps {
  /** This process's scratch folder (see jobs/scratch.ts); the video waits here while it is probed. */
  workRoot: string;
  tasks: TaskRepository;
  lifecycle: TaskLifecycle;
  channels: ChannelService;
  storage: BlobStorage;
  allowPrivate: AllowMatcher;
}

/**
 * The `ingest` job: the provider finished, so copy its video (and last frame) into our storage,
 * read the MP4's facts, and only then succeed the task — with the usage the provider reported,
 * which billing settles on. I/O only: no process per task.
 */
export class IngestJob implements JobHandler {
  readonly concurrency = 16;

  constructor(private readonly deps: IngestDeps) {}

  /**
   * Copy the provider's video (and last frame) into our storage, probe it, then succeed the task.
   * Trouble that may pass — our storage away, the provider's CDN slow or answering 5xx, a dropped
   * connection — is retried with capped back-off, spending no attempt, for as long as the
   * provider's URL lives: the provider has finished (and billed), so giving up early loses a paid
   * video. A URL the provider no longer serves (403, 404, 410, or past its expiry) is final.
   */
  async handle(job: ClaimedJob, { signal, logger }: JobContext): Promise<void> {
    const { tasks } = this.deps;
    const payload = ingestPayload(job.payload);
    const task = await tasks.getById(job.taskId!);
    if (!task || task.status === "succeeded" || task.status === "failed") return;
    const now = Date.now();
    if (now >= payload.urlExpiresAt - URL_MARGIN_MS) {
      await this.fail(
        task.id,
        "provider_video_expired",
        "the provider's video URL expired before it could be copied",
      );
      return;
    }
    try {
      await this.copy(task, job, payload, signal);
    } catch (error) {
      if (error instanceof ProviderVideoGone) {
        await this.fail(task.id, "provider_video_gone", error.message);
        return;
      }
      if (!isPassingTrouble(error) || signal.aborted) throw error;
      // Back off with the time since the provider finished: a few seconds at first, a minute at most.
      const waitMs = Math.min(MAX_BACKOFF_MS, Math.max(MIN_BACKOFF_MS, (now - payload.handedAt) / 4));
      logger.warn(
        { err: error, retry_in_ms: Math.round(waitMs) },
        "ingest: trouble that may pass; trying again",
      );
      throw new Deferred(waitMs);
    }
  }

  private async fail(taskId: string, code: string, reason: string): Promise<void> {
    await this.deps.lifecycle.finish(taskId, "failed", {
      error_code: code,
      error_message: `the provider finished the video but it could not be copied: ${reason}`,
    });
  }

  private async copy(
    task: TaskRow,
    job: ClaimedJob,
    payload: IngestPayload,
    signal: AbortSignal,
  ): Promise<void> {
    const { storage, lifecycle, channels, workRoot } = this.deps;
    const channel = task.channel_id ? await channels.require(task.channel_id) : undefined;
    const allow = this.allowForChannel(channel);
    const workDir = join(workRoot, `ingest-${task.id}-${job.attempt}`);
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    try {
      const videoPath = join(workDir, "video.mp4");
      await this.download(payload.videoUrl, videoPath, allow, signal);
      const info = await videoFacts(videoPath, signal);
      let lastFrameKey: string | null = null;
      if (payload.lastFrameUrl) {
        const lastPath = join(workDir, "last.png");
        await this.download(payload.lastFrameUrl, lastPath, allow, signal);
        lastFrameKey = mediaKeys.lastFrame(task.id);
        await storage.putFile(lastFrameKey, lastPath, "image/png");
      }
      const bytes = (await stat(videoPath)).size;
      const outputKey = mediaKeys.video(task.id);
      await storage.putFile(outputKey, videoPath, "video/mp4");
      const finished = await lifecycle.finish(
        task.id,
        "succeeded",
        {
          output_key: outputKey,
          last_frame_key: lastFrameKey,
          video_json: videoColumn({
            width: info.width,
            height: info.height,
            duration: info.duration,
            fps: Math.round(info.fps * 100) / 100,
            has_audio: info.hasAudio,
            bytes,
          }),
        },
        payload.usage,
      );
      if (!finished) {
        await Promise.all([outputKey, lastFrameKey].map((k) => (k ? storage.delete(k) : undefined)));
      }
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  async exhausted(job: ClaimedJob, error: unknown): Promise<void> {
    await this.deps.lifecycle.finish(job.taskId!, "failed", {
      error_code: "ingest_failed",
      error_message: `the provider finished the video but it could not be copied: ${error instanceof Error ? error.message : error}`,
    });
  }

  /** Output URLs are fetched through the SSRF guard; the channel's own host is trusted (the operator set it). */
  private allowForChannel(channel: ChannelRow | undefined): AllowMatcher {
    const base = this.deps.allowPrivate;
    if (!channel) return base;
    const host = new URL(channel.base_url).hostname.replace(/^\[|\]$/g, "").toLowerCase();
    return {
      allowsAll: base.allowsAll,
      entries: [...base.entries, host],
      allows: (target) => base.allows(target) || target.hostname === host,
    };
  }

  private async download(url: string, path: string, allow: AllowMatcher, signal: AbortSignal): Promise<void> {
    const response = await safeFetch(url, {
      timeoutMs: 10 * 60_000,
      maxBytes: MAX_VIDEO_BYTES,
      allow,
      signal,
    });
    if (response.status !== 200) {
      // Discard the body; a later abort must not surface as an unhandled stream error.
      response.body.on("error", () => {});
      response.body.destroy();
      const message = `downloading the provider's output answered HTTP ${response.status}`;
      if (GONE_STATUSES.has(response.status))
        throw new ProviderVideoGone(`${message} (the URL no longer serves it)`);
      throw new DownloadTrouble(message, response.status >= 500 || response.status === 429);
    }
    await pipeline(response.body, createWriteStream(path), { signal });
  }
}

/** Probe the ingested file: the MP4 box reader first (no process), ffprobe for anything else. */
async function videoFacts(path: string, signal: AbortSignal) {
  try {
    return await readMp4Info(path);
  } catch {
    const probed = await probe(path, signal, { demuxer: await demuxerOf(path) });
    const video = probed.streams.find((s) => s.codec_type === "video");
    if (!video) throw new Error("the provider's file has no video stream");
    return {
      width: video.width ?? 0,
      height: video.height ?? 0,
      duration: Number(probed.format.duration ?? 0),
      fps: parseRate(video.avg_frame_rate),
      hasAudio: probed.streams.some((s) => s.codec_type === "audio"),
    };
  }
}

/** What the poller handed the ingest job: where the video is, and what the provider said it used. */
interface IngestPayload {
  videoUrl: string;
  lastFrameUrl?: string;
  usage?: ProviderUsage;
  /** Unix ms after which the provider's URL no longer works (url-expiry.ts). */
  urlExpiresAt: number;
  /** When the poller handed the task over (the back-off grows with the time since). */
  handedAt: number;
}

/** The job payload as the poller stored it (JSON from the store: anything may be there). */
function ingestPayload(payload: Record<string, unknown>): IngestPayload {
  const videoUrl = String(payload.videoUrl);
  // Jobs enqueued by an earlier version carry neither time: assume the shortest URL lifetime.
  const handedAt = typeof payload.handedAt === "number" ? payload.handedAt : Date.now();
  return {
    videoUrl,
    lastFrameUrl: typeof payload.lastFrameUrl === "string" ? payload.lastFrameUrl : undefined,
    usage: providerUsage(payload.usage),
    urlExpiresAt:
      typeof payload.urlExpiresAt === "number" ? payload.urlExpiresAt : urlExpiresAt(videoUrl, handedAt),
    handedAt,
  };
}

function providerUsage(value: unknown): ProviderUsage | undefined {
  if (!value || typeof value !== "object") return undefined;
  const { tokens, seconds } = value as Record<string, unknown>;
  const usage: ProviderUsage = {};
  if (typeof tokens === "number" && Number.isFinite(tokens) && tokens > 0) usage.tokens = tokens;
  if (typeof seconds === "number" && Number.isFinite(seconds) && seconds > 0) usage.seconds = seconds;
  return usage.tokens === undefined && usage.seconds === undefined ? undefined : usage;
}
