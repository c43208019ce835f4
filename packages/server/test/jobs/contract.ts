import assert from "node:assert/strict";
import { after as afterAll, afterEach, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { type Kysely, sql } from "kysely";
import pino from "pino";
import type { ClaimedJob, JobKind, JobQueue } from "../../src/jobs/queue.ts";
import { Deferred, JobRunner, RetryLater } from "../../src/jobs/runner.ts";
import type { Database } from "../../src/store/schema.ts";

/**
 * The `JobQueue` contract: what `jobs/runner.ts` and the lifecycle rely on, whichever queue is
 * behind the interface. `queue-contract.test.ts` runs it against every implementation.
 */

export interface QueueBackend {
  /** The queue under test, as one process has it. */
  queue: JobQueue;
  /** A second queue over the same storage, as another process has it (own connections). */
  other: JobQueue;
  /** The store whose transactions the queue joins (`enqueue(job, trx)`). */
  db: Kysely<Database>;
  close(): Promise<void>;
}

export const ALL_KINDS: JobKind[] = ["render", "deliver", "dispatch", "ingest"];
/** Lease for "a worker that is still alive": long enough never to lapse during a test. */
const LONG = 60_000;
/**
 * Lease for "a worker that was killed": short, so the test waits little, yet long enough that the
 * next statement (the "not while the lease holds" check) runs well inside it on a busy machine.
 */
const SHORT = 500;

/** Poll `probe` until it returns something truthy; fail after `ms`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T>,
  ms = 5000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) assert.fail(`timed out after ${ms} ms waiting for: ${what}`);
    await sleep(20);
  }
}

async function claimOne(q: JobQueue, kinds: JobKind[], owner: string, leaseMs = LONG) {
  const jobs = await q.claim(kinds, owner, leaseMs, 1);
  return jobs[0];
}

const depthOf = async (q: JobQueue, kind: string, status: "queued" | "running") =>
  (await q.depth()).find((d) => d.kind === kind && d.status === status)?.n ?? 0;

/** Tests leave nothing queued or running; this checks it (a leak fails here) and tidies up. */
async function assertDrained(q: JobQueue): Promise<void> {
  await eventually(
    "the queue to drain",
    async () => {
      for (const job of await q.claim(ALL_KINDS, "sweeper", LONG, 100)) await q.complete(job.id, "sweeper");
      return (await q.depth()).every((d) => d.n === 0);
    },
    3000,
  );
}

export function queueContract(make: () => Promise<QueueBackend>): void {
  let backend: QueueBackend;
  let queue: JobQueue;
  let other: JobQueue;
  before(async () => {
    backend = await make();
    ({ queue, other } = backend);
    await sql`create table contract_tasks (id varchar(64) primary key)`.execute(backend.db);
  });
  afterEach(() => assertDrained(queue));
  afterAll(() => backend?.close());

  test("a claim returns the job as enqueued: kind, task, payload, attempt 1, maxAttempts", async () => {
    const a = await queue.enqueue({
      kind: "render",
      taskId: "task_a",
      payload: { x: 1, nested: { y: "z" } },
    });
    const b = await queue.enqueue({ kind: "deliver", payload: {}, maxAttempts: 7 });
    const jobs = await queue.claim(["render", "deliver"], "w", LONG, 10);
    const byId = new Map(jobs.map((j) => [j.id, j]));
    assert.equal(jobs.length, 2);
    assert.deepEqual(byId.get(a), {
      id: a,
      kind: "render",
      taskId: "task_a",
      payload: { x: 1, nested: { y: "z" } },
      attempt: 1,
      maxAttempts: 3,
    });
    assert.deepEqual(byId.get(b), {
      id: b,
      kind: "deliver",
      taskId: null,
      payload: {},
      attempt: 1,
      maxAttempts: 7,
    });
    assert.deepEqual(
      await queue.claim(ALL_KINDS, "w2", LONG, 10),
      [],
      "a leased job is not handed out twice",
    );
    for (const id of [a, b]) await queue.complete(id, "w");
    assert.deepEqual(await queue.claim(ALL_KINDS, "w", LONG, 10), [], "a completed job is gone");
  });

  test("claims take only the kinds asked for, at most `limit` jobs", async () => {
    const render = await queue.enqueue({ kind: "render", taskId: "task_k" });
    const delivers = [];
    for (let i = 0; i < 3; i++) delivers.push(await queue.enqueue({ kind: "deliver", taskId: "task_k" }));
    assert.deepEqual(await queue.claim(["dispatch", "ingest"], "w", LONG, 10), []);
    assert.deepEqual(await queue.claim(["deliver"], "w", LONG, 0), []);
    const two = await queue.claim(["deliver"], "w", LONG, 2);
    assert.equal(two.length, 2);
    const last = await queue.claim(["deliver"], "w", LONG, 2);
    assert.deepEqual(
      [...two, ...last].map((j) => j.id).sort(),
      [...delivers].sort(),
      "the deliver jobs, each once, and not the render job",
    );
    assert.equal((await claimOne(queue, ["render"], "w"))?.id, render);
    for (const id of [render, ...delivers]) await queue.complete(id, "w");
  });

  test("claims take turns between accounts: one account's backlog does not hold another's job", async () => {
    // Account A queues 40 renders first; B then queues one, C two. With 2 free slots, the next
    // claim serves B and A (oldest first among accounts), not A twice; then C, and so on.
    const a: string[] = [];
    for (let i = 0; i < 40; i++)
      a.push(await queue.enqueue({ kind: "render", taskId: `task_fa${i}`, fairKey: "acct_a" }));
    await sleep(5);
    const b = await queue.enqueue({ kind: "render", taskId: "task_fb", fairKey: "acct_b" });
    await sleep(5);
    const c1 = await queue.enqueue({ kind: "render", taskId: "task_fc1", fairKey: "acct_c" });
    const c2 = await queue.enqueue({ kind: "render", taskId: "task_fc2", fairKey: "acct_c" });
    const first = (await queue.claim(["render"], "w", LONG, 2)).map((j) => j.id).sort();
    assert.deepEqual(first, [a[0], b].sort(), "B's job is taken at the first free slot, beside A's oldest");
    const second = (await queue.claim(["render"], "w", LONG, 2)).map((j) => j.id).sort();
    assert.deepEqual(second, [a[1], c1].sort(), "then C's, beside A's next");
    const third = (await queue.claim(["render"], "w", LONG, 2)).map((j) => j.id).sort();
    assert.deepEqual(third, [a[2], c2].sort());
    const rest = await queue.claim(["render"], "w", LONG, 100);
    assert.deepEqual(
      rest.map((j) => j.id).sort(),
      a.slice(3).sort(),
      "alone again, A's backlog goes in order",
    );
    for (const id of [...a, b, c1, c2]) await queue.complete(id, "w");
  });

  test("a job due later is not claimable before runAt, and is after", async () => {
    const runAt = Date.now() + 600;
    const id = await queue.enqueue({ kind: "dispatch", taskId: "task_d", runAt });
    assert.equal(await claimOne(queue, ALL_KINDS, "w"), undefined, "not before its time");
    assert.equal(await depthOf(queue, "dispatch", "queued"), 1, "but counted as queued");
    const job = await eventually("the delayed job", () => claimOne(queue, ALL_KINDS, "w"));
    assert.ok(Date.now() >= runAt - 25, `claimed ${runAt - Date.now()} ms early`);
    assert.equal(job.id, id);
    assert.equal(job.attempt, 1);
    await queue.complete(id, "w");
  });

  test("two processes claiming at once never get the same job", async () => {
    for (let round = 0; round < 8; round++) {
      const id = await queue.enqueue({ kind: "ingest", taskId: `task_race${round}` });
      const [mine, theirs] = await Promise.all([
        queue.claim(["ingest"], "a", LONG, 1),
        other.claim(["ingest"], "b", LONG, 1),
      ]);
      assert.equal(mine.length + theirs.length, 1, `round ${round}: exactly one claimer wins`);
      if (mine.length) await queue.complete(id, "a");
      else await other.complete(id, "b");
    }
    const ids = [];
    for (let i = 0; i < 12; i++) ids.push(await queue.enqueue({ kind: "deliver", payload: { i } }));
    const claims = await Promise.all(
      Array.from({ length: 6 }, (_, i) => (i % 2 ? other : queue).claim(["deliver"], `c${i}`, LONG, 12)),
    );
    const got = claims.flatMap((jobs, i) =>
      jobs.map((j) => ({ id: j.id, owner: `c${i}`, q: i % 2 ? other : queue })),
    );
    assert.deepEqual(got.map((g) => g.id).sort(), [...ids].sort(), "every job once, none twice");
    for (const g of got) await g.q.complete(g.id, g.owner);
  });

  test("a lapsed lease (worker killed) makes the job claimable again with attempt + 1; the old owner is locked out", async () => {
    const id = await queue.enqueue({ kind: "render", taskId: "task_crash", maxAttempts: 5 });
    const first = await claimOne(queue, ["render"], "dead", SHORT);
    assert.equal(first?.attempt, 1);
    assert.equal(await claimOne(other, ["render"], "live"), undefined, "not while the lease holds");
    const second = await eventually("the lapsed job", () => claimOne(other, ["render"], "live"));
    assert.deepEqual({ ...second }, { ...first, attempt: 2, maxAttempts: 5 });

    assert.equal(await queue.renew(id, "dead", LONG), false, "the old owner lost the lease");
    await queue.complete(id, "dead");
    await queue.fail(id, "dead", "late failure", null);
    await queue.fail(id, "dead", "late failure", Date.now());
    await queue.release(id, "dead");
    assert.equal(await depthOf(queue, "render", "running"), 1, "still running for the new owner");
    assert.equal(await claimOne(queue, ALL_KINDS, "third"), undefined, "and not claimable");
    assert.equal(await other.renew(id, "live", LONG), true, "the new owner's lease is intact");
    await other.complete(id, "live");
    assert.equal(await depthOf(queue, "render", "running"), 0);
  });

  test("renewing keeps the lease; once renewals stop it lapses", async () => {
    const id = await queue.enqueue({ kind: "deliver" });
    assert.equal((await claimOne(queue, ["deliver"], "a", SHORT))?.id, id);
    const until = Date.now() + 3 * SHORT;
    while (Date.now() < until) {
      await sleep(SHORT / 5); // the runner renews every third of the lease; leave a wider margin
      assert.equal(await queue.renew(id, "a", SHORT), true);
      assert.equal(await claimOne(other, ["deliver"], "b"), undefined, "a renewed lease holds");
    }
    const taken = await eventually("the job after renewals stopped", () => claimOne(other, ["deliver"], "b"));
    assert.equal(taken.attempt, 2);
    await other.complete(id, "b");
  });

  test("fail with retryAt puts the job back at that time; the next claim is the next attempt", async () => {
    const id = await queue.enqueue({ kind: "deliver", maxAttempts: 3 });
    assert.equal((await claimOne(queue, ["deliver"], "w"))?.attempt, 1);
    const retryAt = Date.now() + 500;
    await queue.fail(id, "w", "receiver said 503", retryAt);
    assert.equal(await claimOne(queue, ["deliver"], "w"), undefined, "not before retryAt");
    assert.equal(await depthOf(queue, "deliver", "queued"), 1);
    const again = await eventually("the retry", () => claimOne(queue, ["deliver"], "w"));
    assert.ok(Date.now() >= retryAt - 25, `retried ${retryAt - Date.now()} ms early`);
    assert.deepEqual([again.id, again.attempt, again.maxAttempts], [id, 2, 3]);
    await queue.fail(id, "w", "again", Date.now());
    const third = await eventually("the immediate retry", () => claimOne(other, ["deliver"], "x"));
    assert.deepEqual([third.attempt, third.maxAttempts], [3, 3]);
    await other.complete(id, "x");
  });

  test("fail without retryAt buries the job: it is never claimed again", async () => {
    const id = await queue.enqueue({ kind: "dispatch", taskId: "task_dead", maxAttempts: 3 });
    assert.equal((await claimOne(queue, ["dispatch"], "w"))?.id, id);
    await queue.fail(id, "w", "rejected upstream", null);
    assert.deepEqual(await queue.depth(), [], "a dead job is neither queued nor running");
    await sleep(150);
    assert.equal(await claimOne(queue, ALL_KINDS, "w"), undefined);
    assert.equal(await claimOne(other, ALL_KINDS, "w"), undefined);
  });

  test("release gives the job back without using an attempt, now or at runAt", async () => {
    const id = await queue.enqueue({ kind: "render", taskId: "task_rel", maxAttempts: 4 });
    assert.equal((await claimOne(queue, ["render"], "w"))?.attempt, 1);
    await queue.release(id, "w"); // graceful shutdown
    const same = await claimOne(other, ["render"], "next-process");
    assert.deepEqual([same?.id, same?.attempt, same?.maxAttempts], [id, 1, 4], "at once, still attempt 1");
    await other.fail(id, "next-process", "flaky", Date.now());
    const second = await eventually("the retry", () => claimOne(queue, ["render"], "w"));
    assert.equal(second.attempt, 2);
    const runAt = Date.now() + 400;
    await queue.release(id, "w", runAt); // deferral
    assert.equal(await claimOne(queue, ["render"], "w"), undefined, "deferred until runAt");
    assert.equal(await depthOf(queue, "render", "queued"), 1);
    const deferred = await eventually("the deferred job", () => claimOne(queue, ["render"], "w"));
    assert.ok(Date.now() >= runAt - 25);
    assert.equal(deferred.attempt, 2, "a deferral does not count an attempt");
    await queue.complete(id, "w");
  });

  test("completions asked for together all land, and each only for its owner", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push(await queue.enqueue({ kind: "deliver", taskId: `task_c${i}` }));
    const claimed = await queue.claim(["deliver"], "a", LONG, 30);
    assert.equal(claimed.length, 30);
    const [kept, ...rest] = claimed.map((job) => job.id);
    await Promise.all([...rest.map((id) => queue.complete(id, "a")), queue.complete(kept!, "intruder")]);
    assert.equal(await depthOf(queue, "deliver", "running"), 1, "the intruder's completion did nothing");
    assert.equal(await depthOf(queue, "deliver", "queued"), 0);
    assert.equal(
      await claimOne(other, ["deliver"], "b"),
      undefined,
      "completed jobs are not handed out again",
    );
    await queue.complete(kept!, "a");
  });

  test("only the owner can renew, complete, fail or release a job", async () => {
    const id = await queue.enqueue({ kind: "ingest", taskId: "task_own" });
    assert.ok(await claimOne(queue, ["ingest"], "owner"));
    for (const q of [queue, other]) {
      assert.equal(await q.renew(id, "intruder", LONG), false);
      await q.complete(id, "intruder");
      await q.fail(id, "intruder", "x", null);
      await q.fail(id, "intruder", "x", Date.now());
      await q.release(id, "intruder");
    }
    assert.equal(await depthOf(queue, "ingest", "running"), 1);
    assert.equal(await claimOne(other, ALL_KINDS, "intruder"), undefined);
    assert.equal(await queue.renew(id, "owner", LONG), true);
    await queue.complete(id, "owner");
  });

  test("depth counts queued and running jobs per kind, not finished or dead ones", async () => {
    assert.deepEqual(await queue.depth(), []);
    await queue.enqueue({ kind: "render", taskId: "task_depth1" });
    await queue.enqueue({ kind: "render", taskId: "task_depth2" });
    await queue.enqueue({ kind: "deliver" });
    await queue.enqueue({ kind: "deliver", runAt: Date.now() + 300 });
    const running = await claimOne(queue, ["render"], "w");
    const sorted = (await other.depth()).sort((a, b) =>
      `${a.kind}${a.status}`.localeCompare(`${b.kind}${b.status}`),
    );
    assert.deepEqual(sorted, [
      { kind: "deliver", status: "queued", n: 2 },
      { kind: "render", status: "queued", n: 1 },
      { kind: "render", status: "running", n: 1 },
    ]);
    await queue.complete(running!.id, "w");
    const dead = await claimOne(queue, ["render"], "w");
    await queue.fail(dead!.id, "w", "x", null);
    assert.notEqual(dead!.id, running!.id);
    assert.equal(await depthOf(queue, "render", "queued"), 0);
    assert.equal(await depthOf(queue, "render", "running"), 0);
  });

  test("enqueue joins the caller's transaction: rolled back → no job, committed → claimable", async () => {
    const { db } = backend;
    await assert.rejects(
      db.transaction().execute(async (trx) => {
        await sql`insert into contract_tasks (id) values ('task_rb')`.execute(trx);
        await queue.enqueue({ kind: "render", taskId: "task_rb" }, trx);
        throw new Error("the caller's next step failed");
      }),
      /next step failed/,
    );
    assert.equal(await claimOne(other, ALL_KINDS, "w"), undefined, "the rolled-back job does not exist");
    assert.deepEqual(await queue.depth(), []);

    let id = "";
    await db.transaction().execute(async (trx) => {
      await sql`insert into contract_tasks (id) values ('task_ok')`.execute(trx);
      id = await queue.enqueue({ kind: "render", taskId: "task_ok", payload: { p: 1 } }, trx);
      assert.equal(await claimOne(other, ALL_KINDS, "w"), undefined, "invisible until the commit");
    });
    const job = await claimOne(other, ALL_KINDS, "w");
    assert.deepEqual([job?.id, job?.taskId, job?.payload], [id, "task_ok", { p: 1 }]);
    const tasks = await sql<{ id: string }>`select id from contract_tasks order by id`.execute(db);
    assert.deepEqual(
      tasks.rows.map((r) => r.id),
      ["task_ok"],
    );
    await other.complete(id, "w");
  });

  test("enqueue and poke wake the local listeners", async () => {
    let woken = 0;
    queue.onEnqueue(() => woken++);
    queue.poke();
    assert.equal(woken, 1);
    const id = await queue.enqueue({ kind: "deliver" });
    await eventually("the enqueue wake-up", async () => woken >= 2);
    assert.equal((await claimOne(queue, ["deliver"], "w"))?.id, id);
    await queue.complete(id, "w");
  });

  test("JobRunner over the queue: retries after RetryLater, defers without an attempt, buries the last failure", async () => {
    const seen: Array<{ name: string; attempt: number; at: number }> = [];
    const exhausted: string[] = [];
    const runner = new JobRunner(
      queue,
      {
        deliver: {
          concurrency: 2,
          async handle(job: ClaimedJob) {
            const name = String(job.payload.name);
            seen.push({ name, attempt: job.attempt, at: Date.now() });
            const runs = seen.filter((s) => s.name === name).length;
            if (name === "flaky" && runs === 1) throw new RetryLater("503", 200);
            if (name === "busy" && runs === 1) throw new Deferred(100);
            if (name === "broken") throw new Error("always");
          },
          async exhausted(job: ClaimedJob) {
            exhausted.push(String(job.payload.name));
          },
        },
      },
      { owner: "runner", leaseMs: 2000, pollMs: 50, logger: pino({ level: "silent" }) },
    );
    for (const name of ["flaky", "busy"]) await queue.enqueue({ kind: "deliver", payload: { name } });
    await queue.enqueue({ kind: "deliver", payload: { name: "broken" }, maxAttempts: 1 });
    runner.start();
    try {
      await eventually(
        "the runner to finish",
        async () => seen.length >= 5 && (await queue.depth()).length === 0,
      );
    } finally {
      await runner.stop(1000);
    }
    const runs = (name: string) => seen.filter((s) => s.name === name);
    assert.deepEqual(
      runs("flaky").map((s) => s.attempt),
      [1, 2],
    );
    const [f1, f2] = runs("flaky");
    assert.ok(f2!.at - f1!.at >= 190, `retried after ${f2!.at - f1!.at} ms, asked for 200`);
    assert.deepEqual(
      runs("busy").map((s) => s.attempt),
      [1, 1],
    );
    assert.deepEqual(
      runs("broken").map((s) => s.attempt),
      [1],
    );
    assert.deepEqual(exhausted, ["broken"]);
  });
}
