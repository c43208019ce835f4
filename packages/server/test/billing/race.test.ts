/**
 * Two gateway processes racing over one store. Each racer is a real Node process with its own
 * connection (for SQLite: its own file handle and locks), started together at an agreed instant.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Billing } from "../../src/billing/billing.ts";
import { Catalog } from "../../src/catalog/models.ts";
import { TaskRepository } from "../../src/tasks/repository.ts";
import {
  DIALECTS,
  newCustomer,
  openStore,
  type Racer,
  type Store,
  startRacer,
  submit,
  taskRow,
} from "./helpers.ts";

const PRICE = 350_000; // seedance-1-5-pro-with-audio, 5 s at 720p

let racers: Racer[] = [];
before(() => {
  racers = [startRacer(), startRacer()];
});
after(async () => {
  await Promise.all(racers.map((r) => r.close()));
});

/** Arm both processes, then start them at once. */
async function race(args: Record<string, unknown>[]): Promise<Array<Record<string, unknown[]>>> {
  await Promise.all(args.map((a, i) => racers[i]!.arm(a)));
  return Promise.all(args.map((_, i) => racers[i]!.go()));
}

for (const { name, make } of DIALECTS) {
  describe(`billing races between two processes on ${name}`, () => {
    let store: Store;
    let billing: Billing;
    let tasks: TaskRepository;

    before(async () => {
      store = await openStore(make);
      billing = new Billing(store.db, new Catalog(), { limitsCacheMs: 0 });
      await billing.prices.ensureDefaultPrices();
      tasks = new TaskRepository(store.db);
    });
    after(async () => {
      await store.close();
    });

    async function holdsOf(ids: string[]) {
      return store.bdb.selectFrom("billing_holds").selectAll().where("task_id", "in", ids).execute();
    }

    test("finishers race (succeed vs fail): each task settles once, as its winning status says", async (t) => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 30 * PRICE, "seed");
      const ids: string[] = [];
      for (let i = 0; i < 30; i++)
        ids.push((await submit(store.db, billing, taskRow(account.id, key.id))).id);
      const [winA, winB] = await race([
        { url: store.database.url, mode: "finish", taskIds: ids, status: "succeeded" },
        { url: store.database.url, mode: "finish", taskIds: ids, status: "failed" },
      ]);
      t.diagnostic(
        `finishes won by A/B: ${winA!.won!.filter(Boolean).length}/${winB!.won!.filter(Boolean).length}`,
      );
      const holds = new Map((await holdsOf(ids)).map((h) => [h.task_id, h]));
      let charged = 0;
      for (const [i, id] of ids.entries()) {
        const a = winA!.won![i] as boolean;
        const b = winB!.won![i] as boolean;
        assert.ok(a !== b, `exactly one process finished ${id}`);
        const task = (await tasks.getById(id))!;
        assert.equal(task.status, a ? "succeeded" : "failed");
        const hold = holds.get(id)!;
        assert.equal(hold.status, a ? "captured" : "released");
        assert.equal(Number(hold.amount_captured), a ? PRICE : 0);
        if (a) charged += PRICE;
        const kinds = (
          await store.bdb.selectFrom("billing_ledger").select("kind").where("task_id", "=", id).execute()
        )
          .map((r) => r.kind)
          .sort();
        assert.deepEqual(kinds, a ? ["capture", "hold"] : ["hold", "release"]);
      }
      const balance = await billing.ledger.balance(account.id);
      assert.equal(balance.balance_micros, 30 * PRICE - charged);
      assert.equal(balance.held_micros, 0);
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("direct settlements race without the task guard: the hold is still settled exactly once", async (t) => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 30 * PRICE, "seed");
      const ids: string[] = [];
      for (let i = 0; i < 30; i++)
        ids.push((await submit(store.db, billing, taskRow(account.id, key.id))).id);
      const [sA, sB] = await race([
        { url: store.database.url, mode: "settle", taskIds: ids, status: "succeeded" },
        { url: store.database.url, mode: "settle", taskIds: ids, status: "failed" },
      ]);
      t.diagnostic(
        `settlements by A/B: ${sA!.settled!.filter(Boolean).length}/${sB!.settled!.filter(Boolean).length}`,
      );
      let charged = 0;
      const holds = new Map((await holdsOf(ids)).map((h) => [h.task_id, h]));
      for (const [i, id] of ids.entries()) {
        const a = sA!.settled![i] as boolean;
        const b = sB!.settled![i] as boolean;
        assert.ok(a !== b, `exactly one settlement of ${id}`);
        assert.equal(holds.get(id)!.status, a ? "captured" : "released");
        if (a) charged += PRICE;
      }
      const balance = await billing.ledger.balance(account.id);
      assert.equal(balance.balance_micros, 30 * PRICE - charged);
      assert.equal(balance.held_micros, 0);
      const ledger = await store.bdb
        .selectFrom("billing_ledger")
        .select(["task_id", "kind"])
        .where("task_id", "in", ids)
        .where("kind", "in", ["capture", "release"])
        .execute();
      assert.equal(ledger.length, 30, "one capture or one release per task, never both, never twice");
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("balance for exactly 6 tasks: 20 concurrent submits from two processes accept exactly 6", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 6 * PRICE, "seed");
      const results = await race([
        { url: store.database.url, mode: "submit", accountId: account.id, keyId: key.id, count: 10 },
        { url: store.database.url, mode: "submit", accountId: account.id, keyId: key.id, count: 10 },
      ]);
      const outcomes = results.flatMap((r) => r.outcomes as string[]);
      assert.equal(outcomes.filter((o) => o === "accepted").length, 6, outcomes.join(", "));
      assert.equal(outcomes.filter((o) => o === "insufficient_balance").length, 14, outcomes.join(", "));
      const balance = await billing.ledger.balance(account.id);
      assert.equal(balance.held_micros, 6 * PRICE);
      assert.equal(balance.available_micros, 0);
      const taskCount = await store.db
        .selectFrom("tasks")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("account_id", "=", account.id)
        .executeTakeFirstOrThrow();
      assert.equal(Number(taskCount.n), 6, "refused submits created no task");
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("concurrency limit 5: 20 concurrent submits from two processes accept exactly 5", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 100 * PRICE, "seed");
      await billing.limits.set("key", key.id, { maxConcurrent: 5 });
      const results = await race([
        { url: store.database.url, mode: "submit", accountId: account.id, keyId: key.id, count: 10 },
        { url: store.database.url, mode: "submit", accountId: account.id, keyId: key.id, count: 10 },
      ]);
      const outcomes = results.flatMap((r) => r.outcomes as string[]);
      assert.equal(outcomes.filter((o) => o === "accepted").length, 5, outcomes.join(", "));
      assert.equal(
        outcomes.filter((o) => o === "concurrency_limit_exceeded").length,
        15,
        outcomes.join(", "),
      );
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("rate limit 7/min: 24 requests at one instant from two processes admit exactly 7", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.limits.set("key", key.id, { requestsPerMinute: 7 });
      const now = Math.floor(Date.now() / 60_000) * 60_000 + 30 * 60_000 + 1_000;
      const results = await race([
        { url: store.database.url, mode: "rate", accountId: account.id, keyId: key.id, count: 12, now },
        { url: store.database.url, mode: "rate", accountId: account.id, keyId: key.id, count: 12, now },
      ]);
      const outcomes = results.flatMap((r) => r.outcomes as string[]);
      assert.equal(outcomes.filter((o) => o === "allowed").length, 7, outcomes.join(", "));
      assert.equal(outcomes.filter((o) => o === "rate_limit_exceeded").length, 17, outcomes.join(", "));
    });
  });
}
