/**
 * JobRunner bookkeeping against a scripted queue, for orderings a real store only produces under
 * load: here the test decides exactly when each claim and each hand-back returns.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import type { ClaimedJob, JobKind, JobQueue } from "../../src/jobs/queue.ts";
import { Deferred, JobRunner } from "../../src/jobs/runner.ts";
import { StoreJobQueue } from "../../src/jobs/store-queue.ts";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { migrateToLatest, openDatabase } from "../../src/store/db.ts";
import { freshSqlite } from "../helpers/databases.ts";

/** Promise.withResolvers, which Node 20 lacks. */
function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function job(id: string, attempt: number): ClaimedJob {
  return { id, kind: "deliver", taskId: null, payload: {}, attempt, maxAttempts: 5 } as ClaimedJob;
}

/** An in-memory queue whose claims `claim` answers; everything else succeeds at once. */
function queueClaiming(claim: JobQueue["claim"]): JobQueue {
  let listener: (kind?: JobKind) => void = () => {};
  return {
    enqueue: async () => "unused",
    claim,
    renew: async () => true,
    complete: async () => {},
    fail: async () => {},
    release: async () => {},
    depth: async () => [],
    onEnqueue: (l) => {
      listener = l;
    },
    poke: (kind) => listener(kind),
  };
}

/** A queue whose claims hand out a script, and whose release waits until the test lets it return. */
function scriptedQueue(claims: ClaimedJob[][]) {
  let listener = () => {};
  let letReleaseReturn = () => {};
  const releaseCalled = deferred();
  const queue: JobQueue = {
    enqueue: async () => "unused",
    claim: async (_kinds: JobKind[], _owner: string, _leaseMs: number, limit: number) =>
      (claims.shift() ?? []).slice(0, limit),
    renew: async () => true,
    complete: async () => {},
    fail: async () => {},
    release: async () => {
      releaseCalled.resolve();
      await new Promise<void>((resolve) => {
        letReleaseReturn = resolve;
      });
    },
    depth: async () => [],
    onEnqueue: (l) => {
      listener = l;
    },
    poke: () => listener(),
  };
  return { queue, releaseCalled: releaseCalled.promise, letReleaseReturn: () => letReleaseReturn() };
}

test("a job handed back and already running again is still counted once the first attempt's bookkeeping ends", async () => {
  // Claim 1: job A (it hands itself back). Claim 2: job A again, attempt 2, which runs until told.
  const { queue, releaseCalled, letReleaseReturn } = scriptedQueue([[job("A", 1)], [job("A", 2)]]);
  const secondRun = deferred();
  const secondStarted = deferred();
  const runner = new JobRunner(
    queue,
    {
      deliver: {
        concurrency: 4,
        async handle(claimed: ClaimedJob) {
          if (claimed.attempt === 1) throw new Deferred(0);
          secondStarted.resolve();
          await secondRun.promise;
        },
      },
    },
    { owner: "w", leaseMs: 60_000, pollMs: 60_000, logger: pino({ level: "silent" }) },
  );
  runner.start();
  await releaseCalled; // attempt 1 is handing A back …
  queue.poke(); // … and meanwhile A is claimed again and starts
  await secondStarted.promise;
  letReleaseReturn(); // now attempt 1 finishes its bookkeeping
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(runner.activeCount("deliver"), 1, "attempt 2 of A is still running and still counted");
  secondRun.resolve();
  await runner.stop(1000);
  assert.equal(runner.activeCount(), 0);
});

