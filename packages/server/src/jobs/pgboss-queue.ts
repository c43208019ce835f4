import { randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { CompiledQuery, type Kysely } from "kysely";
import PgBoss from "pg-boss";
import type { Database } from "../store/schema.ts";
import { PgBossFairness } from "./pgboss-fairness.ts";
import { type ClaimRow, type LeaseStatements, leaseStatements } from "./pgboss-statements.ts";
import type { ClaimedJob, EnqueueOptions, JobKind, JobQueue } from "./queue.ts";

/**
 * `JobQueue` on pg-boss 10 (the last line that runs on Node 20), for Postgres deployments that
 * want pg-boss's partitioned job tables, archive and retention instead of the store's `jobs` table.
 *
 * What pg-boss does here: it installs and migrates its schema (one dedicated schema per queue
 * instance, option `schema`), keeps one queue (= one partition of `<schema>.job`) per job kind,
 * inserts jobs (`send`, also inside the caller's transaction through its `db` option), enforces
 * "one active job per task" with its `singleton` queue policy and unique index, and archives and
 * deletes finished jobs.
 *
 * What pg-boss 10 lacks, done here with SQL on its own tables (every statement, schema-qualified,
 * is in pgboss-statements.ts; the table and column meanings are pg-boss's, see its src/plans.js):
 *
 * - Leases. pg-boss's lease is `started_on + expire_in`, fixed per job at send time and enforced
 *   only by its maintenance loop, which turns an expired job into a *retry* or, on the last
 *   attempt, *failed* — without a hook, so the task would be left hanging. Here a claim sets
 *   `expire_in` to the caller's lease, `renew` stretches it, and a claim takes an expired
 *   `active` job back directly (counting an attempt, like a crash does in the store queue). The
 *   expiry part of pg-boss's maintenance (`supervise`) is therefore off; this class runs only its
 *   `archive` and `drop` steps on its own timer.
 * - Ownership. pg-boss's `complete`/`fail` act on any active job by id. Here every write after a
 *   claim is keyed by the job's `started_on` as the claim returned it (kept in memory per owner
 *   and job, to the microsecond): a claim of an expired job sets a new `started_on`, so the old
 *   owner's renew/complete/fail/release match no row. The owner is also written to `output`
 *   (`{"owner": …}`) so an operator sees who holds a job.
 * - Retry at an exact time. pg-boss's `fail` computes the next start from `retry_delay` and
 *   backoff; the runner has its own schedule (webhook retries rely on exact delays), so `fail`
 *   sets `state = 'retry'`, `start_after = retryAt` itself. `fail(…, null)` sets `failed` (dead).
 * - Release without an attempt. pg-boss has none: `release` puts the job back as it was before
 *   the claim (`retry_count` and, on a first attempt, `started_on` restored; see `claim` for how
 *   attempts are counted) with `start_after` = now or the deferral time.
 *
 * Attempts: pg-boss counts `retry_count` (0 on the first run; its fetch adds one whenever the job
 * had been started before). `attempt = retry_count + 1`, `maxAttempts = retry_limit + 1`.
 *
 * Times: `runAt`/`retryAt` (app clock, unix ms) are stored as absolute `start_after`; claims and
 * leases use the database clock (`now()`), as pg-boss does, so processes with skewed clocks agree.
 *
 * `enqueue(job, trx)` runs pg-boss's insert on the caller's Kysely transaction: the store and the
 * pg-boss schema must live in the same Postgres database for that.
 */

/** Kinds whose jobs must not run twice at once for one task get pg-boss's `singleton` policy. */
const POLICIES: Record<JobKind, "singleton" | "standard"> = {
  // Two renders of one task would race on its output keys.
  render: "singleton",
  // A second concurrent dispatch could create a second paid upstream task.
  dispatch: "singleton",
  // Two ingests would copy and finish the same video twice.
  ingest: "singleton",
  // A task can have several deliveries (one per outbox row, replays): they are independent.
  deliver: "standard",
};
const KINDS = Object.keys(POLICIES) as JobKind[];

export interface PgBossQueueOptions {
  connectionString: string;
  /** pg-boss schema (letters, digits, `_`); created and migrated on open. One per queue deployment. */
  schema: string;
  /** Connections in pg-boss's own pool (claims, renewals, maintenance). */
  poolSize?: number;
  /** How often archive + drop of finished jobs run (ms); default 5 minutes. */
  maintenanceMs?: number;
  /** Finished (completed) jobs stay in the job table this long before pg-boss archives them. */
  archiveCompletedAfterSeconds?: number;
  /** Dead (failed) jobs stay in the job table this long before pg-boss archives them. */
  archiveFailedAfterSeconds?: number;
  /** Connection-pool and maintenance errors (pg-boss's `error` event); without it they are dropped. */
  onError?: (error: unknown) => void;
}

interface Lease {
  kind: JobKind;
  /** `started_on` of the claim, as microseconds since the epoch (text, exact). */
  token: string;
}

/** Open (install or migrate the schema, create the queues) and return a ready queue. */
export async function openPgBossQueue(options: PgBossQueueOptions): Promise<PgBossQueue> {
  const queue = new PgBossQueue(options);
  await queue.start();
  return queue;
}

export class PgBossQueue implements JobQueue {
  private readonly events = new EventEmitter();
  private readonly boss: PgBoss;
  private readonly schema: string;
  /** `owner \0 id` → the claim this process holds. */
  private readonly leases = new Map<string, Lease>();
  private maintenanceTimer: NodeJS.Timeout | undefined;
  private maintaining: Promise<void> | undefined;
  private state: "new" | "open" | "closed" = "new";
  private readonly fairness: PgBossFairness;
  private readonly sql: LeaseStatements;

  constructor(private readonly options: PgBossQueueOptions) {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,49}$/.test(options.schema)) {
      throw new Error(`invalid pg-boss schema name: ${options.schema}`);
    }
    this.schema = options.schema;
    this.sql = leaseStatements(options.schema);
    this.fairness = new PgBossFairness(options.schema, (text, values) => this.exec(text, values));
    this.events.setMaxListeners(100);
    this.boss = new PgBoss({
      connectionString: options.connectionString,
      schema: options.schema,
      max: options.poolSize ?? 10,
      application_name: "vidrelay-jobs",
      migrate: true,
      // Its maintenance would also expire leases its own way (see the file comment): off, and
      // archive + drop run on our timer instead.
      supervise: false,
      // No cron: its timekeeper would add a queue, a worker and timers we do not use.
      schedule: false,
      ...(options.archiveCompletedAfterSeconds
        ? { archiveCompletedAfterSeconds: options.archiveCompletedAfterSeconds }
        : {}),
      ...(options.archiveFailedAfterSeconds
        ? { archiveFailedAfterSeconds: options.archiveFailedAfterSeconds }
        : {}),
    });
    // An EventEmitter without an `error` listener throws: an idle pool connection dropping would
    // take the process down.
    this.boss.on("error", (error) => this.options.onError?.(error));
  }

  async start(): Promise<void> {
    if (this.state !== "new") return;
    await this.boss.start();
    this.state = "open";
    for (const kind of KINDS) await this.boss.createQueue(kind, { name: kind, policy: POLICIES[kind] });
    // Active jobs are looked up by lease expiry on every claim and counted by `depth`; pg-boss
    // indexes only queued states (job_i5). A partial index on the parent covers every partition,
    // including ones pg-boss attaches later.
    try {
      await this.exec(
        `CREATE INDEX IF NOT EXISTS vidrelay_job_active ON ${this.schema}.job (name, started_on) WHERE state = 'active'`,
      );
    } catch (error) {
      // Two processes starting at once: the loser of the race sees "already exists".
      if (!String((error as Error).message).includes("already exists")) throw error;
    }
    await this.fairness.createIndex();
    const every = this.options.maintenanceMs ?? 300_000;
    this.maintenanceTimer = setInterval(
      () => void this.maintain().catch((e) => this.options.onError?.(e)),
      every,
    );
    this.maintenanceTimer.unref();
  }

  /** Stop maintenance and close pg-boss's pool. Idempotent. */
  async close(): Promise<void> {
    if (this.state === "closed") return;
    const wasOpen = this.state === "open";
    this.state = "closed";
    if (this.maintenanceTimer) clearInterval(this.maintenanceTimer);
    await this.maintaining?.catch(() => {});
    this.events.removeAllListeners();
    this.leases.clear();
    if (wasOpen) await this.boss.stop({ graceful: false, close: true, wait: true });
  }

  /**
   * pg-boss's archive (finished jobs past their retention, queued jobs past `keep_until`) and
   * drop (archive rows past `deleteAfter`). Both take pg-boss's advisory lock, so processes can
   * run them at the same time. Its third step, `expire`, is deliberately not run.
   */
  async maintain(): Promise<void> {
    if (this.state !== "open") return;
    if (this.maintaining) return this.maintaining;
    this.maintaining = (async () => {
      await this.boss.archive();
      await (this.boss as unknown as { drop(): Promise<void> }).drop();
    })().finally(() => {
      this.maintaining = undefined;
    });
    return this.maintaining;
  }

  onEnqueue(listener: (kind?: JobKind) => void): void {
    this.events.on("enqueue", listener);
  }

  poke(kind?: JobKind): void {
    this.events.emit("enqueue", kind);
  }

  async enqueue(job: EnqueueOptions, trx?: Kysely<Database>): Promise<string> {
    this.assertOpen();
    const id = randomUUID();
    const policy = POLICIES[job.kind];
    if (!policy) throw new Error(`unknown job kind: ${job.kind}`);
    const maxAttempts = job.maxAttempts ?? 3;
    const sendOptions: PgBoss.SendOptions = {
      id,
      retryLimit: Math.max(0, maxAttempts - 1),
      // Singleton queues allow one active job per key; a job without a task is its own key.
      ...(policy === "singleton" ? { singletonKey: job.taskId ?? id } : {}),
      ...(job.runAt !== undefined ? { startAfter: new Date(job.runAt) } : {}),
      ...(trx ? { db: kyselyExecutor(trx) } : {}),
    };
    const data = { taskId: job.taskId ?? null, payload: job.payload ?? {}, fairKey: job.fairKey ?? "" };
    const sent = await this.boss.send(job.kind, data, sendOptions);
    // pg-boss answers null when its insert hit a uniqueness rule (none of ours should).
    if (sent !== id) throw new Error(`pg-boss did not accept the ${job.kind} job`);
    // Wake local workers after the caller's transaction has had a chance to commit.
    setImmediate(() => this.events.emit("enqueue", job.kind));
    return id;
  }

  /**
   * Up to `limit` due jobs of `kinds` (or active ones whose lease expired), leased to `owner`:
   * pg-boss's fetch across several queues, extended as the `claim` statement describes.
   */
  async claim(kinds: JobKind[], owner: string, leaseMs: number, limit: number): Promise<ClaimedJob[]> {
    if (limit <= 0 || kinds.length === 0) return [];
    this.assertOpen();
    // Fairness first (as in store-queue.ts): when the oldest waiting jobs are one account's backlog
    // and others wait too, the claim is limited to the jobs taken in turns between accounts.
    const only = await this.fairness.limitTo(kinds, limit);
    let rows: ClaimRow[] = [];
    for (let tries = 0; ; tries++) {
      try {
        rows = await this.exec<ClaimRow>(this.sql.claim, [
          kinds,
          limit,
          Math.max(1, Math.round(leaseMs)),
          owner,
          only,
        ]);
        break;
      } catch (error) {
        // Two claims activating two jobs of one singleton key at once: the second trips pg-boss's
        // unique index (job_i2) and its whole batch rolls back. Try again: the key is active now,
        // so that job is skipped.
        if ((error as { code?: string }).code !== "23505" || tries >= 2) throw error;
      }
    }
    return rows.map((row) => {
      const kind = row.name as JobKind;
      this.leases.set(leaseKey(owner, row.id), { kind, token: row.token });
      return {
        id: row.id,
        kind,
        taskId: row.data?.taskId ?? null,
        payload: row.data?.payload ?? {},
        attempt: Number(row.retry_count) + 1,
        maxAttempts: Number(row.retry_limit) + 1,
      };
    });
  }

  async renew(id: string, owner: string, leaseMs: number): Promise<boolean> {
    const lease = this.leases.get(leaseKey(owner, id));
    if (!lease) return false;
    const rows = await this.exec(this.sql.renew, [
      lease.kind,
      id,
      lease.token,
      owner,
      Math.max(1, Math.round(leaseMs)),
    ]);
    return rows.length > 0;
  }

  async complete(id: string, owner: string): Promise<void> {
    const lease = this.take(id, owner);
    if (!lease) return;
    await this.exec(this.sql.complete, [lease.kind, id, lease.token, owner]);
  }

  async fail(id: string, owner: string, error: string, retryAt: number | null): Promise<void> {
    const lease = this.take(id, owner);
    if (!lease) return;
    const output = JSON.stringify({ owner, error: error.slice(0, 2000) });
    if (retryAt == null) {
      // Dead letter: pg-boss's `failed` state is final (nothing claims it; archived later).
      await this.exec(this.sql.deadLetter, [lease.kind, id, lease.token, owner, output]);
      return;
    }
    // Back in line at exactly `retryAt`; the next claim counts the attempt (started before).
    await this.exec(this.sql.retry, [lease.kind, id, lease.token, owner, retryAt, output]);
  }

  async release(id: string, owner: string, runAt?: number): Promise<void> {
    const lease = this.take(id, owner);
    if (!lease) return;
    // Undo what the claim counted (the attempt and, on a first attempt, `started_on`).
    await this.exec(this.sql.release, [lease.kind, id, lease.token, owner, runAt ?? null]);
  }

  async depth(): Promise<Array<{ kind: string; status: string; n: number }>> {
    this.assertOpen();
    const rows = await this.exec<{ kind: string; status: string; n: number }>(this.sql.depth, [KINDS]);
    return rows.map((r) => ({ kind: r.kind, status: r.status, n: Number(r.n) }));
  }

  /** Remove this owner's claim from memory; every write after it is a no-op for a stale owner. */
  private take(id: string, owner: string): Lease | undefined {
    const key = leaseKey(owner, id);
    const lease = this.leases.get(key);
    this.leases.delete(key);
    return lease;
  }

  private async exec<Row = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<Row[]> {
    this.assertOpen();
    const result = await this.boss.getDb().executeSql(text, values);
    return (result?.rows ?? []) as Row[];
  }

  private assertOpen(): void {
    if (this.state !== "open")
      throw new Error(`pg-boss queue is ${this.state === "new" ? "not started" : "closed"}`);
  }
}

const leaseKey = (owner: string, id: string) => `${owner}\u0000${id}`;

/** pg-boss's `db` option over a Kysely transaction, so its insert joins the caller's transaction. */
function kyselyExecutor(trx: Kysely<Database>): PgBoss.Db {
  return {
    async executeSql(text: string, values: unknown[]) {
      const result = await trx.executeQuery(CompiledQuery.raw(text, values));
      return { rows: result.rows as unknown[] };
    },
  };
}
