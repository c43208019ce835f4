import type { Kysely, Transaction } from "kysely";
import type { BillingHolds, ProviderUsage } from "../billing/holds.ts";
import type { Config } from "../config.ts";
import type { EnqueueOptions, JobQueue } from "../jobs/queue.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { Database, IdempotencyKeysTable, TaskPatch, TaskRow } from "../store/schema.ts";
import type { TransactionGroup, TransactionWork } from "../store/transaction-group.ts";
import type { WebhookService } from "../webhooks/service.ts";
import type { ChannelSlots } from "./channel-slots.ts";
import type { TaskEvents } from "./events.ts";
import type { IdempotencyRepository } from "./idempotency-repository.ts";
import type { TaskPresenter } from "./presenter.ts";
import type { TaskRepository, TerminalStatus } from "./repository.ts";

/** Thrown to roll `checkSubmit`'s transaction back once the hold has been tried. */
const DRY_RUN = Symbol("dry run");

export interface TaskLifecycleDeps {
  config: Pick<Config, "videoTtlSeconds">;
  db: Kysely<Database>;
  tasks: TaskRepository;
  idempotency: IdempotencyRepository;
  queue: JobQueue;
  slots: Pick<ChannelSlots, "releaseFor">;
  billing: Pick<BillingHolds, "holdForTaskRow" | "settleFinishedTask">;
  webhooks: Pick<WebhookService, "enqueueForTask">;
  presenter: TaskPresenter;
  events: TaskEvents;
  metrics: Metrics;
  /**
   * Runs submit's transactions (grouped commits on SQLite); default: one each. `finish` keeps a
   * transaction of its own: finishes arrive one per ingest or render, seldom in the same turn,
   * and grouping them measured no faster in the relay burst (bench/upstream.ts).
   */
  transactions?: Pick<TransactionGroup, "run">;
}

/**
 * The life of a task, in one place: `submit` (accepted), `start` (running), `finish` (succeeded or
 * failed). Each step is one transaction with everything that must happen with it, so a crash
 * between statements can never leave a task without its job, a finished task holding a channel
 * slot or an open billing hold, or a finished task without its webhook.
 */
export class TaskLifecycle {
  private readonly submitTransaction: <T>(work: TransactionWork<T>) => Promise<T>;

  constructor(private readonly deps: TaskLifecycleDeps) {
    const group = deps.transactions;
    this.submitTransaction = group
      ? (work) => group.run(work)
      : (work) => deps.db.transaction().execute(work);
  }

  /**
   * Accept a task: the row, the worst-case billing hold (too little balance refuses it, 403, and
   * nothing is written), the Idempotency-Key record and the first job commit together.
   */
  async submit(task: TaskRow, firstJob: EnqueueOptions, idempotency?: IdempotencyKeysTable): Promise<void> {
    const { tasks, billing, queue, events } = this.deps;
    await this.submitTransaction(async (trx) => {
      await tasks.insert(task, trx);
      await billing.holdForTaskRow(trx, task);
      if (idempotency) await this.deps.idempotency.record(trx, idempotency);
      await queue.enqueue(firstJob, trx);
    });
    queue.poke(firstJob.kind); // the job is committed now: wake workers without waiting for a poll
    events.changed(task.id);
  }

  /**
   * Whether `submit` would accept the task — the balance and the key's limits — without writing
   * anything: the same statements in a transaction that is rolled back. For work that must not
   * happen for a refused task (storing a request's data: URLs).
   */
  async checkSubmit(task: TaskRow): Promise<void> {
    const { db, tasks, billing } = this.deps;
    try {
      await db.transaction().execute(async (trx) => {
        await tasks.insert(task, trx);
        await billing.holdForTaskRow(trx, task);
        throw DRY_RUN;
      });
    } catch (error) {
      if (error !== DRY_RUN) throw error;
    }
  }

  /** submitted → running; false when the task is no longer submitted. */
  async start(id: string): Promise<boolean> {
    const started = await this.deps.tasks.markRunning(id);
    if (started) this.deps.events.changed(id);
    return started;
  }

  /**
   * The provider reports the task running: submitted → running (or its progress forward, never
   * back, at most 95 until it has finished) with the next poll scheduled, in one write guarded to
   * an active task, so a task that finished meanwhile is left as it is.
   */
  async upstreamRunning(task: TaskRow, progress: number, nextPollInMs: number): Promise<void> {
    const next = Math.max(task.progress, Math.min(95, Math.round(progress)));
    await this.deps.tasks.reschedulePoll(task, nextPollInMs, {
      upstream_status: "running",
      status: "running",
      started_at: task.started_at ?? Date.now(),
      progress: next,
    });
    if (task.status !== "running" || task.progress !== next) this.deps.events.changed(task.id);
  }

  /**
   * The one terminal transition. In a single transaction: the guarded status change (only from
   * submitted or running, so a task finishes exactly once whatever races), the channel's
   * concurrency slot given back, the billing hold settled with what the provider reported using
   * (captured on success, released on failure), then the webhook outbox row with the task object
   * exactly as GET will show it, usage included. Undefined when the task had already finished.
   */
  async finish(
    id: string,
    status: TerminalStatus,
    patch: TaskPatch = {},
    usage?: ProviderUsage,
  ): Promise<TaskRow | undefined> {
    const row = await this.deps.db
      .transaction()
      .execute((trx) => this.finishWithin(trx, id, status, patch, usage));
    if (row) {
      this.deps.queue.poke("deliver"); // the webhook delivery job (if any) is committed now
      this.deps.metrics.taskFinished.inc({ status, model: row.model, provider: row.provider });
      this.deps.events.changed(id);
    }
    return row;
  }

  /** `finish`'s transaction: each step below commits with the others or not at all. */
  private async finishWithin(
    trx: Transaction<Database>,
    id: string,
    status: TerminalStatus,
    patch: TaskPatch,
    usage: ProviderUsage | undefined,
  ): Promise<TaskRow | undefined> {
    const { tasks, slots, billing, webhooks, presenter, config } = this.deps;
    const now = Date.now();
    const expiresAt = status === "succeeded" ? now + config.videoTtlSeconds * 1000 : null;
    const finished = await tasks.finishIfActive(trx, id, status, { ...patch, expires_at: expiresAt }, now);
    if (!finished) return undefined;
    await slots.releaseFor(trx, finished);
    await billing.settleFinishedTask(trx, finished, usage);
    if (finished.callback_url) {
      const object = await presenter.present(finished, trx);
      await webhooks.enqueueForTask(trx, finished, JSON.stringify(object));
    }
    return finished;
  }
}
