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
import { Deferred, type JobContext, type JobHandler } from "../jobs/runner.ts";
import { originIsPublic } from "../net/public-origin.ts";
import type { Metrics } from "../ops/metrics.ts";
import { ProviderError } from "../providers/types.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { ChannelRow, Database, TaskRow } from "../store/schema.ts";
import { requestOf } from "../store/task-columns.ts";
import type { ChannelSlots } from "../tasks/channel-slots.ts";
import type { TaskLifecycle } from "../tasks/lifecycle.ts";
import type { TaskRepository } from "../tasks/repository.ts";
import { conformFirstFrame, type FirstFrameDeps, firstFrameToConform } from "./first-frame.ts";
import { MediaUnavailable } from "./materialize.ts";

export interface DispatchDeps {
  config: Pick<Config, "publicUrl" | "upstreamSubmitTimeoutSeconds">;
  db: Kysely<Database>;
  tasks: TaskRepository;
  lifecycle: TaskLifecycle;
  channels: ChannelService;
  /** Takes and gives back the channel's concurrency slot with the task's assignment. */
  slots: Pick<ChannelSlots, "reserve" | "unreserve">;
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
 * A create whose answer was lost is looked up once it would have been answered twice over (the
 * provider lists it by then), and never later than this after it was sent.
 */
const MAX_RECONCILE_AFTER_MS = 15_000;
/** The longest a waiting task sleeps before it looks at its channels again. */
const MAX_WAIT_MS = 30_000;

type SubmitOutcome = "done" | { retryAfterMs: number; error: string };

/**
 * The `dispatch` job: choose a channel (priority, weight, concurrency cap, breaker) and submit
 * the task to its provider exactly once. A submit that may have created a (paid) task upstream
 * is never repeated blindly, on this channel or another (the failure kinds in providers/README.md):
 * where the provider lets us look, the task it made is found and carried on (`reconcile`).
 *
 * While no channel can take the task (all cooling down after failures, being probed, at their
 * cap, or refusing with "not created"), the task waits in `submitted`, spending no attempt, until
 * one can or the task timeout ends it: an upstream outage delays tasks, it does not fail them.
 */
export class DispatchJob implements JobHandler {
  readonly concurrency = 16;
  private readonly reconcileAfterMs: number;
  /** How long a dispatcher that took a half-open channel's probe has it to itself: its submit's time. */
  private readonly probeHoldMs: number;

  constructor(private readonly deps: DispatchDeps) {
    this.probeHoldMs = deps.config.upstreamSubmitTimeoutSeconds * 1000 + 5000;
    this.reconcileAfterMs = Math.min(
      MAX_RECONCILE_AFTER_MS,
      2 * deps.config.upstreamSubmitTimeoutSeconds * 1000,
    );
  }

  async handle(job: ClaimedJob, { signal }: JobContext): Promise<void> {
    const { tasks, routing, breaker, lifecycle } = this.deps;
    const task = await tasks.getById(job.taskId!);
    if (!task || task.status === "succeeded" || task.status === "failed" || task.upstream_id) return;
    const request = requestOf(task);
    // A channel was reserved and a create may have gone out (the process died, or its answer was lost).
    if (task.channel_id) return this.reconcile(task, request, signal);

    const candidates = await routing.candidates(task.model);
    if (candidates.length === 0) {
      await lifecycle.finish(task.id, "failed", {
        error_code: "no_channel",
        error_message: `no enabled upstream channel serves ${task.model} any more`,
      });
      return;
    }
    const now = Date.now();
    const breakers = await breaker.states();
    let waitMs = MAX_WAIT_MS;
    const errors: string[] = [];
    for (const channel of candidates) {
      const state = breakers.get(channel.id);
      if (state && state.openUntil > now) {
        errors.push(`${channel.name}: cooling down after failures`);
        // Open until a cool-down ends, or while another dispatcher's probe is out (then look
        // again soon: the probe's verdict reopens or closes it).
        waitMs = Math.min(waitMs, state.openUntil - now, breaker.cooldownMs);
        continue;
      }
      // Half open: one dispatcher probes it; the others wait for the verdict.
      if (
        state &&
        state.failures >= breaker.threshold &&
        !(await breaker.claimProbe(channel.id, this.probeHoldMs))
      ) {
        errors.push(`${channel.name}: being probed after failures`);
        waitMs = Math.min(waitMs, 1000);
        continue;
      }
      const reserved = await this.deps.slots.reserve(task, channel);
      if (reserved === "gone") return; // cancelled (or taken by another dispatcher): nothing may go out
      if (reserved === "full") {
        waitMs = Math.min(waitMs, 500);
        continue;
      }
      const outcome = await this.submitOn(task, request, channel, signal);
      if (outcome === "done") return;
      errors.push(outcome.error);
      waitMs = Math.min(waitMs, Math.max(1000, outcome.retryAfterMs));
    }
    // Nothing went out: the task waits (no attempt spent), a little randomised so waiting tasks do
    // not all come back at the same instant.
    this.deps.logger.debug({ task_id: task.id, errors }, "no channel took the task; it waits");
    throw new Deferred(Math.round(Math.max(200, waitMs) * (1 + Math.random() * 0.2)));
  }

