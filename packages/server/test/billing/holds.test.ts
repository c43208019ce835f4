/**
 * BillingHolds in detail: what a hold writes (the hold row, its ledger row, the key's counters),
 * the exact refusals a client sees, and how a finished task is settled — seconds and tokens
 * bounded to what was held, where the task was really rendered, what a provider's report can and
 * cannot change. The ledger suite covers the money flows end to end; this one pins the rules.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Billing } from "../../src/billing/billing.ts";
import { outcomeFromRow, settleOutcome } from "../../src/billing/holds.ts";
import { DAY_MS, dayOf, inflightKey, readCounter, spendKey } from "../../src/billing/limits.ts";
import { Catalog } from "../../src/catalog/models.ts";
import type { ApiError } from "../../src/domain/errors.ts";
import type { TaskRow } from "../../src/store/schema.ts";
import { DIALECTS, newCustomer, openStore, type Store, submit, taskRow } from "./helpers.ts";

/** Seedance 1.5 pro with audio at 720p: $0.07/s. */
const PER_SECOND_720P = 70_000;

const succeeded = (task: TaskRow, video?: unknown): TaskRow => ({
  ...task,
  status: "succeeded",
  video_json: video === undefined ? null : typeof video === "string" ? video : JSON.stringify(video),
});

describe("settle outcomes (pure)", () => {
  const row = taskRow("acct_x", "key_x", { seconds: 8 });

  test("a failed task settles as failed whatever the provider reported", () => {
    assert.deepEqual(outcomeFromRow({ ...row, status: "failed" }), { status: "failed" });
    assert.deepEqual(settleOutcome({ ...row, status: "failed" }, { seconds: 4, tokens: 10 }), {
      status: "failed",
    });
    assert.deepEqual(outcomeFromRow({ ...row, status: "running" }), { status: "failed" });
  });

  test("a succeeded task is billed on its stored video's duration, else on the requested seconds", () => {
    assert.deepEqual(outcomeFromRow(succeeded(row, { duration: 4.2 })), {
      status: "succeeded",
      seconds: 4.2,
    });
    assert.deepEqual(outcomeFromRow(succeeded(row)), { status: "succeeded", seconds: 8 });
    assert.deepEqual(outcomeFromRow(succeeded(row, { duration: 0 })), { status: "succeeded", seconds: 8 });
    assert.deepEqual(outcomeFromRow(succeeded(row, { duration: -3 })), { status: "succeeded", seconds: 8 });
    assert.deepEqual(outcomeFromRow(succeeded(row, { duration: "4" })), { status: "succeeded", seconds: 8 });
    assert.deepEqual(outcomeFromRow(succeeded(row, {})), { status: "succeeded", seconds: 8 });
    assert.deepEqual(outcomeFromRow(succeeded(row, "{not json")), { status: "succeeded", seconds: 8 });
  });

  test("the provider's own count wins where it gave one; a zero count is not a count", () => {
    const done = succeeded(row, { duration: 6 });
    assert.deepEqual(settleOutcome(done), { status: "succeeded", seconds: 6 });
    assert.deepEqual(settleOutcome(done, {}), { status: "succeeded", seconds: 6, tokens: undefined });
    assert.deepEqual(settleOutcome(done, { seconds: 3 }), {
      status: "succeeded",
      seconds: 3,
      tokens: undefined,
    });
    assert.deepEqual(settleOutcome(done, { seconds: 0 }), {
      status: "succeeded",
      seconds: 6,
      tokens: undefined,
    });
    assert.deepEqual(settleOutcome(done, { tokens: 1200 }), {
      status: "succeeded",
      seconds: 6,
      tokens: 1200,
    });
    assert.deepEqual(settleOutcome(done, { tokens: 0 }), {
      status: "succeeded",
      seconds: 6,
      tokens: undefined,
    });
    assert.deepEqual(settleOutcome(done, { tokens: -5 }), {
      status: "succeeded",
      seconds: 6,
      tokens: undefined,
    });
    assert.deepEqual(settleOutcome(done, { seconds: -1, tokens: 3 }), {
      status: "succeeded",
      seconds: 6,
      tokens: 3,
    });
  });
});

