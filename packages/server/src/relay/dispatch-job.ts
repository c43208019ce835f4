import { readFile } from "node:fs/promises";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { CircuitBreaker } from "../channels/breaker.ts";
import type { ChannelRouting } from "../channels/routing.ts";
import type { ChannelService } from "../channels/service.ts";
import type { Config } from "../config.ts";
import type { NormalizedMedia, NormalizedRequest } from "../domain/request.ts";
import type { FileService } from "../files/service.ts";
import type { ClaimedJob } from "../jobs/queue.ts";
import { Deferred, type JobContext, type JobHandler, RetryLater } from "../jobs/runner.ts";
import { originIsPublic } from "../net/public-origin.ts";
import type { Metrics } from "../ops/metrics.ts";
import { ProviderError } from "../providers/types.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { Database } from "../store/schema.ts";
import type { TaskLifecycle } from "../tasks/lifecycle.ts";
import type { TaskRepository } from "../tasks/repository.ts";
import { conformFirstFrame, type FirstFrameDeps, firstFrameToConform } from "./first-frame.ts";
import { MediaUnavailable } from "./materialize.ts";

export interface DispatchDeps {
  config: Pick<Config, "publicUrl">;
  db: Kysely<Database>;
  tasks: TaskRepository;
  lifecycle: TaskLifecycle;
  channels: ChannelService;
  routing: ChannelRouting;
  breaker: CircuitBreaker;
  files: FileService;
  storage: BlobStorage;
  metrics: Metrics;
  poller: { wake(): void };
  logger: Logger;
  /** Conforming the first frame to an asked ratio (first-frame.ts). */
  firstFrame: FirstFrameDeps;
}

/**
 * The `dispatch` job: choose a channel (priority, weight, concurrency cap, breaker) and submit
 * the task to its provider exactly once. A submit that may have created a (paid) task upstream
 * is never repeated, on this channel or another (the failure kinds in providers/README.md).
 */
export class DispatchJob implements JobHandler {
  readonly concurrency = 16;

  constructor(private readonly deps: DispatchDeps) {}

  async handle(job: ClaimedJob, { signal }: JobContext): Promise<void> {
    const { tasks, channels, routing, breaker, lifecycle, db, logger } = this.deps;
    const task = await tasks.getById(job.taskId!);
    if (!task || task.status === "succeeded" || task.status === "failed" || task.upstream_id) return;
    if (task.channel_id) {
      // A previous attempt reserved a channel and may have sent the request before the process
      // died: we cannot know whether the provider created a (paid) task, so we never resubmit.
      await lifecycle.finish(task.id, "failed", {
        error_code: "upstream_unknown",
        error_message:
          "the gateway stopped while submitting this task to the provider; it was not resubmitted to avoid a duplicate paid task",
      });
      return;
    }
    let request = JSON.parse(task.request_json) as NormalizedRequest;
    // Conformed once a channel is reserved (not while every channel is full), then kept for the others.
    let conformed = firstFrameToConform(request) === null;
    const candidates = await routing.candidates(task.model);
    if (candidates.length === 0) {
      await lifecycle.finish(task.id, "failed", {
        error_code: "no_channel",
        error_message: `no enabled upstream channel serves ${task.model} any more`,
      });
      return;
    }
    let allFull = true;
    let waitMs = 1000;
    const errors: string[] = [];
    const cooling = await breaker.openChannels();
    for (const channel of candidates) {
      if (cooling.has(channel.id)) {
        errors.push(`${channel.name}: cooling down after failures`);
        allFull = false;
        continue;
      }
      const reserved = await db.transaction().execute(async (trx) => {
        if (!(await channels.reserveSlot(trx, channel.id))) return "full";
        if (await tasks.assignChannel(trx, task.id, channel)) return "reserved";
        await channels.releaseSlot(trx, channel.id);
        return "gone";
      });
      // Cancelled (or taken by another dispatcher) since it was read: nothing may be sent upstream.
      if (reserved === "gone") return;
      if (reserved === "full") continue; // at its concurrency cap
      allFull = false;
      if (!conformed) {
        try {
          request = await conformFirstFrame(request, task, this.deps.firstFrame, signal);
          conformed = true;
        } catch (error) {
          await db.transaction().execute(async (trx) => {
            if (await tasks.unassignChannel(trx, task.id, channel.id))
              await channels.releaseSlot(trx, channel.id);
          });
          if (!(error instanceof MediaUnavailable)) throw error;
          await lifecycle.finish(task.id, "failed", { error_code: error.code, error_message: error.message });
          return;
        }
      }
      const adapter = channels.adapterFor(channel);
      const context = channels.context(channel, task.model, signal);
      try {
        this.deps.metrics.upstreamRequests.inc({ channel: channel.name, op: "submit" });
        const { upstreamId, upstreamRef } = await adapter.submit(request, {
          ...context,
          callbackUrl: `${this.deps.config.publicUrl}/hooks/upstream/${channel.id}/${channel.callback_token}`,
          mediaUrl: (media, options) => this.mediaUrl(media, options),
        });
        await breaker.success(channel.id);
        const schedule = adapter.pollSchedule(request);
        await tasks.recordUpstream(task.id, {
          id: upstreamId,
          ref: upstreamRef ?? null,
          firstPollAt: Date.now() + schedule.firstMs,
        });
        logger.info(
          { task_id: task.id, channel: channel.name, upstream_id: upstreamId },
          "submitted upstream",
        );
        this.deps.poller.wake();
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
          await lifecycle.finish(task.id, "failed", {
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
          if (await tasks.unassignChannel(trx, task.id, channel.id))
            await channels.releaseSlot(trx, channel.id);
        });
        if (failure.kind === "channel_broken") await breaker.trip(channel.id);
        else if (failure.kind === "not_created") await breaker.failure(channel.id);
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
  async exhausted(job: ClaimedJob, error: unknown): Promise<void> {
    await this.deps.lifecycle.finish(job.taskId!, "failed", {
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
}

async function streamToBuffer(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