  /** Send the create on a channel the task holds: done (submitted, or failed for good), or why not. */
  private async submitOn(
    task: TaskRow,
    original: NormalizedRequest,
    channel: ChannelRow,
    signal: AbortSignal,
  ): Promise<SubmitOutcome> {
    const { channels, breaker, lifecycle, logger } = this.deps;
    let request = original;
    if (firstFrameToConform(request) !== null) {
      try {
        request = await conformFirstFrame(request, task, this.deps.firstFrame, signal);
      } catch (error) {
        await this.deps.slots.unreserve(task, channel);
        if (!(error instanceof MediaUnavailable)) throw error;
        await lifecycle.finish(task.id, "failed", { error_code: error.code, error_message: error.message });
        return "done";
      }
    }
    const adapter = channels.adapterFor(channel);
    const context = channels.context(channel, task.model, signal);
    try {
      this.deps.metrics.upstreamRequests.inc({ channel: channel.name, op: "submit" });
      const submitted = await adapter.submit(request, {
        ...context,
        taskId: task.id,
        callbackUrl: `${this.deps.config.publicUrl}/hooks/upstream/${channel.id}/${channel.callback_token}`,
        mediaUrl: (media, options) => this.mediaUrl(media, options),
      });
      await breaker.success(channel.id);
      await this.recordSubmitted(task, request, channel, submitted);
      return "done";
    } catch (error) {
      const failure =
        error instanceof ProviderError
          ? error
          : new ProviderError(
              "ambiguous",
              "adapter_error",
              error instanceof Error ? error.message : String(error),
            );
      logger.warn(
        { task_id: task.id, channel: channel.name, kind: failure.kind, code: failure.code },
        "upstream submit failed",
      );
      if (failure.kind === "ambiguous") {
        if (adapter.findSubmitted) {
          // The channel stays reserved: the next run looks the task up instead of sending it again.
          throw new Deferred(this.reconcileAfterMs);
        }
        await lifecycle.finish(task.id, "failed", {
          error_code: "upstream_timeout",
          error_message: `the provider did not answer the submit clearly (${failure.message}); not resubmitted to avoid a duplicate paid task`,
        });
        return "done";
      }
      if (failure.kind === "rejected") {
        // A rejected request fails on every channel alike.
        await lifecycle.finish(task.id, "failed", {
          error_code: failure.code,
          error_message: failure.message,
        });
        return "done";
      }
      await this.deps.slots.unreserve(task, channel);
      if (failure.kind === "channel_broken") await breaker.trip(channel.id);
      else if (failure.kind === "not_created") await breaker.failure(channel.id);
      return {
        retryAfterMs: failure.options.retryAfterMs ?? 1000,
        error: `${channel.name}: ${failure.message}`,
      };
    }
  }

  private async recordSubmitted(
    task: TaskRow,
    request: NormalizedRequest,
    channel: ChannelRow,
    submitted: { upstreamId: string; upstreamRef?: string },
  ): Promise<void> {
    const schedule = this.deps.channels.adapterFor(channel).pollSchedule(request);
    await this.deps.tasks.recordUpstream(task.id, {
      id: submitted.upstreamId,
      ref: submitted.upstreamRef ?? null,
      firstPollAt: Date.now() + schedule.firstMs,
    });
    this.deps.logger.info(
      { task_id: task.id, channel: channel.name, upstream_id: submitted.upstreamId },
      "submitted upstream",
    );
    this.deps.poller.wake();
  }

  /**
   * The task holds a channel but no upstream id: a create went out, or may have, and its answer was
   * never recorded. Where the provider lets us look, the task that create made is found and
   * carried on (once), or — proven never made — the request is sent now; elsewhere the task fails
   * honestly, because sending it again could make a second paid task.
   */
  private async reconcile(task: TaskRow, request: NormalizedRequest, signal: AbortSignal): Promise<void> {
    const { channels, tasks, lifecycle, logger } = this.deps;
    const channel = await channels.get(task.channel_id!);
    const adapter = channel ? channels.adapterFor(channel) : undefined;
    if (!channel || !adapter?.findSubmitted) {
      await lifecycle.finish(task.id, "failed", {
        error_code: "upstream_unknown",
        error_message:
          "the gateway stopped while submitting this task to the provider, which offers no way to look up whether it was created; it was not resubmitted, to avoid a duplicate paid task",
      });
      return;
    }
    const sentFrom = task.updated_at;
    const now = Date.now();
    // A create that just went out may not be listed yet: look once it surely would be.
    if (now - sentFrom < this.reconcileAfterMs) throw new Deferred(sentFrom + this.reconcileAfterMs - now);
    let found: { upstreamId: string; upstreamRef?: string } | null;
    try {
      found = await adapter.findSubmitted(
        request,
        { ...channels.context(channel, task.model, signal), taskId: task.id },
        { from: sentFrom, to: now },
        await tasks.upstreamIdsOnChannel(channel.id, sentFrom - 86_400_000),
      );
    } catch (error) {
      if (error instanceof ProviderError && error.kind === "ambiguous") {
        await lifecycle.finish(task.id, "failed", {
          error_code: "upstream_unknown",
          error_message: `the gateway stopped while submitting this task and could not tell which provider task is its own (${error.message}); it was not resubmitted, to avoid a duplicate paid task`,
        });
        return;
      }
      // The provider could not be asked now: look again later (the task timeout bounds it).
      logger.warn(
        { err: error, task_id: task.id },
        "dispatch: looking up an unanswered create failed; trying later",
      );
      throw new Deferred(MAX_WAIT_MS);
    }
    if (found) {
      logger.info(
        { task_id: task.id, upstream_id: found.upstreamId },
        "found the task an unanswered create made",
      );
      await this.recordSubmitted(task, request, channel, found);
      return;
    }
    logger.info(
      { task_id: task.id, channel: channel.name },
      "an unanswered create made no task; sending it now",
    );
    const outcome = await this.submitOn(task, request, channel, signal);
    if (outcome !== "done") throw new Deferred(Math.max(1000, outcome.retryAfterMs));
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
