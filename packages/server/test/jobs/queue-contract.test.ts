import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { openPgBossQueue, type PgBossQueue } from "../../src/jobs/pgboss-queue.ts";
import { StoreJobQueue } from "../../src/jobs/store-queue.ts";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { migrateToLatest, openDatabase } from "../../src/store/db.ts";
import { randomAlphanumeric } from "../../src/util/ids.ts";
import { freshPostgres, freshSqlite, POSTGRES_URL, type TestDatabase } from "../helpers/databases.ts";
import { withRecordedStore } from "../helpers/recorded-store.ts";
import { ALL_KINDS, eventually, type QueueBackend, queueContract } from "./contract.ts";

/**
 * One contract (./contract.ts), three queues: the store's `jobs` table on SQLite and on Postgres,
 * and pg-boss. Each backend has two queue objects over the same storage with their own
 * connections, standing for two processes.
 */

async function storeBackend(make: () => Promise<TestDatabase>): Promise<QueueBackend> {
  const database = await make();
  const one = openDatabase(database.url);
  await migrateToLatest(one.db, ALL_MIGRATIONS);
  const two = openDatabase(database.url);
  return {
    queue: new StoreJobQueue(one.db),
    other: new StoreJobQueue(two.db),
    db: one.db,
    async close() {
      await two.close();
      await one.close();
      await database.drop();
    },
  };
}

