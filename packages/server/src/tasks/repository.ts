import type { Kysely, Transaction } from "kysely";
import type { Owner } from "../domain/owner.ts";
import { type Cursor, keysetPage, type Page } from "../store/pagination.ts";
import type { Database, NewTask, TaskPatch, TaskRow, TaskStatus } from "../store/schema.ts";

export type TerminalStatus = Extract<TaskStatus, "succeeded" | "failed">;
export const ACTIVE_STATUSES: TaskStatus[] = ["submitted", "running"];

/** Every query on the `tasks` table: the lifecycle, the relay jobs and the routes all come here. */
export class TaskRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(task: NewTask, trx: Kysely<Database> = this.db): Promise<void> {
    await trx.insertInto("tasks").values(task).execute();
  }

  /** The owner's task (in the owner's mode); a deleted one is gone for its owner too. */
  get(owner: Owner, id: string): Promise<TaskRow | undefined> {
    return this.db
      .selectFrom("tasks")
      .selectAll()
      .where("id", "=", id)
      .where("account_id", "=", owner.accountId)
      .where("test_mode", "=", owner.testMode)
      .where("deleted_at", "is", null)
      .executeTakeFirst();
  }

  /** The owner deleted it: hidden from every owner-scoped read (`get`, `list`) from now on. */
  async markDeleted(owner: Owner, id: string): Promise<void> {
    const now = Date.now();
    await this.db
      .updateTable("tasks")
      .set({ deleted_at: now, updated_at: now })
      .where("id", "=", id)
      .where("account_id", "=", owner.accountId)
      .where("test_mode", "=", owner.testMode)
      .execute();
  }

  /** Unscoped read for workers (never reachable from a request without an owner check). */
  getById(id: string, trx: Kysely<Database> = this.db): Promise<TaskRow | undefined> {
    return trx.selectFrom("tasks").selectAll().where("id", "=", id).executeTakeFirst();
  }

  getByMediaToken(token: string): Promise<TaskRow | undefined> {
    return this.db.selectFrom("tasks").selectAll().where("media_token", "=", token).executeTakeFirst();
  }

  async list(
    owner: Owner,
    filters: { status?: TaskStatus; model?: string },
    limit: number,
    after?: Cursor,
    order: "desc" | "asc" = "desc",
  ): Promise<Page<TaskRow>> {
    let q = this.db
      .selectFrom("tasks")
      .selectAll()
      .where("account_id", "=", owner.accountId)
      .where("test_mode", "=", owner.testMode)
      .where("deleted_at", "is", null);
    if (filters.status) q = q.where("status", "=", filters.status);
    if (filters.model) q = q.where("model", "=", filters.model);
    return keysetPage(q, limit, after, order);
  }

  /** submitted → running; false if the task is no longer submitted. */
  async markRunning(id: string, now = Date.now()): Promise<boolean> {
    const result = await this.db
      .updateTable("tasks")
      .set({ status: "running", started_at: now, updated_at: now })
      .where("id", "=", id)
      .where("status", "=", "submitted")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Progress only moves forward and only while the task is active; false when it is no longer active. */
  async setProgress(id: string, progress: number, now = Date.now()): Promise<boolean> {
    const result = await this.db
      .updateTable("tasks")
      .set({ progress: Math.max(0, Math.min(99, Math.round(progress))), updated_at: now })
      .where("id", "=", id)
      .where("status", "in", ACTIVE_STATUSES)
      .where("progress", "<=", Math.round(progress))
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) > 0) return true;
    const row = await this.getById(id);
    return !!row && ACTIVE_STATUSES.includes(row.status);
  }

  /**
   * The guarded transition into a terminal state, inside the caller's transaction (the lifecycle's
   * `finish`): it succeeds only from an active status, so a task finishes exactly once whatever
   * races (duplicate jobs, cancel vs. completion) occur. Returns the finished row, or undefined
   * when the task was already terminal.
   */
  async finishIfActive(
    trx: Transaction<Database>,
    id: string,
    status: TerminalStatus,
    patch: TaskPatch,
    now: number,
  ): Promise<TaskRow | undefined> {
    const result = await trx
      .updateTable("tasks")
      .set({
        ...patch,
        status,
        progress: status === "succeeded" ? 100 : (patch.progress ?? undefined),
        completed_at: now,
        updated_at: now,
      })
      .where("id", "=", id)
      .where("status", "in", ACTIVE_STATUSES)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) return undefined;
    return this.getById(id, trx);
  }

  /**
   * Unfinished tasks by status, model and provider (for /metrics). Finished ones are counted as they
   * finish (`vidrelay_tasks_finished_total`): counting the whole history here read every task row
   * on every scrape.
   */
  async countActive(): Promise<Array<{ status: string; model: string; provider: string; n: number }>> {
    const rows = await this.db
      .selectFrom("tasks")
      .select(["status", "model", "provider", (eb) => eb.fn.countAll<number>().as("n")])
      .where("status", "in", ACTIVE_STATUSES)
      .groupBy(["status", "model", "provider"])
      .execute();
    return rows.map((r) => ({ ...r, n: Number(r.n) }));
  }

  /** Active tasks created before `before` (for the stuck-task sweep). */
  /** A made thumbnail's key (relayed videos get theirs on first request). */
  async recordPoster(id: string, key: string): Promise<void> {
    await this.db.updateTable("tasks").set({ poster_key: key }).where("id", "=", id).execute();
  }

  /** Succeeded tasks whose media have expired but are still stored, oldest first (for the sweep). */
  listExpiredMedia(now: number, limit: number): Promise<TaskRow[]> {
    return this.db
      .selectFrom("tasks")
      .selectAll()
      .where("expires_at", "<=", now)
      .where((eb) =>
        eb.or([
          eb("output_key", "is not", null),
          eb("poster_key", "is not", null),
          eb("last_frame_key", "is not", null),
        ]),
      )
      .orderBy("expires_at")
      .limit(limit)
      .execute();
  }

  /** The task's stored media are gone (expired and deleted): no key points at them any more. */
  async forgetMedia(id: string, now = Date.now()): Promise<void> {
    await this.db
      .updateTable("tasks")
      .set({ output_key: null, poster_key: null, last_frame_key: null, updated_at: now })
      .where("id", "=", id)
      .execute();
  }

  /** Unfinished tasks whose own deadline (metadata.deadline_seconds) has passed. */
  listPastDeadline(now: number, limit: number): Promise<TaskRow[]> {
    return this.db
      .selectFrom("tasks")
      .selectAll()
      .where("deadline_at", "<=", now)
      .where("status", "in", ACTIVE_STATUSES)
      .orderBy("deadline_at")
      .limit(limit)
      .execute();
  }

  listActiveOlderThan(before: number, limit: number): Promise<TaskRow[]> {
    return this.db
      .selectFrom("tasks")
      .selectAll()
      .where("status", "in", ACTIVE_STATUSES)
      .where("created_at", "<", before)
      .limit(limit)
      .execute();
  }

  // --- relay: dispatch, poll and ingest ------------------------------------------------------

  /** Dispatch reserved `channel` for a submitted task (in the transaction that took its slot). */
  /** Reserve the task for a channel; false when it is no longer waiting (a cancel finished it). */
  async assignChannel(
    trx: Kysely<Database>,
    id: string,
    channel: { id: string; provider: string },
  ): Promise<boolean> {
    const result = await trx
      .updateTable("tasks")
      .set({ channel_id: channel.id, provider: channel.provider, updated_at: Date.now() })
      .where("id", "=", id)
      .where("status", "=", "submitted")
      .where("channel_id", "is", null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Undo `assignChannel` after a submit that created nothing upstream; true when the task still
   * held the channel (a cancel meanwhile finished it and gave the slot back itself).
   */
  async unassignChannel(trx: Kysely<Database>, id: string, channelId: string): Promise<boolean> {
    const undone = await trx
      .updateTable("tasks")
      .set({ channel_id: null })
      .where("id", "=", id)
      .where("channel_id", "=", channelId)
      .where("status", "in", ACTIVE_STATUSES)
      .executeTakeFirst();
    return Number(undone.numUpdatedRows) > 0;
  }

  /** Upstream ids that tasks of a channel created since `since` hold (a lookup must not take theirs). */
  async upstreamIdsOnChannel(channelId: string, since: number): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom("tasks")
      .select("upstream_id")
      .where("channel_id", "=", channelId)
      .where("created_at", ">=", since)
      .where("upstream_id", "is not", null)
      .execute();
    return new Set(rows.map((r) => r.upstream_id!));
  }

  /** The provider accepted the task: remember its id and when to ask about it first. */
  async recordUpstream(id: string, upstream: { id: string; ref: string | null; firstPollAt: number }) {
    await this.db
      .updateTable("tasks")
      .set({
        upstream_id: upstream.id,
        upstream_ref: upstream.ref,
        upstream_status: "queued",
        next_poll_at: Math.round(upstream.firstPollAt),
        updated_at: Date.now(),
      })
      .where("id", "=", id)
      .execute();
  }

  /**
   * Lease up to `limit` relayed tasks whose poll is due, for `leaseMs`: several pollers (one per
   * process) share the work, and a poller that dies lets its lease lapse.
   */
  async leaseDuePolls(owner: string, now: number, leaseMs: number, limit: number): Promise<TaskRow[]> {
    const due = await this.db
      .selectFrom("tasks")
      .select(["id"])
      .where("upstream_id", "is not", null)
      .where("status", "in", ACTIVE_STATUSES)
      .where("next_poll_at", "<=", now)
      .where((eb) => eb.or([eb("poll_lease_until", "is", null), eb("poll_lease_until", "<", now)]))
      .orderBy("next_poll_at")
      .limit(limit)
      .execute();
    const claimed: TaskRow[] = [];
    for (const { id } of due) {
      const result = await this.db
        .updateTable("tasks")
        .set({ poll_owner: owner, poll_lease_until: now + leaseMs })
        .where("id", "=", id)
        .where("next_poll_at", "<=", now)
        .where((eb) => eb.or([eb("poll_lease_until", "is", null), eb("poll_lease_until", "<", now)]))
        .executeTakeFirst();
      if (Number(result.numUpdatedRows) > 0) {
        const row = await this.getById(id);
        if (row) claimed.push(row);
      }
    }
    return claimed;
  }

  /** Give a polled task's lease back and ask again after `delayMs`, applying what the poll learnt. */
  async reschedulePoll(task: TaskRow, delayMs: number, patch: TaskPatch = {}): Promise<void> {
    const now = Date.now();
    await this.db
      .updateTable("tasks")
      .set({
        ...patch,
        // bigint column: a back-off such as 5000 × 1.5^4 ms is fractional.
        next_poll_at: Math.round(now + delayMs),
        poll_lease_until: null,
        poll_owner: null,
        poll_count: task.poll_count + 1,
        updated_at: now,
      })
      .where("id", "=", task.id)
      .where("status", "in", ACTIVE_STATUSES)
      .execute();
  }

  /**
   * The provider finished: stop polling, in the transaction that enqueues the ingest job, so
   * exactly one ingest exists. False when the task is no longer active or was handed over already.
   */
  async stopPollingForIngest(trx: Kysely<Database>, task: TaskRow): Promise<boolean> {
    const now = Date.now();
    const result = await trx
      .updateTable("tasks")
      .set({
        upstream_status: "succeeded",
        status: "running",
        started_at: task.started_at ?? now,
        progress: Math.max(task.progress, 95),
        next_poll_at: null,
        poll_lease_until: null,
        updated_at: now,
      })
      .where("id", "=", task.id)
      .where("status", "in", ACTIVE_STATUSES)
      .where((eb) => eb.or([eb("upstream_status", "is", null), eb("upstream_status", "!=", "succeeded")]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** A provider callback named this task: poll it now (a hint only). False when no active task matched. */
  async pollNow(channelId: string, upstreamId: string): Promise<boolean> {
    const result = await this.db
      .updateTable("tasks")
      .set({ next_poll_at: Date.now() })
      .where("channel_id", "=", channelId)
      .where("upstream_id", "=", upstreamId)
      .where("status", "in", ACTIVE_STATUSES)
      .where((eb) => eb.or([eb("upstream_status", "is", null), eb("upstream_status", "!=", "succeeded")]))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
