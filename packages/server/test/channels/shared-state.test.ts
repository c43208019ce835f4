import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CircuitBreaker } from "../../src/channels/breaker.ts";
import { StoreQueryBudget, storeBudgets } from "../../src/channels/shared-budgets.ts";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import {
  BudgetExhausted,
  type BudgetSpec,
  MemoryQueryBudget,
  memoryBudgets,
  reserveSlot,
} from "../../src/providers/query-budget.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../src/store/db.ts";
import { freshPostgres, freshSqlite, type TestDatabase } from "../helpers/databases.ts";
import { busiestWindow } from "../helpers/windows.ts";

describe("reserveSlot: a sliding window, first come first served", () => {
  const spec = { limit: 3, windowMs: 1000 };

  test("the first `limit` slots start now; the next waits for the oldest to leave the window", () => {
    let state = { slots: [] as number[], pausedUntil: 0 };
    const starts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const next = reserveSlot(state, 10_000, spec);
      starts.push(next.at);
      state = next.state;
    }
    assert.deepEqual(starts, [10_000, 10_000, 10_000, 11_000, 11_000, 11_000, 12_000]);
    assert.deepEqual(state.slots, [11_000, 11_000, 12_000], "only the last `limit` slots are kept");
  });

  test("a slot never starts before an earlier one, nor before a pause ends", () => {
    const later = reserveSlot({ slots: [10_500], pausedUntil: 0 }, 10_000, spec);
    assert.equal(later.at, 10_500);
    const paused = reserveSlot({ slots: [], pausedUntil: 12_345 }, 10_000, spec);
    assert.equal(paused.at, 12_345);
    assert.equal(paused.state.pausedUntil, 12_345);
    const free = reserveSlot({ slots: [1000, 2000, 3000], pausedUntil: 0 }, 10_000, spec);
    assert.equal(free.at, 10_000, "slots older than the window do not hold anyone back");
  });

  test("a budget needs a limit of at least one", () => {
    assert.throws(
      () => new MemoryQueryBudget({ key: "k", limit: 0, windowMs: 1000, maxWaitMs: 0 }),
      /limit >= 1, got 0/,
    );
  });
});

describe("the in-memory budget", () => {
  test("refuses, without waiting or taking a slot, a caller that would wait past maxWaitMs", async () => {
    let now = 0;
    const budget = new MemoryQueryBudget({ key: "k", limit: 2, windowMs: 1000, maxWaitMs: 500 }, () => now);
    await budget.take();
    await budget.take();
    const refused = await budget.take().then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(refused instanceof BudgetExhausted);
    assert.equal(refused.waitMs, 1000);
    assert.match(refused.message, /used up for the next 1000 ms/);
    now = 1000;
    assert.equal(budget.nextStart(), 1000, "the refused caller took no slot");
    await budget.pause(300);
    assert.equal(budget.nextStart(), 1300);
  });

  test("memoryBudgets gives one budget per key", () => {
    const budgets = memoryBudgets();
    const spec: BudgetSpec = { key: "a", limit: 1, windowMs: 1000, maxWaitMs: 0 };
    assert.equal(budgets(spec), budgets({ ...spec }));
    assert.notEqual(budgets(spec), budgets({ ...spec, key: "b" }));
  });
});