test("claiming yields to the event loop between rounds, so jobs that hand themselves back cannot starve timers and sockets", async () => {
  // An in-memory queue that always has `limit` due jobs and answers in a microtask, like a
  // synchronous SQLite store full of due deliveries whose host is busy (each job defers at once).
  let claims = 0;
  let claimsWhenTimerFired: number | undefined;
  let next = 0;
  const queue = queueClaiming(async (_kinds: JobKind[], _owner: string, _leaseMs: number, limit: number) => {
    claims++;
    // Bound the spin so a starving runner ends the test (with a failed assertion) instead of hanging it.
    if (claims > 2000) return [];
    return Array.from({ length: limit }, () => job(`J${next++}`, 1));
  });
  const runner = new JobRunner(
    queue,
    {
      deliver: {
        concurrency: 8,
        handle: async () => {
          throw new Deferred(200);
        },
      },
    },
    { owner: "w", leaseMs: 30_000, pollMs: 60_000, logger: pino({ level: "silent" }) },
  );
  const timerFired = new Promise<void>((resolve) =>
    setTimeout(() => {
      claimsWhenTimerFired = claims;
      resolve();
    }, 0),
  );
  runner.start();
  await timerFired;
  await runner.stop(0);
  assert.ok(claimsWhenTimerFired !== undefined);
  assert.ok(
    claimsWhenTimerFired < 50,
    `a 0 ms timer waited for ${claimsWhenTimerFired} claim rounds: the pump starves the event loop`,
  );
});

test("a kind whose claim found nothing is left alone for a while, unless a job of its kind is enqueued", async () => {
  const claimsByKind = new Map<JobKind, number>();
  const due: ClaimedJob[] = [];
  const queue = queueClaiming(async (kinds: JobKind[], _owner: string, _leaseMs: number, limit: number) => {
    claimsByKind.set(kinds[0]!, (claimsByKind.get(kinds[0]!) ?? 0) + 1);
    return kinds[0] === "deliver" ? due.splice(0, limit) : [];
  });
  let handled = 0;
  const noop = { concurrency: 4, handle: async () => {} };
  const runner = new JobRunner(
    queue,
    {
      deliver: {
        concurrency: 4,
        handle: async () => {
          handled++;
        },
      },
      render: noop,
      ingest: noop,
    },
    // A long pause, so the test does not depend on how fast this machine runs 40 jobs.
    {
      owner: "w",
      leaseMs: 60_000,
      pollMs: 400,
      emptyKindRecheckMs: 60_000,
      logger: pino({ level: "silent" }),
    },
  );
  const settle = () => new Promise((r) => setTimeout(r, 30));
  runner.start();
  await settle();
  const rendersAtStart = claimsByKind.get("render") ?? 0;
  // 40 deliveries, one poke each: each finishing wakes the runner, yet `render` and `ingest`
  // (empty) are not claimed again within the poll interval.
  for (let i = 0; i < 40; i++) {
    due.push(job(`J${i}`, 1));
    queue.poke("deliver");
  }
  for (let i = 0; i < 50 && handled < 40; i++) await settle();
  assert.equal(handled, 40);
  assert.equal(claimsByKind.get("render") ?? 0, rendersAtStart, "no claims for an empty kind");
  // A poke naming `render` asks for it at once.
  queue.poke("render");
  await settle();
  assert.equal(claimsByKind.get("render"), rendersAtStart + 1);
  // And with no news at all, the poll interval asks again.
  const before = claimsByKind.get("ingest") ?? 0;
  await new Promise((r) => setTimeout(r, 600));
  assert.ok((claimsByKind.get("ingest") ?? 0) > before, "polled again after the interval");
  await runner.stop(100);
});

