import { EventEmitter } from "node:events";
import { type ExpressionBuilder, type Kysely, sql } from "kysely";
import type { Database } from "../store/schema.ts";
import { chunks, MAX_IDS_PER_STATEMENT, TurnBatch } from "../store/turn-batch.ts";
import { newJobId } from "../util/ids.ts";
import { MAX_TURN_KEYS, takeTurns, turnTakenTwice } from "./fair-turns.ts";
import { type ClaimedJob, type EnqueueOptions, type JobKind, type JobQueue, rowToClaimed } from "./queue.ts";

/**
 * Jobs persisted in the store's `jobs` table. Claiming is an optimistic conditional UPDATE that
 * works the same on SQLite and Postgres, so several processes can share one queue: exactly one
 * UPDATE wins each job.
 */
export class StoreJobQueue implements JobQueue {
  private readonly events = new EventEmitter();
  private readonly completions = new TurnBatch((items: Array<{ id: string; owner: string }>) =>
    this.writeCompletions(items),
  );

  constructor(private readonly db: Kysely<Database>) {
    this.events.setMaxListeners(100);
  }

  onEnqueue(listener: (kind?: JobKind) => void): void {
    this.events.on("enqueue", listener);
  }

  async enqueue(job: EnqueueOptions, trx: Kysely<Database> = this.db): Promise<string> {
    const now = Date.now();
    const id = newJobId();
    await trx
      .insertInto("jobs")
      .values({
        id,
        kind: job.kind,
        task_id: job.taskId ?? null,
        payload: JSON.stringify(job.payload ?? {}),
        status: "queued",
        run_at: Math.round(job.runAt ?? now),
        attempts: 0,
        max_attempts: job.maxAttempts ?? 3,
        fair_key: job.fairKey ?? "",
        lease_owner: null,
        lease_until: null,
        last_error: null,
        created_at: now,
        updated_at: now,
      })
      .execute();
    // Wake local workers after the caller's transaction has had a chance to commit.
    setImmediate(() => this.events.emit("enqueue", job.kind));
    return id;
  }

  /**
   * Two statements claim a batch: a plain read of the oldest due ids (an idle poll never takes a
   * write lock), then one conditional UPDATE over those ids that returns the rows it won. The UPDATE
   * re-checks the guard per row, so processes racing for the same ids split them and each job goes
   * to exactly one; a loser just gets fewer jobs this round.
   */
  async claim(kinds: JobKind[], owner: string, leaseMs: number, limit: number): Promise<ClaimedJob[]> {
    if (limit <= 0) return [];
    const now = Date.now();
    const claimable = (eb: ExpressionBuilder<Database, "jobs">) =>
      eb.or([
        eb.and([eb("status", "=", "queued"), eb("run_at", "<=", now)]),
        eb.and([eb("status", "=", "running"), eb("lease_until", "<", now)]),
      ]);
    // The due ids, oldest first, read as two index-ordered ranges (queued and due; running with a
    // lapsed lease), each stopping at `limit`. One OR over both made SQLite gather and sort every
    // due job to pick a few: ~300 µs a round with 2,000 waiting, and a burst claims in many rounds.
    const kindList = sql.join(kinds);
    const { rows: oldest } = await sql<{ id: string; fair_key: string; lapsed: number }>`
      select id, fair_key, lapsed from (
        select * from (select id, run_at, fair_key, 0 as lapsed from jobs
          where status = 'queued' and kind in (${kindList}) and run_at <= ${now}
          order by run_at limit ${limit}) as part
        union all
        select * from (select id, run_at, fair_key, 1 as lapsed from jobs
          where status = 'running' and kind in (${kindList}) and lease_until < ${now}
          order by run_at limit ${limit}) as part
      ) as due order by run_at limit ${limit}`.execute(this.db);
    const due = (await this.othersWaiting(kinds, now, oldest))
      ? await this.takingTurns(kinds, now, limit, oldest)
      : oldest;
    if (due.length === 0) return [];
    const rows = await this.db
      .updateTable("jobs")
      .set((eb) => ({
        status: "running",
        lease_owner: owner,
        lease_until: now + leaseMs,
        attempts: eb("attempts", "+", 1),
        updated_at: now,
      }))
      .where(
        "id",
        "in",
        due.map((r) => r.id),
      )
      .where(claimable)
      .returningAll()
      .execute();
    // RETURNING has no order of its own: hand jobs out oldest first, as they were chosen.
    rows.sort((a, b) => a.run_at - b.run_at);
    return rows.map(rowToClaimed);
  }

