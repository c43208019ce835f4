import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { ChannelService } from "../channels/service.ts";
import type { Config } from "../config.ts";
import type { JobQueue } from "../jobs/queue.ts";
import type { Metrics } from "../ops/metrics.ts";
import { BudgetExhausted, type QueryBudget, type QueryBudgets } from "../providers/query-budget.ts";
import type { UpstreamCallback, UpstreamStatus } from "../providers/types.ts";
import type { ChannelRow, Database, TaskPatch, TaskRow } from "../store/schema.ts";
import { requestOf } from "../store/task-columns.ts";
import { isStoreUnavailable } from "../store/unavailable.ts";
import type { TaskEvents } from "../tasks/events.ts";
import type { TaskLifecycle } from "../tasks/lifecycle.ts";
import type { TaskRepository } from "../tasks/repository.ts";
import { randomAlphanumeric } from "../util/ids.ts";
import { RerunLoop } from "../util/rerun-loop.ts";
import { INGEST_ATTEMPTS } from "./ingest-job.ts";
import { urlExpiresAt } from "./url-expiry.ts";

const POLL_TICK_MS = 250;
const POLL_LEASE_MS = 30_000;
const POLL_BATCH = 500;
const PER_CHANNEL_PARALLEL_STATUS = 8;

export interface PollerDeps {
  config: Pick<Config, "upstreamQueryRps">;
  /** Where each channel's status-query budget lives (the store: shared by every worker). */
  budgets: QueryBudgets;
  db: Kysely<Database>;
  tasks: TaskRepository;
  lifecycle: TaskLifecycle;
  channels: ChannelService;
  queue: JobQueue;
  events: TaskEvents;
  metrics: Metrics;
  logger: Logger;
}

/**
 * Polls relayed tasks: leases the due ones (several processes share the work), asks each
 * channel's provider about them (batched where the provider can, paced by a per-channel query
 * budget and by each provider's typical run time), and applies the answers. A provider's
 * success hands the task to one `ingest` job; a provider callback only makes a task due now.
 */
export class UpstreamPoller {
  /** Rounds back to back while a batch comes back full; otherwise one a tick, or when woken. */
  private readonly loop = new RerunLoop({
    round: async () => (await this.pollOnce()) >= POLL_BATCH,
    onError: (error) => {
      if (isStoreUnavailable(error))
        this.deps.logger.warn({ err: error }, "poll round: the store does not answer");
      else this.deps.logger.error({ err: error }, "poll round failed");
    },
    tickMs: POLL_TICK_MS,
  });
  private readonly owner = `poller-${randomAlphanumeric(10)}`;
  constructor(private readonly deps: PollerDeps) {}

  /**
   * The channel's status-query budget: VIDRELAY_UPSTREAM_QUERY_RPS over a sliding second (a rate
   * under 1 becomes one query per 1/rate seconds), shared by every process polling the channel.
   */
  private budget(channelId: string): QueryBudget {
    const rps = this.deps.config.upstreamQueryRps;
    const limit = Math.max(1, Math.floor(rps));
    return this.deps.budgets({
      key: `poll:${channelId}`,
      limit,
      windowMs: Math.round((1000 * limit) / rps),
      maxWaitMs: POLL_LEASE_MS / 2,
    });
  }

  start(): void {
    this.loop.start();
  }

  stop(): void {
    this.loop.stop();
  }

  wake(): void {
    this.loop.wake();
  }

  /** One round: lease due tasks, query their providers (batched where possible), apply results. */
  async pollOnce(): Promise<number> {
    const claimed = await this.deps.tasks.leaseDuePolls(this.owner, Date.now(), POLL_LEASE_MS, POLL_BATCH);
    if (claimed.length === 0) return 0;
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
            try {
              await this.budget(channel.id).take();
            } catch (error) {
              // Over budget for longer than the lease allows: this task is polled on a later round.
              if (error instanceof BudgetExhausted) return;
              throw error;
            }
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
      // One task's trouble (the store briefly away, a bad answer) must not strand the rest of the
      // batch until its lease lapses: each is applied on its own.
      try {
        const status = results.get(task.upstream_id!);
        if (!status) await this.reschedule(task, 5000);
        else await this.apply(task, status);
      } catch (error) {
        logger.warn(
          { err: error, task_id: task.id },
          "applying an upstream status failed; the task is polled again",
        );
      }
    }
  }

  private reschedule(task: TaskRow, delayMs: number, patch: TaskPatch = {}): Promise<void> {
    return this.deps.tasks.reschedulePoll(task, delayMs, patch);
  }

  private async apply(task: TaskRow, status: UpstreamStatus): Promise<void> {
    const { channels, events, metrics, logger, lifecycle, queue } = this.deps;
    const channel = await channels.require(task.channel_id!);
    const adapter = channels.adapterFor(channel);
    const request = requestOf(task);
    const schedule = adapter.pollSchedule(request);
    const interval = Math.min(
      schedule.intervalMs * 1.5 ** Math.min(task.poll_count, 10),
      schedule.maxIntervalMs,
    );
    switch (status.type) {
      case "queued":
        await this.reschedule(task, interval, { upstream_status: "queued" });
        return;
      case "running":
        await lifecycle.upstreamRunning(task, status.progress ?? estimateProgress(task, schedule), interval);
        return;
      case "unknown":
        metrics.upstreamUnknownStatus.inc({ provider: channel.provider, status: status.raw.slice(0, 40) });
        logger.warn(
          { task_id: task.id, upstream_status: status.raw },
          "unknown upstream status; still polling",
        );
        await this.reschedule(task, interval, { upstream_status: `unknown:${status.raw}`.slice(0, 64) });
        return;
      case "failed":
        await lifecycle.finish(task.id, "failed", { error_code: status.code, error_message: status.message });
        return;
      case "succeeded": {
        // Stop polling and hand over to ingest in one step, so exactly one ingest job exists.
        const handed = await this.deps.db.transaction().execute(async (trx) => {
          if (!(await this.deps.tasks.stopPollingForIngest(trx, task))) return false;
          await queue.enqueue(
            {
              kind: "ingest",
              taskId: task.id,
              fairKey: task.account_id,
              payload: {
                videoUrl: status.videoUrl,
                lastFrameUrl: status.lastFrameUrl ?? null,
                usage: status.usage ?? null,
                // Ingest retries trouble on our side until the provider's URL stops working.
                urlExpiresAt: urlExpiresAt(status.videoUrl),
                handedAt: Date.now(),
              },
              maxAttempts: INGEST_ATTEMPTS,
            },
            trx,
          );
          return true;
        });
        if (handed) {
          queue.poke("ingest");
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
    if (await this.deps.tasks.pollNow(channel.id, parsed.upstreamId)) this.wake();
    return true;
  }
}

function estimateProgress(task: TaskRow, schedule: { firstMs: number }): number {
  // Providers like Ark report no progress: estimate from elapsed time against the expected run.
  const expected = Math.max(1, schedule.firstMs * 2);
  const elapsed = Date.now() - (task.started_at ?? task.created_at);
  return Math.min(95, (elapsed / expected) * 90);
}
