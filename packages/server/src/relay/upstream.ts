import { createWriteStream } from "node:fs";
import { mkdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { CircuitBreaker } from "../channels/breaker.ts";
import type { ChannelService } from "../channels/service.ts";
import { TokenBucket } from "../channels/token-bucket.ts";
import type { Config } from "../config.ts";
import type { NormalizedMedia, NormalizedRequest } from "../domain/request.ts";
import type { FileService } from "../files/service.ts";
import type { ClaimedJob, JobQueue } from "../jobs/queue.ts";
import { Deferred, RetryLater } from "../jobs/runner.ts";
import { parseRate, probe } from "../media/ffmpeg.ts";
import { readMp4Info } from "../media/mp4-info.ts";
import type { AllowMatcher } from "../net/address-policy.ts";
import { originIsPublic } from "../net/public-origin.ts";
import { safeFetch } from "../net/safe-fetch.ts";
import type { Metrics } from "../ops/metrics.ts";
import { ProviderError, type UpstreamCallback, type UpstreamStatus } from "../providers/types.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { ChannelRow, Database, TaskRow } from "../store/schema.ts";
import type { TaskEvents } from "../tasks/events.ts";
import type { TaskRepository } from "../tasks/repository.ts";
import type { TaskService } from "../tasks/service.ts";
import { randomAlphanumeric } from "../util/ids.ts";

const POLL_TICK_MS = 250;
const POLL_LEASE_MS = 30_000;
const POLL_BATCH = 500;
const PER_CHANNEL_PARALLEL_STATUS = 8;
const MAX_VIDEO_BYTES = 2 * 1024 * 1024 * 1024;

export interface UpstreamDeps {
  config: Config;
  db: Kysely<Database>;
  channels: ChannelService;
  breaker: CircuitBreaker;
  taskRepo: TaskRepository;
  tasks: TaskService;
  files: FileService;
  storage: BlobStorage;
  queue: JobQueue;
  events: TaskEvents;
  metrics: Metrics;
  allowPrivate: AllowMatcher;
  logger: Logger;
}

/**
 * Relaying to upstream providers: dispatch (choose a channel, submit once), poll (batched, paced
 * by each provider's typical run time, leased so several processes share the work), and ingest
 * (copy the video into our storage before the task succeeds). Shared code never special-cases a
 * provider: everything provider-specific is behind `ProviderAdapter`.
 */
export class UpstreamService {
  private pollTimer: NodeJS.Timeout | undefined;
  private polling = false;
  private pollAgain = false;
  private stopped = true;
  private readonly owner = `poller-${randomAlphanumeric(10)}`;
  /** Per-channel query budgets, shared by every poll of this process. */
  private readonly budgets = new Map<string, TokenBucket>();

  private budget(channelId: string): TokenBucket {
    let bucket = this.budgets.get(channelId);
    if (!bucket) {
      bucket = new TokenBucket(this.deps.config.upstreamQueryRps);
      this.budgets.set(channelId, bucket);
    }
    return bucket;
  }

  constructor(private readonly deps: UpstreamDeps) {}

  // --- routing -------------------------------------------------------------------------------

  /**
   * Which provider serves a model for a key: an upstream channel, or the local engine (always for
   * test-mode keys). Undefined when nothing may serve it.
   */
  async plan(model: string, testMode: boolean): Promise<{ provider: string; upstream: boolean } | undefined> {
    if (testMode) return { provider: "local", upstream: false };
    const serving = await this.deps.channels.servingModel(model);
    if (serving.length > 0) {
      const top = [...serving].sort((a, b) => b.priority - a.priority)[0]!;
      return { provider: top.provider, upstream: true };
    }
    const mode = this.deps.config.localEngine;
    if (mode === "all") return { provider: "local", upstream: false };
    if (mode === "auto" && (await this.deps.channels.enabled()).length === 0)
      return { provider: "local", upstream: false };
    return undefined;
  }

  /** The providers serving each model for a key (for GET /v1/models); models absent are unavailable. */
  async availableModels(models: string[], testMode: boolean): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (testMode) {
      for (const model of models) out.set(model, ["local"]);
      return out;
    }
    const enabled = await this.deps.channels.enabled();
    for (const channel of enabled) {
      for (const model of Object.keys(JSON.parse(channel.models_json) as Record<string, string>)) {
        const list = out.get(model) ?? [];
        if (!list.includes(channel.provider)) list.push(channel.provider);
        out.set(model, list);
      }
    }
    const mode = this.deps.config.localEngine;
    if (mode === "all" || (mode === "auto" && enabled.length === 0)) {
      for (const model of models) if (!out.has(model)) out.set(model, ["local"]);
    }
    return out;
  }

  /** Candidate channels in the order to try: priority tiers, weighted random within a tier. */
  private async candidates(model: string): Promise<ChannelRow[]> {
    const serving = await this.deps.channels.servingModel(model);
    const keyed = serving.map((c) => ({ c, key: Math.random() ** (1 / Math.max(1, c.weight)) }));
    keyed.sort((a, b) => b.c.priority - a.c.priority || b.key - a.key);
    return keyed.map((k) => k.c);
  }

  // --- dispatch ------------------------------------------------------------------------------

  async dispatch(job: ClaimedJob, signal: AbortSignal): Promise<void> {
    const { taskRepo, channels, breaker, tasks, db, logger } = this.deps;
    const task = await taskRepo.getById(job.taskId!);
    if (!task || task.status === "succeeded" || task.status === "failed" || task.upstream_id) return;
    if (task.channel_id) {
      // A previous attempt reserved a channel and may have sent the request before the process
      // died: we cannot know whether the provider created a (paid) task, so we never resubmit.
      await tasks.finish(task.id, "failed", {
        error_code: "upstream_unknown",
        error_message:
          "the gateway stopped while submitting this task to the provider; it was not resubmitted to avoid a duplicate paid task",
      });
      return;
    }
    const request = JSON.parse(task.request_json) as NormalizedRequest;
    const candidates = await this.candidates(task.model);
    if (candidates.length === 0) {
      await tasks.finish(task.id, "failed", {
        error_code: "no_channel",
        error_message: `no enabled upstream channel serves ${task.model} any more`,
      });
      return;
    }
    let allFull = true;
    let waitMs = 1000;
    const errors: string[] = [];
    for (const channel of candidates) {
      if (breaker.isOpen(channel.id)) {
        errors.push(`${channel.name}: cooling down after failures`);
        allFull = false;
        continue;
      }
      const reserved = await db.transaction().execute(async (trx) => {
        if (!(await channels.reserveSlot(trx, channel.id))) return false;
        await trx
          .updateTable("tasks")
          .set({ channel_id: channel.id, provider: channel.provider, updated_at: Date.now() })
          .where("id", "=", task.id)
          .where("status", "=", "submitted")
          .execute();
        return true;
      });
      if (!reserved) continue; // at its concurrency cap
      allFull = false;
      const adapter = channels.adapterFor(channel);
      const context = channels.context(channel, task.model, signal);
      try {
        this.deps.metrics.upstreamRequests.inc({ channel: channel.name, op: "submit" });
        const { upstreamId, upstreamRef } = await adapter.submit(request, {
          ...context,
          callbackUrl: `${this.deps.config.publicUrl}/hooks/upstream/${channel.id}/${channel.callback_token}`,
          mediaUrl: (media, options) => this.mediaUrl(media, options),
        });
        breaker.success(channel.id);
        const schedule = adapter.pollSchedule(request);
        await db
          .updateTable("tasks")
          .set({
            upstream_id: upstreamId,
            upstream_ref: upstreamRef ?? null,
            upstream_status: "queued",
            next_poll_at: Date.now() + schedule.firstMs,
            updated_at: Date.now(),
          })
          .where("id", "=", task.id)
          .execute();
        logger.info(
          { task_id: task.id, channel: channel.name, upstream_id: upstreamId },
          "submitted upstream",
        );
        this.wakePoller();
        return;
      } catch (error) {
        const failure =
          error instanceof ProviderError
            ? error
            : new ProviderError(
                "ambiguous",
                "adapter_error",
                error instanceof Error ? error.message : String(error),
              );
        if (failure.kind === "rejected" || failure.kind === "ambiguous") {
          // A rejected request fails on every channel alike; an ambiguous one may exist upstream.
          await tasks.finish(task.id, "failed", {
            error_code: failure.kind === "ambiguous" ? "upstream_timeout" : failure.code,
            error_message:
              failure.kind === "ambiguous"
                ? `the provider did not answer the submit clearly (${failure.message}); not resubmitted to avoid a duplicate paid task`
                : failure.message,
          });
          return;
        }
        await db.transaction().execute(async (trx) => {
          // Give the slot back only if the task still holds it (a cancel meanwhile released it).
          const undone = await trx
            .updateTable("tasks")
            .set({ channel_id: null })
            .where("id", "=", task.id)
            .where("channel_id", "=", channel.id)
            .where("status", "in", ["submitted", "running"])
            .executeTakeFirst();
          if (Number(undone.numUpdatedRows) > 0) await channels.releaseSlot(trx, channel.id);
        });
        if (failure.kind === "channel_broken") breaker.trip(channel.id);
        else if (failure.kind === "not_created") breaker.failure(channel.id);
        if (failure.options.retryAfterMs) waitMs = Math.max(waitMs, failure.options.retryAfterMs);
        errors.push(`${channel.name}: ${failure.message}`);
        logger.warn(
          { task_id: task.id, channel: channel.name, kind: failure.kind, code: failure.code },
          "upstream submit failed",
        );
      }
    }
    if (allFull) throw new Deferred(500); // every channel is at its cap: wait in the queue, not an error
    throw new RetryLater(`no channel accepted the task: ${errors.join("; ")}`, waitMs);
  }

  /** Used when dispatch keeps failing on every channel. */
  async dispatchExhausted(job: ClaimedJob, error: unknown): Promise<void> {
    await this.deps.tasks.finish(job.taskId!, "failed", {
      error_code: "upstream_unavailable",
      error_message: `no upstream channel could take this task: ${error instanceof Error ? error.message : error}`,
    });
  }

  /** A URL the provider can fetch for a media entry: our public URL, or inline base64. */
  private async mediaUrl(
    media: NormalizedMedia,
    options: { maxInlineBytes: number; lowerCaseFormat?: boolean },
  ) {
    if (!media.fileToken) return media.url;
    const file = await this.deps.files.byToken(media.fileToken);
    if (!file)
      throw new ProviderError(
        "rejected",
        "media_expired",
        `${media.kind} ${media.index} expired before it was sent`,
      );
    if (originIsPublic(this.deps.config.publicUrl)) return this.deps.files.urlOf(file);
    if (file.bytes > options.maxInlineBytes) {
      throw new ProviderError(
        "rejected",
        "media_not_reachable",
        `${media.kind} ${media.index} is too large to send inline (${file.bytes} bytes); set VIDRELAY_PUBLIC_URL to a public origin so the provider can fetch it`,
      );
    }
    const local = this.deps.storage.localPath(file.storage_key);
    const bytes = local
      ? await readFile(local)
      : await streamToBuffer(await this.deps.storage.read(file.storage_key));
    const mime = options.lowerCaseFormat ? file.content_type.toLowerCase() : file.content_type;
    return `data:${mime};base64,${bytes.toString("base64")}`;
  }

  // --- polling -------------------------------------------------------------------------------

  startPoller(): void {
    this.stopped = false;
    this.wakePoller();
  }

  stopPoller(): void {
    this.stopped = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
  }

  wakePoller(): void {
    if (this.stopped) return;
    if (this.polling) {
      this.pollAgain = true;
      return;
    }
    void this.pollLoop();
  }

  private async pollLoop(): Promise<void> {
    this.polling = true;
    if (this.pollTimer) clearTimeout(this.pollTimer);
    try {
      do {
        this.pollAgain = false;
        const n = await this.pollOnce();
        if (n >= POLL_BATCH) this.pollAgain = true;
      } while (this.pollAgain && !this.stopped);
    } catch (error) {
      this.deps.logger.error({ err: error }, "poll round failed");
    } finally {
      this.polling = false;
      if (!this.stopped) this.pollTimer = setTimeout(() => this.wakePoller(), POLL_TICK_MS);
    }
  }

  /** One round: lease due tasks, query their providers (batched where possible), apply results. */
  async pollOnce(): Promise<number> {
    const { db } = this.deps;
    const now = Date.now();
    const due = await db
      .selectFrom("tasks")
      .select(["id"])
      .where("upstream_id", "is not", null)
      .where("status", "in", ["submitted", "running"])
      .where("next_poll_at", "<=", now)
      .where((eb) => eb.or([eb("poll_lease_until", "is", null), eb("poll_lease_until", "<", now)]))
      .orderBy("next_poll_at")
      .limit(POLL_BATCH)
      .execute();
    if (due.length === 0) return 0;
    const claimed: TaskRow[] = [];
    for (const { id } of due) {
      const result = await db
        .updateTable("tasks")
        .set({ poll_owner: this.owner, poll_lease_until: now + POLL_LEASE_MS })
        .where("id", "=", id)
        .where("next_poll_at", "<=", now)
        .where((eb) => eb.or([eb("poll_lease_until", "is", null), eb("poll_lease_until", "<", now)]))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) > 0) {
        const row = await this.deps.taskRepo.getById(id);
        if (row) claimed.push(row);
      }
    }
    const byChannel = new Map<string, TaskRow[]>();
    for (const task of claimed) {
      const list = byChannel.get(task.channel_id!) ?? [];
      list.push(task);
      byChannel.set(task.channel_id!, list);
    }
    await Promise.all([...byChannel.entries()].map(([channelId, list]) => this.pollChannel(channelId, list)));
    return claimed.length;
  }

  private async pollChannel(channelId: string, list: TaskRow[]): Promise<void> {
    const { channels, metrics, logger } = this.deps;
    let channel: ChannelRow;
    try {
      channel = await channels.require(channelId);
    } catch {
      for (const task of list) await this.reschedule(task, 60_000);
      return;
    }
    const adapter = channels.adapterFor(channel);
    const context = channels.context(channel, list[0]!.model);
    const results = new Map<string, UpstreamStatus>();
    try {
      if (adapter.statusMany && list.length > 1) {
        metrics.upstreamRequests.inc(
          { channel: channel.name, op: "status_many" },
          Math.ceil(list.length / 100),
        );
        const many = await adapter.statusMany(
          list.map((t) => t.upstream_id!),
          context,
        );
        for (const [id, status] of many) results.set(id, status);
      }
      const missing = list.filter((t) => !results.has(t.upstream_id!));
      for (let i = 0; i < missing.length; i += PER_CHANNEL_PARALLEL_STATUS) {
        await Promise.all(
          missing.slice(i, i + PER_CHANNEL_PARALLEL_STATUS).map(async (task) => {
            await this.budget(channel.id).take();
            metrics.upstreamRequests.inc({ channel: channel.name, op: "status" });
            try {
              results.set(
                task.upstream_id!,
                await adapter.status(task.upstream_id!, context, task.upstream_ref ?? undefined),
              );
            } catch (error) {
              logger.warn({ err: error, task_id: task.id }, "upstream status query failed");
            }
          }),
        );
      }
    } catch (error) {
      logger.warn({ err: error, channel: channel.name }, "upstream batch status query failed");
    }
    for (const task of list) {
      const status = results.get(task.upstream_id!);
      if (!status) await this.reschedule(task, 5000);
      else await this.apply(task, status);
    }
  }

  private async reschedule(task: TaskRow, delayMs: number, patch: Partial<TaskRow> = {}): Promise<void> {
    await this.deps.db
      .updateTable("tasks")
      .set({
        ...patch,
        next_poll_at: Date.now() + delayMs,
        poll_lease_until: null,
        poll_owner: null,
        poll_count: task.poll_count + 1,
        updated_at: Date.now(),
      })
      .where("id", "=", task.id)
      .where("status", "in", ["submitted", "running"])
      .execute();
  }

  private async apply(task: TaskRow, status: UpstreamStatus): Promise<void> {
    const { channels, events, metrics, logger, tasks, queue } = this.deps;
    const channel = await channels.require(task.channel_id!);
    const adapter = channels.adapterFor(channel);
    const request = JSON.parse(task.request_json) as NormalizedRequest;
    const schedule = adapter.pollSchedule(request);
    const interval = Math.min(
      schedule.intervalMs * 1.5 ** Math.min(task.poll_count, 10),
      schedule.maxIntervalMs,
    );
    switch (status.type) {
      case "queued":
        await this.reschedule(task, interval, { upstream_status: "queued" });
        return;
      case "running": {
        const progress = status.progress ?? estimateProgress(task, schedule);
        await this.reschedule(task, interval, {
          upstream_status: "running",
          status: "running",
          started_at: task.started_at ?? Date.now(),
          progress: Math.max(task.progress, Math.min(95, Math.round(progress))),
        });
        if (task.status !== "running" || task.progress !== progress) events.changed(task.id);
        return;
      }
      case "unknown":
        metrics.upstreamUnknownStatus.inc({ provider: channel.provider, status: status.raw.slice(0, 40) });
        logger.warn(
          { task_id: task.id, upstream_status: status.raw },
          "unknown upstream status; still polling",
        );
        await this.reschedule(task, interval, { upstream_status: `unknown:${status.raw}`.slice(0, 64) });
        return;
      case "failed":
        await tasks.finish(task.id, "failed", { error_code: status.code, error_message: status.message });
        return;
      case "succeeded": {
        // Stop polling and hand over to ingest in one step, so exactly one ingest job exists.
        const handed = await this.deps.db.transaction().execute(async (trx) => {
          const result = await trx
            .updateTable("tasks")
            .set({
              upstream_status: "succeeded",
              status: "running",
              started_at: task.started_at ?? Date.now(),
              progress: Math.max(task.progress, 95),
              next_poll_at: null,
              poll_lease_until: null,
              updated_at: Date.now(),
            })
            .where("id", "=", task.id)
            .where("status", "in", ["submitted", "running"])
            .where((eb) =>
              eb.or([eb("upstream_status", "is", null), eb("upstream_status", "!=", "succeeded")]),
            )
            .executeTakeFirst();
          if (Number(result.numUpdatedRows) === 0) return false;
          await queue.enqueue(
            {
              kind: "ingest",
              taskId: task.id,
              payload: {
                videoUrl: status.videoUrl,
                lastFrameUrl: status.lastFrameUrl ?? null,
                usage: status.usage ?? null,
              },
              maxAttempts: 5,
            },
            trx,
          );
          return true;
        });
        if (handed) {
          queue.poke();
          events.changed(task.id);
        }
        return;
      }
    }
  }

  /** An upstream callback: a hint only. Re-poll the task now with our own key. */
  async hint(channel: ChannelRow, callback: UpstreamCallback): Promise<boolean> {
    const adapter = this.deps.channels.adapterFor(channel);
    // Verification needs only the channel's base URL and key; no model is involved.
    const parsed = await adapter.parseCallback?.(callback, this.deps.channels.context(channel, ""));
    if (!parsed) return false;
    const result = await this.deps.db
      .updateTable("tasks")
      .set({ next_poll_at: Date.now() })
      .where("channel_id", "=", channel.id)
      .where("upstream_id", "=", parsed.upstreamId)
      .where("status", "in", ["submitted", "running"])
      .where((eb) => eb.or([eb("upstream_status", "is", null), eb("upstream_status", "!=", "succeeded")]))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) this.wakePoller();
    return true;
  }

  /** Best effort: tell the provider a cancelled task is no longer wanted (Ark cancels queued ones). */
  async cancelUpstream(task: TaskRow): Promise<void> {
    if (!task.channel_id || !task.upstream_id) return;
    try {
      const channel = await this.deps.channels.require(task.channel_id);
      const adapter = this.deps.channels.adapterFor(channel);
      await adapter.cancel?.(
        task.upstream_id,
        this.deps.channels.context(channel, task.model),
        task.upstream_ref ?? undefined,
      );
    } catch (error) {
      this.deps.logger.info({ err: error, task_id: task.id }, "upstream cancel was not accepted");
    }
  }

  // --- ingest --------------------------------------------------------------------------------

  /** Copy the provider's video (and last frame) into our storage, probe it, then succeed the task. */
  async ingest(job: ClaimedJob, signal: AbortSignal): Promise<void> {
    const { taskRepo, storage, tasks, channels, config } = this.deps;
    const task = await taskRepo.getById(job.taskId!);
    if (!task || task.status === "succeeded" || task.status === "failed") return;
    const channel = task.channel_id ? await channels.require(task.channel_id) : undefined;
    const allow = this.allowForChannel(channel);
    const workDir = join(config.dataDir, "work", `ingest-${task.id}-${job.attempt}`);
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    try {
      const videoPath = join(workDir, "video.mp4");
      await this.download(String(job.payload.videoUrl), videoPath, allow, signal);
      const info = await videoFacts(videoPath, signal);
      let lastFrameKey: string | null = null;
      if (typeof job.payload.lastFrameUrl === "string") {
        const lastPath = join(workDir, "last.png");
        await this.download(job.payload.lastFrameUrl, lastPath, allow, signal);
        lastFrameKey = `videos/${task.id}-last.png`;
        await storage.putFile(lastFrameKey, lastPath, "image/png");
      }
      const bytes = (await stat(videoPath)).size;
      const outputKey = `videos/${task.id}.mp4`;
      await storage.putFile(outputKey, videoPath, "video/mp4");
      const finished = await tasks.finish(task.id, "succeeded", {
        output_key: outputKey,
        last_frame_key: lastFrameKey,
        video_json: JSON.stringify({
          width: info.width,
          height: info.height,
          duration: Math.round(info.duration * 1000) / 1000,
          fps: Math.round(info.fps * 100) / 100,
          has_audio: info.hasAudio,
          bytes,
        }),
      });
      if (!finished) {
        await Promise.all([outputKey, lastFrameKey].map((k) => (k ? storage.delete(k) : undefined)));
      }
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }

  async ingestExhausted(job: ClaimedJob, error: unknown): Promise<void> {
    await this.deps.tasks.finish(job.taskId!, "failed", {
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
      throw new Error(`downloading the provider's output answered HTTP ${response.status}`);
    }
    await pipeline(response.body, createWriteStream(path), { signal });
  }
}

/** Probe the ingested file: the MP4 box reader first (no process), ffprobe for anything else. */
async function videoFacts(path: string, signal: AbortSignal) {
  try {
    return await readMp4Info(path);
  } catch {
    const probed = await probe(path, signal);
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

function estimateProgress(task: TaskRow, schedule: { firstMs: number }): number {
  // Providers like Ark report no progress: estimate from elapsed time against the expected run.
  const expected = Math.max(1, schedule.firstMs * 2);
  const elapsed = Date.now() - (task.started_at ?? task.created_at);
  return Math.min(95, (elapsed / expected) * 90);
}

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
