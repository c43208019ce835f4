import type { Kysely, Transaction } from "kysely";
import { type Cursor, keysetPage, type Page } from "../store/pagination.ts";
import type { Database, NewTask, TaskPatch, TaskRow, TaskStatus } from "../store/schema.ts";

export type TerminalStatus = Extract<TaskStatus, "succeeded" | "failed">;
export const ACTIVE_STATUSES: TaskStatus[] = ["submitted", "running"];

/** Hooks run inside the transaction that finishes a task (e.g. the webhook outbox). */
export type FinishHook = (trx: Transaction<Database>, task: TaskRow) => Promise<void>;

export class TaskRepository {
  private readonly finishHooks: FinishHook[] = [];

  constructor(private readonly db: Kysely<Database>) {}

  onFinish(hook: FinishHook): void {
    this.finishHooks.push(hook);
  }

  async insert(task: NewTask, trx: Kysely<Database> = this.db): Promise<void> {
    await trx.insertInto("tasks").values(task).execute();
  }

  get(accountId: string, id: string): Promise<TaskRow | undefined> {
    return this.db
      .selectFrom("tasks")
      .selectAll()
      .where("id", "=", id)
      .where("account_id", "=", accountId)
      .executeTakeFirst();
  }

  /** Unscoped read for workers (never reachable from a request without an owner check). */
  getById(id: string, trx: Kysely<Database> = this.db): Promise<TaskRow | undefined> {
    return trx.selectFrom("tasks").selectAll().where("id", "=", id).executeTakeFirst();
  }

  getByMediaToken(token: string): Promise<TaskRow | undefined> {
    return this.db.selectFrom("tasks").selectAll().where("media_token", "=", token).executeTakeFirst();
  }

  async list(
    accountId: string,
    filters: { status?: TaskStatus; model?: string },
    limit: number,
    after?: Cursor,
  ): Promise<Page<TaskRow>> {
    let q = this.db.selectFrom("tasks").selectAll().where("account_id", "=", accountId);
    if (filters.status) q = q.where("status", "=", filters.status);
    if (filters.model) q = q.where("model", "=", filters.model);
    return keysetPage(q, limit, after);
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
   * The one guarded transition into a terminal state: succeeds only from an active status, so a
   * task finishes exactly once whatever races (duplicate jobs, cancel vs. completion) occur.
   * Returns the finished row, or undefined when the task was already terminal.
   */
  async finish(id: string, status: TerminalStatus, patch: TaskPatch = {}): Promise<TaskRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const now = Date.now();
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
      const row = await this.getById(id, trx);
      if (!row) return undefined;
      for (const hook of this.finishHooks) await hook(trx, row);
      return row;
    });
  }

  async countByStatus(): Promise<Array<{ status: string; model: string; provider: string; n: number }>> {
    const rows = await this.db
      .selectFrom("tasks")
      .select(["status", "model", "provider", (eb) => eb.fn.countAll<number>().as("n")])
      .groupBy(["status", "model", "provider"])
      .execute();
    return rows.map((r) => ({ ...r, n: Number(r.n) }));
  }

  /** Active tasks created before `before` (for the stuck-task sweep). */
  listActiveOlderThan(before: number, limit: number): Promise<TaskRow[]> {
    return this.db
      .selectFrom("tasks")
      .selectAll()
      .where("status", "in", ACTIVE_STATUSES)
      .where("created_at", "<", before)
      .limit(limit)
      .execute();
  }
}