  /**
   * Whether accounts other than those of the oldest due jobs have due jobs too. When the oldest are
   * one account's backlog, taking them oldest first would keep everyone else waiting behind it.
   * Cheap in the common case: one read of the claim index that stops at the first other account.
   */
  private async othersWaiting(
    kinds: JobKind[],
    now: number,
    oldest: Array<{ fair_key: string; lapsed: number }>,
  ): Promise<boolean> {
    const waiting = oldest.filter((j) => !j.lapsed).map((j) => j.fair_key);
    if (!turnTakenTwice(waiting)) return false;
    const kindList = sql.join(kinds);
    const inOldest = sql.join([...new Set(waiting)]);
    const { rows } = await sql<{ one: number }>`
      select 1 as one from jobs
      where status = 'queued' and kind in (${kindList}) and run_at <= ${now} and fair_key not in (${inOldest})
      limit 1`.execute(this.db);
    return rows.length > 0;
  }

  /**
   * Due jobs taken in turns: every account's oldest first (accounts in the order of their oldest
   * job), then every account's second, and so on; jobs whose lease lapsed go first, as before. The
   * accounts are found by skipping through the claim index (one seek each), so the cost grows with
   * the number of accounts waiting, not with the backlog of any of them.
   */
  private async takingTurns(
    kinds: JobKind[],
    now: number,
    limit: number,
    oldest: Array<{ id: string; fair_key: string; lapsed: number }>,
  ): Promise<Array<{ id: string }>> {
    const kindList = sql.join(kinds);
    const { rows: keys } = await sql<{ k: string }>`
      with recursive keys(k) as (
        select min(fair_key) from jobs where status = 'queued' and kind in (${kindList}) and run_at <= ${now}
        union all
        select (select min(fair_key) from jobs
                where status = 'queued' and kind in (${kindList}) and run_at <= ${now} and fair_key > keys.k)
        from keys where keys.k is not null
      )
      select k from keys where k is not null limit ${MAX_TURN_KEYS}`.execute(this.db);
    const queues: Array<Array<{ id: string; run_at: number }>> = [];
    for (const { k } of keys) {
      const { rows } = await sql<{ id: string; run_at: number }>`
        select id, run_at from jobs
        where status = 'queued' and kind in (${kindList}) and fair_key = ${k} and run_at <= ${now}
        order by run_at limit ${limit}`.execute(this.db);
      if (rows.length > 0) queues.push(rows);
    }
    const lapsed = oldest.filter((j) => j.lapsed).map((j) => ({ id: j.id }));
    return [...lapsed, ...takeTurns(queues, limit - lapsed.length, (job) => Number(job.run_at))];
  }

  async renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const now = Date.now();
    const result = await this.db
      .updateTable("jobs")
      .set({ lease_until: now + leaseMs, updated_at: now })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .where("status", "=", "running")
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /**
   * Completions are group-committed (store/turn-batch.ts): every `complete` asked for in one turn
   * of the event loop is written by one UPDATE per lease owner, and each caller's promise settles
   * with it. One commit per job was the largest single cost of a webhook delivery on SQLite. A crash
   * before the flush leaves the job leased, so it runs again once the lease lapses: the same
   * at-least-once a crash just after the handler always had.
   */
  complete(id: string, owner: string): Promise<void> {
    return this.completions.add({ id, owner });
  }

  private async writeCompletions(items: Array<{ id: string; owner: string }>): Promise<void> {
    const now = Date.now();
    const byOwner = new Map<string, string[]>();
    for (const { id, owner } of items) byOwner.set(owner, [...(byOwner.get(owner) ?? []), id]);
    for (const [owner, mine] of byOwner) {
      for (const ids of chunks(mine, MAX_IDS_PER_STATEMENT)) {
        await this.db
          .updateTable("jobs")
          .set({ status: "done", lease_owner: null, lease_until: null, updated_at: now })
          .where("id", "in", ids)
          .where("lease_owner", "=", owner)
          .execute();
      }
    }
  }

  async fail(id: string, owner: string, error: string, retryAt: number | null): Promise<void> {
    await this.db
      .updateTable("jobs")
      .set({
        status: retryAt == null ? "dead" : "queued",
        run_at: Math.round(retryAt ?? Date.now()),
        last_error: error.slice(0, 2000),
        lease_owner: null,
        lease_until: null,
        updated_at: Date.now(),
      })
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .execute();
  }

  poke(kind?: JobKind): void {
    this.events.emit("enqueue", kind);
  }

  async release(id: string, owner: string, runAt?: number): Promise<void> {
    await this.db
      .updateTable("jobs")
      .set((eb) => ({
        status: "queued",
        run_at: Math.round(runAt ?? Date.now()),
        attempts: eb("attempts", "-", 1),
        lease_owner: null,
        lease_until: null,
        updated_at: Date.now(),
      }))
      .where("id", "=", id)
      .where("lease_owner", "=", owner)
      .where("status", "=", "running")
      .execute();
  }

  async depth(): Promise<Array<{ kind: string; status: string; n: number }>> {
    const rows = await this.db
      .selectFrom("jobs")
      .select(["kind", "status", (eb) => eb.fn.countAll<number>().as("n")])
      .where("status", "in", ["queued", "running"])
      .groupBy(["kind", "status"])
      .execute();
    return rows.map((r) => ({ kind: r.kind, status: r.status, n: Number(r.n) }));
  }
}