for (const make of [freshSqlite, freshPostgres]) {
  describe(`state shared through the store (${make === freshSqlite ? "sqlite" : "postgres"})`, () => {
    let database: TestDatabase;
    // Two handles (two pools) stand for two processes: nothing is shared but the database.
    let one: DatabaseHandle;
    let two: DatabaseHandle;

    before(async () => {
      database = await make();
      one = openDatabase(database.url);
      await migrateToLatest(one.db, ALL_MIGRATIONS);
      two = openDatabase(database.url);
    });
    after(async () => {
      await one.close();
      await two.close();
      await database.drop();
    });

    test("two processes taking from one budget stay within it together, in order", async () => {
      const spec: BudgetSpec = { key: "poll:ch_shared", limit: 4, windowMs: 300, maxWaitMs: 10_000 };
      const starts: number[] = [];
      const taker = (handle: DatabaseHandle) => async () => {
        const budget = new StoreQueryBudget(handle.db, spec);
        for (let i = 0; i < 6; i++) {
          // The planned start of each reserved slot, as the budget planned it (a busy machine
          // wakes sleepers late, and late wake-ups bunch up; what the budget promises is the plan).
          const at = await budget.reserveAt();
          starts.push(at);
          await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
        }
      };
      const began = Date.now();
      await Promise.all([taker(one)(), taker(two)(), taker(one)(), taker(two)()]);
      // 24 calls at 4 per 300 ms: the last starts no earlier than 5 windows in.
      assert.ok(Date.now() - began >= 5 * 300 - 20, `24 calls took only ${Date.now() - began} ms`);
      // Windows of the budget's 300 ms, less a little for the clock's millisecond rounding.
      const busiest = busiestWindow(starts, 299);
      assert.ok(busiest <= 4, `at most 4 in any window (saw ${busiest})`);
      assert.equal(busiest, 4, "the budget was the limit: some window used all of it");
      const row = await one.db
        .selectFrom("query_budgets")
        .selectAll()
        .where("key", "=", spec.key)
        .executeTakeFirstOrThrow();
      assert.equal(row.version, 24, "every reservation was written exactly once");
      assert.equal((JSON.parse(row.slots_json) as number[]).length, 4);
    });

    test("a pause set by one process holds the other back; a longer wait is refused", async () => {
      const spec: BudgetSpec = { key: "dashscope:account:x:20", limit: 20, windowMs: 1100, maxWaitMs: 400 };
      await storeBudgets(one.db)(spec).pause(250);
      const other = new StoreQueryBudget(two.db, spec);
      const waited = await other.reserve();
      assert.ok(waited > 150 && waited <= 250, `the other process waits out the pause (${waited} ms)`);
      await new StoreQueryBudget(one.db, spec).pause(2000);
      await new StoreQueryBudget(one.db, spec).pause(10); // a shorter pause does not cut a longer one
      await assert.rejects(other.reserve(), BudgetExhausted);
    });

    test("a breaker opened by one process is open for the other; success closes it for both", async () => {
      const a = new CircuitBreaker(one.db, 3, 60_000);
      const b = new CircuitBreaker(two.db, 3, 60_000);
      await a.failure("ch_1");
      await b.failure("ch_1");
      assert.equal((await a.openChannels()).has("ch_1"), false, "two failures are under the threshold");
      assert.deepEqual(await b.openChannels(), new Set());
      await a.failure("ch_1");
      assert.equal(
        (await b.openChannels()).has("ch_1"),
        true,
        "the third failure, from either process, opens it",
      );
      assert.deepEqual(await b.openChannels(), new Set(["ch_1"]));
      await b.success("ch_1");
      assert.equal((await a.openChannels()).has("ch_1"), false);
      await a.failure("ch_1");
      assert.equal((await a.openChannels()).has("ch_1"), false, "the count started again from zero");
    });

    test("a trip opens at once; the cooldown ends it; the probe's failure re-opens it", async () => {
      const a = new CircuitBreaker(one.db, 3, 1000);
      const b = new CircuitBreaker(two.db, 3, 1000);
      const now = Date.now();
      await a.trip("ch_2", now);
      assert.equal((await b.openChannels(now + 999)).has("ch_2"), true);
      assert.equal(
        (await b.openChannels(now + 1000)).has("ch_2"),
        false,
        "cooled down: the next attempt is the probe",
      );
      assert.deepEqual(await b.openChannels(now + 1000), new Set());
      await b.failure("ch_2", now + 1000);
      assert.equal((await a.openChannels(now + 1999)).has("ch_2"), true, "one failed probe re-opens it");
      assert.equal((await a.openChannels()).has("ch_3"), false, "a channel never seen is closed");
    });

    test("a threshold of one opens on the first failure", async () => {
      const a = new CircuitBreaker(one.db, 1, 5000);
      await a.failure("ch_4");
      assert.equal((await a.openChannels()).has("ch_4"), true);
    });
  });
}