test("a job whose lease lapsed and that this process claims again runs on under the new claim only", async () => {
  // The store stops answering lease renewals for attempt 1 (as when it is briefly unreachable), so
  // its lease lapses while it still runs, and this same process claims the job again. Leases are
  // held by owner, so without care attempt 1's late failure would be recorded against attempt 2's
  // claim (and the job run a third time).
  const database = await freshSqlite();
  const handle = openDatabase(database.url);
  try {
    await migrateToLatest(handle.db, ALL_MIGRATIONS);
    const store = new StoreJobQueue(handle.db);
    const queue: JobQueue = Object.assign(Object.create(store) as StoreJobQueue, {
      renew: async (id: string, owner: string, leaseMs: number) => {
        const row = await handle.db
          .selectFrom("jobs")
          .select("attempts")
          .where("id", "=", id)
          .executeTakeFirst();
        if (row?.attempts === 1) throw new Error("store unreachable");
        return store.renew(id, owner, leaseMs);
      },
    });
    const jobId = await queue.enqueue({ kind: "deliver", maxAttempts: 5 });
    const runs: number[] = [];
    const secondStarted = deferred();
    let firstSawAbortBeforeSecond = false;
    const runner = new JobRunner(
      queue,
      {
        deliver: {
          concurrency: 2,
          async handle(claimed: ClaimedJob, { signal }) {
            runs.push(claimed.attempt);
            if (claimed.attempt === 1) {
              await Promise.race([
                secondStarted.promise,
                new Promise((resolve) => signal.addEventListener("abort", resolve)),
              ]);
              firstSawAbortBeforeSecond = signal.aborted;
              await secondStarted.promise;
              throw new Error("attempt 1 fails late");
            }
            secondStarted.resolve();
            await new Promise((r) => setTimeout(r, 100));
          },
        },
      },
      { owner: "w", leaseMs: 300, pollMs: 50, emptyKindRecheckMs: 10, logger: pino({ level: "silent" }) },
    );
    runner.start();
    const deadline = Date.now() + 10_000;
    let row: { status: string; attempts: number; last_error: string | null } | undefined;
    for (;;) {
      row = await handle.db
        .selectFrom("jobs")
        .select(["status", "attempts", "last_error"])
        .where("id", "=", jobId)
        .executeTakeFirst();
      if (row?.status === "done" || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await new Promise((r) => setTimeout(r, 500)); // time for a wrong third run to show
    await runner.stop(1000);
    assert.equal(row?.status, "done");
    assert.deepEqual(runs, [1, 2], "one run per claim, no third");
    assert.ok(firstSawAbortBeforeSecond, "attempt 1 was stopped as soon as the job was claimed again");
    const final = await handle.db
      .selectFrom("jobs")
      .select(["status", "attempts"])
      .where("id", "=", jobId)
      .executeTakeFirst();
    assert.deepEqual({ ...final }, { status: "done", attempts: 2 });
  } finally {
    await handle.close();
  }
});

test("a job whose every attempt died with its process is buried, not run past max_attempts", async () => {
  // Two processes claimed the job and vanished (SIGKILL, out of memory): each lease lapsed. The
  // third claim finds attempt 3 of 2; running it could take this process down too.
  const database = await freshSqlite();
  const handle = openDatabase(database.url);
  try {
    await migrateToLatest(handle.db, ALL_MIGRATIONS);
    const queue = new StoreJobQueue(handle.db);
    const jobId = await queue.enqueue({ kind: "render", taskId: "task_x", maxAttempts: 2 });
    for (const owner of ["dead-1", "dead-2"]) {
      assert.equal((await queue.claim(["render"], owner, 1, 1)).length, 1);
      await new Promise((r) => setTimeout(r, 5));
    }
    const ran: number[] = [];
    const exhausted: string[] = [];
    const runner = new JobRunner(
      queue,
      {
        render: {
          concurrency: 1,
          async handle(claimed: ClaimedJob) {
            ran.push(claimed.attempt);
          },
          async exhausted(claimed: ClaimedJob, error: unknown) {
            exhausted.push(`${claimed.taskId}: ${(error as Error).message}`);
          },
        },
      },
      { owner: "w", leaseMs: 1000, pollMs: 20, logger: pino({ level: "silent" }) },
    );
    runner.start();
    const deadline = Date.now() + 5000;
    let row: { status: string; last_error: string | null } | undefined;
    do {
      await new Promise((r) => setTimeout(r, 20));
      row = await handle.db
        .selectFrom("jobs")
        .select(["status", "last_error"])
        .where("id", "=", jobId)
        .executeTakeFirst();
    } while (row?.status !== "dead" && Date.now() < deadline);
    await runner.stop(500);
    assert.deepEqual(ran, [], "the handler never ran a third time");
    assert.equal(row?.status, "dead");
    assert.match(row?.last_error ?? "", /lease lapsed on all 2 attempts/);
    assert.equal(exhausted.length, 1);
    assert.match(exhausted[0]!, /^task_x: /);
  } finally {
    await handle.close();
  }
});