for (const { name, make } of DIALECTS) {
  describe(`billing holds on ${name}`, () => {
    let store: Store;
    let billing: Billing;

    before(async () => {
      store = await openStore(make);
      billing = new Billing(store.db, new Catalog(), { limitsCacheMs: 0, concurrencyRetryAfterSeconds: 7 });
      await billing.prices.ensureDefaultPrices();
    });
    after(async () => {
      await store.close();
    });

    async function funded(amount = 10_000_000) {
      const customer = await newCustomer(store.accounts);
      await billing.ledger.topup(customer.account.id, amount, `seed-${customer.account.id}`);
      return customer;
    }
    const holdOf = (taskId: string) =>
      store.bdb
        .selectFrom("billing_holds")
        .selectAll()
        .where("task_id", "=", taskId)
        .executeTakeFirstOrThrow();
    const ledgerOf = async (taskId: string) =>
      (
        await store.bdb
          .selectFrom("billing_ledger")
          .select(["kind", "amount", "key_id", "currency", "idempotency_key"])
          .where("task_id", "=", taskId)
          .orderBy("id")
          .execute()
      ).map((r) => ({ ...r, amount: Number(r.amount) }));
    const counter = (key: string) => readCounter(store.bdb, key);
    const counterExpiry = async (key: string) =>
      (
        await store.bdb
          .selectFrom("billing_counters")
          .select("expires_at")
          .where("counter_key", "=", key)
          .executeTakeFirst()
      )?.expires_at;
    const settle = (task: TaskRow, usage?: { seconds?: number; tokens?: number }) =>
      store.db.transaction().execute((trx) => billing.holds.settleFinishedTask(trx, task, usage));
    const refusal = (p: Promise<unknown>) =>
      p.then(
        () => assert.fail("expected a refusal"),
        (e: ApiError) => e,
      );

    test("a hold writes its row, one ledger row and the key's counters", async () => {
      const { account, key } = await funded();
      const now = Date.parse("2026-06-01T10:00:00Z");
      const task = taskRow(account.id, key.id, { seconds: 4, createdAt: now });
      const result = await store.db.transaction().execute(async (trx) => {
        await trx.insertInto("tasks").values(task).execute();
        return billing.holds.holdForTaskRow(trx, task);
      });
      assert.deepEqual(result, {
        held: 4 * PER_SECOND_720P,
        currency: "USD",
        priceVersion: 1,
        billable: true,
      });
      const hold = await holdOf(task.id);
      assert.equal(hold.status, "open");
      assert.equal(Number(hold.amount_held), 4 * PER_SECOND_720P);
      assert.equal(hold.resolution, "720p");
      assert.equal(Number(hold.seconds), 4);
      assert.equal(hold.provider, "ark");
      assert.equal(Number(hold.billable), 1);
      assert.equal(Number(hold.local_free), 1, "local renders are free by default");
      assert.equal(Number(hold.price_version), 1);
      assert.ok(hold.price_id);
      assert.equal(hold.currency, "USD");
      assert.equal(Number(hold.day), dayOf(now));
      assert.equal(Number(hold.created_at), now);
      assert.equal(hold.settled_at, null);
      assert.equal(hold.amount_captured, null);
      assert.deepEqual(await ledgerOf(task.id), [
        {
          kind: "hold",
          amount: 4 * PER_SECOND_720P,
          key_id: key.id,
          currency: "USD",
          idempotency_key: `hold:${task.id}`,
        },
      ]);
      assert.equal(await counter(inflightKey(key.id)), 1);
      assert.equal(await counter(spendKey(key.id, dayOf(now))), 4 * PER_SECOND_720P);
      assert.equal(Number(await counterExpiry(spendKey(key.id, dayOf(now)))), (dayOf(now) + 3) * DAY_MS);
      assert.equal(await counterExpiry(inflightKey(key.id)), null, "the in-flight counter never expires");
    });

    test("a task row without a resolution is held at its model's default; an unknown model without one is an error", async () => {
      const { account, key } = await funded();
      const task = { ...taskRow(account.id, key.id), request_json: JSON.stringify({ seconds: 5 }) };
      await submit(store.db, billing, task);
      const defaultResolution = new Catalog().get(task.model)?.defaultResolution;
      assert.ok(defaultResolution);
      assert.equal((await holdOf(task.id)).resolution, defaultResolution);

      const unknown = { ...taskRow(account.id, key.id), model: "no-such-model", request_json: "{}" };
      await assert.rejects(
        submit(store.db, billing, unknown),
        new RegExp(`task ${unknown.id} has no resolution`),
      );
    });

    test("insufficient balance: 403 with the worst case, the available balance and what to do", async () => {
      const { account, key } = await funded(5 * PER_SECOND_720P - 100);
      const e = await refusal(submit(store.db, billing, taskRow(account.id, key.id)));
      assert.equal(e.status, 403);
      assert.equal(e.type, "insufficient_quota");
      assert.equal(e.code, "insufficient_balance");
      assert.equal(
        e.message,
        "this task can cost up to 0.3500 USD (5 s at 720p) but the account has 0.3499 USD available; " +
          "top up the account, or ask for fewer seconds or a lower resolution",
      );
      assert.equal((await billing.ledger.balance(account.id)).held_micros, 0);
      assert.equal(await counter(inflightKey(key.id)), 0);
    });

    test("concurrency limit: 429 naming the limit, Retry-After from the options, nothing held", async () => {
      const { account, key } = await funded();
      await billing.limits.set("key", key.id, { maxConcurrent: 1 });
      await submit(store.db, billing, taskRow(account.id, key.id));
      const e = await refusal(submit(store.db, billing, taskRow(account.id, key.id)));
      assert.equal(e.status, 429);
      assert.equal(e.type, "rate_limit_error");
      assert.equal(e.code, "concurrency_limit_exceeded");
      assert.equal(
        e.message,
        "this key already has 1 tasks in progress, its limit; wait for one to finish, then retry",
      );
      assert.deepEqual(e.headers, { "Retry-After": "7" });
      assert.equal(
        (await billing.ledger.balance(account.id)).held_micros,
        5 * PER_SECOND_720P,
        "only the first",
      );
      assert.equal(await counter(inflightKey(key.id)), 1);
    });

    test("daily spend cap: the message quotes cap, committed and cost; Retry-After runs to UTC midnight, at least 1 s", async () => {
      const { account, key } = await funded();
      await billing.limits.set("key", key.id, { dailySpendCap: 5 * PER_SECOND_720P + 1 });
      const lastSecond = Date.parse("2026-06-02T23:59:59.500Z");
      await submit(store.db, billing, taskRow(account.id, key.id, { createdAt: lastSecond }));
      const e = await refusal(
        submit(store.db, billing, taskRow(account.id, key.id, { createdAt: lastSecond, seconds: 1 })),
      );
      assert.equal(e.status, 403);
      assert.equal(e.type, "insufficient_quota");
      assert.equal(e.code, "daily_spend_cap_exceeded");
      assert.equal(
        e.message,
        "this key may spend 0.3500 USD per UTC day and has committed 0.3500; this task can cost up to 0.0700. " +
          "Retry tomorrow or ask the operator to raise the cap",
      );
      assert.deepEqual(e.headers, { "Retry-After": "1" });
      const midday = Date.parse("2026-06-03T12:00:00Z");
      await submit(store.db, billing, taskRow(account.id, key.id, { createdAt: midday, seconds: 5 }));
      const e2 = await refusal(
        submit(store.db, billing, taskRow(account.id, key.id, { createdAt: midday, seconds: 1 })),
      );
      assert.deepEqual(e2.headers, { "Retry-After": String(12 * 3600) });
      // Exactly at the cap is allowed: the cap is inclusive.
      const { account: a2, key: k2 } = await funded();
      await billing.limits.set("key", k2.id, { dailySpendCap: 5 * PER_SECOND_720P });
      await submit(store.db, billing, taskRow(a2.id, k2.id, { createdAt: midday }));
    });

    test("free tasks: no money held, no ledger row, no spend; the concurrency slot still counts", async () => {
      const { account, key } = await funded(0 + 1);
      await billing.limits.set("key", key.id, { dailySpendCap: 1 });
      const now = Date.parse("2026-06-04T09:00:00Z");
      const local = taskRow(account.id, key.id, { provider: "local", createdAt: now });
      const result = await store.db.transaction().execute(async (trx) => {
        await trx.insertInto("tasks").values(local).execute();
        return billing.holds.holdForTaskRow(trx, local);
      });
      assert.equal(result.held, 0);
      assert.equal(result.billable, false);
      const hold = await holdOf(local.id);
      assert.equal(Number(hold.billable), 0);
      assert.deepEqual(await ledgerOf(local.id), []);
      assert.equal(await counter(spendKey(key.id, dayOf(now))), 0);
      assert.equal(await counter(inflightKey(key.id)), 1);
      const settled = await settle(succeeded(local));
      assert.deepEqual(settled, {
        settled: true,
        captured: 0,
        released: 0,
        usage: { seconds: 5, resolution: "720p", cost: "0.0000", currency: "USD" },
      });
      assert.deepEqual(await ledgerOf(local.id), [], "nothing captured or released: no ledger rows");
      assert.equal(await counter(inflightKey(key.id)), 0);
    });

    test("a test-mode key's local render is free even when local renders are priced; its relayed task is not", async () => {
      const priced = new Billing(store.db, new Catalog(), { limitsCacheMs: 0, localRenders: "priced" });
      const { account, key } = await funded();
      const local = taskRow(account.id, key.id, { provider: "local", testMode: true });
      await submit(store.db, priced, local);
      assert.equal(Number((await holdOf(local.id)).amount_held), 0);
      assert.equal(Number((await holdOf(local.id)).local_free), 1);
      const relayed = taskRow(account.id, key.id, { provider: "ark", testMode: true });
      await submit(store.db, priced, relayed);
      assert.equal(Number((await holdOf(relayed.id)).amount_held), 5 * PER_SECOND_720P);
      const paidLocal = taskRow(account.id, key.id, { provider: "local" });
      await submit(store.db, priced, paidLocal);
      assert.equal(Number((await holdOf(paidLocal.id)).amount_held), 5 * PER_SECOND_720P);
      assert.equal(Number((await holdOf(paidLocal.id)).local_free), 0);
      // Rendered where it was planned, priced: charged in full.
      const s = await store.db
        .transaction()
        .execute((trx) => priced.holds.settleFinishedTask(trx, succeeded(paidLocal)));
      assert.equal(s.captured, 5 * PER_SECOND_720P);
    });

    test("a relayed task that fell back to the local engine is free when local renders are", async () => {
      const { account, key } = await funded();
      const task = taskRow(account.id, key.id, { provider: "ark" });
      await submit(store.db, billing, task);
      const result = await settle({ ...succeeded(task), provider: "local" });
      assert.equal(result.captured, 0);
      assert.equal(result.released, 5 * PER_SECOND_720P);
      assert.equal((await billing.ledger.balance(account.id)).balance_micros, 10_000_000);
    });

    test("billed seconds: the provider's duration rounded, at least 1 s, never above what was asked", async () => {
      const { account, key } = await funded();
      const cases: Array<[number | undefined, number]> = [
        [3.2, 3],
        [2.5, 3],
        [0.2, 1],
        [9, 5],
        [Number.NaN, 5],
        [Number.POSITIVE_INFINITY, 5],
        [undefined, 5],
      ];
      for (const [reported, billed] of cases) {
        const task = taskRow(account.id, key.id, { seconds: 5 });
        await submit(store.db, billing, task);
        const r = await store.db
          .transaction()
          .execute((trx) =>
            billing.holds.settleTask(trx, task, { status: "succeeded", seconds: reported }, Date.now()),
          );
        assert.equal(Number((await holdOf(task.id)).billed_seconds), billed, `reported ${reported}`);
        assert.equal(r.captured, billed * PER_SECOND_720P, `reported ${reported}`);
        assert.equal(r.released, (5 - billed) * PER_SECOND_720P);
        assert.equal(r.usage?.seconds, billed);
      }
    });

    test("billed tokens are whole and never negative; absent tokens are stored as none", async () => {
      const { account, key } = await funded();
      const cases: Array<[number | undefined, number | null]> = [
        [1234.6, 1235],
        [-4, 0],
        [undefined, null],
      ];
      for (const [reported, stored] of cases) {
        const task = taskRow(account.id, key.id);
        await submit(store.db, billing, task);
        await store.db
          .transaction()
          .execute((trx) =>
            billing.holds.settleTask(trx, task, { status: "succeeded", seconds: 5, tokens: reported }),
          );
        const hold = await holdOf(task.id);
        assert.equal(hold.billed_tokens === null ? null : Number(hold.billed_tokens), stored);
      }
    });

    test("settling: capture and release rows, the cached balance, the key's counters, once only", async () => {
      const { account, key } = await funded();
      const now = Date.parse("2026-06-05T10:00:00Z");
      const task = taskRow(account.id, key.id, { createdAt: now });
      await submit(store.db, billing, task);
      const first = await settle(succeeded(task, { duration: 2 }));
      assert.equal(first.settled, true);
      assert.equal(first.captured, 2 * PER_SECOND_720P);
      assert.equal(first.released, 3 * PER_SECOND_720P);
      assert.deepEqual(first.usage, { seconds: 2, resolution: "720p", cost: "0.1400", currency: "USD" });
      assert.deepEqual(
        (await ledgerOf(task.id)).map((r) => [r.kind, r.amount, r.idempotency_key]),
        [
          ["hold", 5 * PER_SECOND_720P, `hold:${task.id}`],
          ["capture", 2 * PER_SECOND_720P, `capture:${task.id}`],
          ["release", 3 * PER_SECOND_720P, `release:${task.id}`],
        ],
      );
      const hold = await holdOf(task.id);
      assert.equal(hold.status, "captured");
      assert.equal(Number(hold.amount_captured), 2 * PER_SECOND_720P);
      assert.equal(Number(hold.amount_computed), 2 * PER_SECOND_720P);
      assert.ok(Number(hold.settled_at) > 0);
      const balance = await billing.ledger.balance(account.id);
      assert.equal(balance.balance_micros, 10_000_000 - 2 * PER_SECOND_720P);
      assert.equal(balance.held_micros, 0);
      assert.equal(await counter(inflightKey(key.id)), 0);
      assert.equal(
        await counter(spendKey(key.id, dayOf(now))),
        2 * PER_SECOND_720P,
        "the released part is no longer committed",
      );

      assert.deepEqual(await settle(succeeded(task, { duration: 2 })), {
        settled: false,
        captured: 0,
        released: 0,
      });
      assert.deepEqual(await settle({ ...task, status: "failed" }), {
        settled: false,
        captured: 0,
        released: 0,
      });
      assert.equal((await ledgerOf(task.id)).length, 3);
      assert.equal(
        (await billing.ledger.balance(account.id)).balance_micros,
        10_000_000 - 2 * PER_SECOND_720P,
      );
    });

    test("a full capture writes no release row; a failure writes no capture row", async () => {
      const { account, key } = await funded();
      const full = taskRow(account.id, key.id);
      await submit(store.db, billing, full);
      const r = await settle(succeeded(full));
      assert.equal(r.released, 0);
      assert.deepEqual(
        (await ledgerOf(full.id)).map((x) => x.kind),
        ["hold", "capture"],
      );
      assert.equal((await holdOf(full.id)).status, "captured");

      const failed = taskRow(account.id, key.id);
      await submit(store.db, billing, failed);
      const f = await settle({ ...failed, status: "failed" }, { seconds: 5 });
      assert.equal(f.captured, 0);
      assert.equal(f.released, 5 * PER_SECOND_720P);
      assert.deepEqual(
        (await ledgerOf(failed.id)).map((x) => x.kind),
        ["hold", "release"],
      );
      const hold = await holdOf(failed.id);
      assert.equal(hold.status, "released");
      assert.equal(hold.billed_seconds, null);
      assert.equal(Number(hold.amount_computed), 0);
    });

    test("a task that never had a hold settles as nothing", async () => {
      const { account, key } = await funded();
      const task = taskRow(account.id, key.id);
      assert.deepEqual(await settle(succeeded(task)), { settled: false, captured: 0, released: 0 });
    });

    test("an unmetered account's task is priced and recorded but needs, holds and moves no balance", async () => {
      const account = await store.accounts.createAccount("unmetered", false, "unmetered");
      const { key } = await store.accounts.createKey(account.id);
      // No top-up: a prepaid account would be refused (insufficient_balance).
      const task = await submit(store.db, billing, taskRow(account.id, key.id, { seconds: 4 }));
      const hold = await holdOf(task.id);
      assert.deepEqual(
        [hold.status, Number(hold.metered), Number(hold.amount_held)],
        ["open", 0, 4 * PER_SECOND_720P],
        "priced at the model's price, marked unmetered",
      );
      assert.deepEqual(await ledgerOf(task.id), [], "no hold row in the ledger");
      const during = await billing.ledger.balance(account.id);
      assert.deepEqual([during.billing_mode, during.balance_micros, during.held_micros], ["unmetered", 0, 0]);
      assert.equal(await counter(inflightKey(key.id)), 1, "the concurrency slot still counts");
      const drift = (await billing.ledger.checkBalances()).filter((d) => d.account_id === account.id);
      assert.deepEqual(drift, [], "an open unmetered hold is not money the ledger should hold");

      const settled = await settle(succeeded(task, { duration: 3 }));
      assert.deepEqual(
        [settled.captured, settled.released, settled.usage?.cost],
        [3 * PER_SECOND_720P, PER_SECOND_720P, "0.2100"],
        "the cost is recorded on the hold (usage reports)",
      );
      assert.deepEqual(await ledgerOf(task.id), [], "no capture or release row either");
      const after = await billing.ledger.balance(account.id);
      assert.deepEqual([after.billing_mode, after.balance_micros, after.held_micros], ["unmetered", 0, 0]);
      assert.equal(await counter(inflightKey(key.id)), 0);
    });

    test("an account the store does not know is prepaid (the strict choice)", async () => {
      assert.equal(await billing.repository.billingMode("acct_not_in_the_store"), "prepaid");
      assert.equal((await billing.ledger.balance("acct_not_in_the_store")).billing_mode, "prepaid");
      const { account } = await funded();
      assert.equal(await billing.repository.billingMode(account.id), "prepaid");
    });
  });
}