async function adminQuery(text: string, values: unknown[] = []) {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

/** Two pg-boss queues on one fresh pg-boss schema; a fresh store schema for the caller's transactions. */
async function pgBossBackend(): Promise<
  QueueBackend & { queue: PgBossQueue; other: PgBossQueue; schema: string }
> {
  const store = await freshPostgres();
  const handle = openDatabase(store.url);
  const schema = `pgboss_${randomAlphanumeric(12).toLowerCase()}`;
  const queue = await openPgBossQueue({ connectionString: POSTGRES_URL, schema, poolSize: 4 });
  const other = await openPgBossQueue({ connectionString: POSTGRES_URL, schema, poolSize: 4 });
  return {
    queue,
    other,
    schema,
    db: handle.db,
    async close() {
      await queue.close();
      await other.close();
      await handle.close();
      await adminQuery(`drop schema if exists ${schema} cascade`);
      await store.drop();
    },
  };
}

describe("JobQueue contract: StoreJobQueue on SQLite", () => queueContract(() => storeBackend(freshSqlite)));
describe("JobQueue contract: StoreJobQueue on Postgres", () =>
  queueContract(() => storeBackend(freshPostgres)));
describe("JobQueue contract: PgBossQueue", () => queueContract(pgBossBackend));

describe("StoreJobQueue specifics", () => {
  test("completions asked for in one turn are written by one statement", () =>
    withRecordedStore(freshSqlite, async ({ db, kinds }) => {
      const queue = new StoreJobQueue(db);
      for (let i = 0; i < 40; i++) await queue.enqueue({ kind: "deliver", taskId: `task_b${i}` });
      const claimed = await queue.claim(ALL_KINDS, "w", 60_000, 40);
      kinds.length = 0;
      await Promise.all(claimed.map((job) => queue.complete(job.id, "w")));
      assert.deepEqual(kinds, ["UpdateQueryNode"], "one UPDATE for 40 completions");
      assert.deepEqual(await queue.depth(), []);
    }));
});

describe("PgBossQueue specifics", () => {
  let backend: Awaited<ReturnType<typeof pgBossBackend>>;
  before(async () => {
    backend = await pgBossBackend();
  });
  after(() => backend?.close());

  test("its own schema holds one pg-boss queue per kind; one-per-task kinds are singletons", async () => {
    const { rows } = await adminQuery(`select name, policy from ${backend.schema}.queue order by name`);
    assert.deepEqual(rows, [
      { name: "deliver", policy: "standard" },
      { name: "dispatch", policy: "singleton" },
      { name: "ingest", policy: "singleton" },
      { name: "render", policy: "singleton" },
    ]);
  });

  test("a singleton kind runs one job per task at a time; other tasks and deliveries are not held up", async () => {
    const { queue, other } = backend;
    const x1 = await queue.enqueue({ kind: "render", taskId: "task_x" });
    const x2 = await queue.enqueue({ kind: "render", taskId: "task_x" });
    const y = await queue.enqueue({ kind: "render", taskId: "task_y" });
    const d1 = await queue.enqueue({ kind: "deliver", taskId: "task_x" });
    const d2 = await queue.enqueue({ kind: "deliver", taskId: "task_x" });
    const first = await queue.claim(["render", "deliver"], "w", 60_000, 10);
    assert.deepEqual(first.map((j) => j.id).sort(), [x1, y, d1, d2].sort());
    assert.deepEqual(await other.claim(["render"], "v", 60_000, 10), [], "task_x's second render waits");
    for (const id of [x1, y, d1, d2]) await queue.complete(id, "w");
    const next = await other.claim(["render"], "v", 60_000, 10);
    assert.deepEqual(
      next.map((j) => j.id),
      [x2],
    );
    await other.complete(x2, "v");

    // Racing claimers for two jobs of one task: one job runs, the other waits, nobody errors.
    const a = await queue.enqueue({ kind: "dispatch", taskId: "task_z" });
    const b = await queue.enqueue({ kind: "dispatch", taskId: "task_z" });
    const claims = await Promise.all(
      Array.from({ length: 4 }, (_, i) => (i % 2 ? other : queue).claim(["dispatch"], `c${i}`, 60_000, 1)),
    );
    const winners = claims.flatMap((jobs, i) => jobs.map((job) => ({ job, i })));
    assert.equal(winners.length, 1, "one dispatch of task_z at a time");
    const { job, i } = winners[0]!;
    await (i % 2 ? other : queue).complete(job.id, `c${i}`);
    const rest = await queue.claim(["dispatch"], "w", 60_000, 5);
    assert.deepEqual(
      rest.map((j) => j.id),
      [a, b].filter((id) => id !== job.id),
    );
    await queue.complete(rest[0]!.id, "w");
  });

  test("a stale claim is told apart by its start time, even when the new owner has the same name", async () => {
    const { queue, other } = backend;
    const id = await queue.enqueue({ kind: "ingest", taskId: "task_same" });
    await queue.claim(["ingest"], "worker", 300, 1);
    await eventually(
      "the lapsed job",
      async () => (await other.claim(["ingest"], "worker", 60_000, 1)).length,
    );
    assert.equal(await queue.renew(id, "worker", 60_000), false);
    await queue.complete(id, "worker");
    await queue.fail(id, "worker", "stale", null);
    const { rows } = await adminQuery(
      `select state, retry_count, output->>'owner' as owner from ${backend.schema}.job where id = $1`,
      [id],
    );
    assert.deepEqual(rows, [{ state: "active", retry_count: 1, owner: "worker" }]);
    await other.complete(id, "worker");
  });

  test("a retry far ahead keeps the job past pg-boss's default retention, and maintenance leaves it", async () => {
    const { queue } = backend;
    const id = await queue.enqueue({ kind: "deliver" });
    await queue.claim(["deliver"], "w", 60_000, 1);
    const retryAt = Date.now() + 20 * 86_400_000;
    await queue.fail(id, "w", "receiver down", retryAt);
    await queue.maintain();
    const { rows } = await adminQuery(
      `select state, extract(epoch from start_after) * 1000 as start_ms,
              keep_until > start_after + interval '13 days' as kept
       from ${backend.schema}.job where id = $1`,
      [id],
    );
    assert.equal(rows.length, 1);
    assert.equal(rows[0].state, "retry");
    assert.ok(Math.abs(Number(rows[0].start_ms) - retryAt) < 2, "start_after is retryAt to the millisecond");
    assert.equal(rows[0].kept, true);
    await adminQuery(`delete from ${backend.schema}.job where id = $1`, [id]);
  });

  test("close is idempotent and the queue refuses work afterwards", async () => {
    const schema = `pgboss_${randomAlphanumeric(12).toLowerCase()}`;
    const queue = await openPgBossQueue({ connectionString: POSTGRES_URL, schema, poolSize: 2 });
    try {
      await queue.enqueue({ kind: "render", taskId: "task_c" });
      await queue.close();
      await queue.close();
      await assert.rejects(queue.claim(ALL_KINDS, "w", 1000, 1), /closed/);
      await assert.rejects(queue.enqueue({ kind: "render" }), /closed/);
      // Reopening the same schema finds the job (pg-boss's install is idempotent).
      const again = await openPgBossQueue({ connectionString: POSTGRES_URL, schema, poolSize: 2 });
      try {
        assert.deepEqual(await again.depth(), [{ kind: "render", status: "queued", n: 1 }]);
      } finally {
        await again.close();
      }
    } finally {
      await queue.close();
      await adminQuery(`drop schema if exists ${schema} cascade`);
    }
  });
});
