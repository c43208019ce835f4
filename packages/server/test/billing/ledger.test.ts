import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Billing } from "../../src/billing/billing.ts";
import { BillingRefusal, isBillingRefusal } from "../../src/billing/errors.ts";
import { dayToDate } from "../../src/billing/limits.ts";
import { Catalog, DEFAULT_CATALOG } from "../../src/catalog/models.ts";
import type { ApiError } from "../../src/domain/errors.ts";
import { monotonicId } from "../../src/util/ids.ts";
import {
  DIALECTS,
  type Finisher,
  finisher,
  ledgerRows,
  newCustomer,
  openStore,
  type Store,
  submit,
  taskRow,
} from "./helpers.ts";

/** Seedance 1.5 pro with audio, 5 s at 720p, at the default $0.07/s. */
const FIVE_SECONDS_720P = 350_000;

test("ledger ids made in one millisecond sort (as plain text) in the order they were made", () => {
  const ids = Array.from({ length: 5000 }, () => monotonicId("led_", 12));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  assert.match(ids[0] ?? "", /^led_\d{16}[A-Za-z0-9]{12}$/);
});

for (const { name, make } of DIALECTS) {
  describe(`billing ledger on ${name}`, () => {
    let store: Store;
    let billing: Billing;
    let tasks: Finisher;

    before(async () => {
      store = await openStore(make);
      billing = new Billing(store.db, new Catalog(), { limitsCacheMs: 0 });
      await billing.prices.ensureDefaultPrices();
      await billing.prices.ensureDefaultPrices(); // idempotent
      tasks = finisher(store.db, billing);
    });
    after(async () => {
      await store.close();
    });

    test("top-ups are idempotent by key, refuse a reused key with another amount, and need an account", async () => {
      const { account } = await newCustomer(store.accounts);
      const first = await billing.ledger.topup(account.id, 10_000_000, "invoice-1");
      assert.equal(first.replayed, false);
      assert.equal(first.balance.balance, "10.0000");
      assert.equal(first.entry.kind, "topup");
      const again = await billing.ledger.topup(account.id, 10_000_000, "invoice-1");
      assert.equal(again.replayed, true);
      assert.equal(again.entry.id, first.entry.id);
      assert.equal((await billing.ledger.balance(account.id)).balance_micros, 10_000_000, "credited once");
      await assert.rejects(
        billing.ledger.topup(account.id, 5_000_000, "invoice-1"),
        (e: ApiError) => e.status === 409,
      );
      await assert.rejects(billing.ledger.topup("acct_nope", 1, "x"), (e: ApiError) => e.status === 404);
      await assert.rejects(billing.ledger.topup(account.id, 0, "zero"), (e: ApiError) => e.status === 400);
      // The same caller key on another account is another top-up.
      const other = await newCustomer(store.accounts);
      assert.equal((await billing.ledger.topup(other.account.id, 1_000_000, "invoice-1")).replayed, false);
    });

    test("balance for exactly N tasks: N holds, the N+1st is 403 insufficient_quota, a failure frees one", async () => {
      const { account, key } = await newCustomer(store.accounts);
      const N = 4;
      await billing.ledger.topup(account.id, N * FIVE_SECONDS_720P, "seed");
      const accepted = [];
      for (let i = 0; i < N; i++) accepted.push(await submit(store.db, billing, taskRow(account.id, key.id)));
      const balance = await billing.ledger.balance(account.id);
      assert.equal(balance.held_micros, N * FIVE_SECONDS_720P);
      assert.equal(balance.available, "0.0000");

      const refused = taskRow(account.id, key.id);
      const error = await submit(store.db, billing, refused).then(
        () => assert.fail("the N+1st task must be refused"),
        (e: unknown) => e,
      );
      assert.ok(error instanceof BillingRefusal && isBillingRefusal(error));
      assert.equal(error.status, 403);
      assert.equal(error.type, "insufficient_quota");
      assert.equal(error.code, "insufficient_balance");
      assert.equal(error.fault, "client_quota");
      assert.match(error.message, /0\.3500 USD/);
      assert.equal(await tasks.getById(refused.id), undefined, "no task was created");
      assert.equal((await ledgerRows(store.bdb, refused.id)).length, 0, "and nothing was held");

      // One task fails: its hold is released and the next task fits again.
      assert.ok(await tasks.finish(accepted[0]!.id, "failed", { error_code: "upstream_failed" }));
      assert.equal((await billing.ledger.balance(account.id)).available_micros, FIVE_SECONDS_720P);
      await submit(store.db, billing, taskRow(account.id, key.id));
      await assert.rejects(submit(store.db, billing, taskRow(account.id, key.id)), isBillingRefusal);

      // One succeeds: captured at its price, released nothing, usage shows it.
      assert.ok(await tasks.finish(accepted[1]!.id, "succeeded"));
      const usage = await billing.usage.usageForTask(accepted[1]!.id);
      assert.deepEqual(usage, { seconds: 5, resolution: "720p", cost: "0.3500", currency: "USD" });
      assert.deepEqual(await billing.usage.usageForTask(accepted[0]!.id), {
        seconds: 0,
        resolution: "720p",
        cost: "0.0000",
        currency: "USD",
      });
      const end = await billing.ledger.balance(account.id);
      assert.equal(end.balance_micros, (N - 1) * FIVE_SECONDS_720P);
      assert.equal(
        end.held_micros,
        (N - 1) * FIVE_SECONDS_720P,
        "three open: two originals and the resubmission",
      );
      const kinds = (await ledgerRows(store.bdb, accepted[1]!.id)).map((r) => r.kind).sort();
      assert.deepEqual(kinds, ["capture", "hold"]);
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("a hold is settled once: duplicate settlements and racing finishers change nothing more", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 20 * FIVE_SECONDS_720P, "seed");
      // A second "process": its own connection (Postgres) and its own service and repository.
      // better-sqlite3 blocks its thread on a lock, so in one process SQLite races on one
      // connection; the cross-process race (race.test.ts) covers two SQLite connections.
      const otherDb = name === "postgres" ? store.other.db : store.db;
      const otherBilling = new Billing(otherDb, new Catalog(), { limitsCacheMs: 0 });
      const otherTasks = finisher(otherDb, otherBilling);
      for (let i = 0; i < 8; i++) {
        const task = await submit(store.db, billing, taskRow(account.id, key.id));
        const [a, b] = await Promise.all([
          tasks.finish(task.id, i % 2 ? "succeeded" : "failed"),
          otherTasks.finish(task.id, i % 2 ? "failed" : "succeeded"),
        ]);
        assert.equal([a, b].filter(Boolean).length, 1, "one finisher wins");
        // Duplicate callbacks after the fact, from both processes, concurrently.
        const dups = await Promise.all([
          store.db
            .transaction()
            .execute((trx) => billing.holds.settleTask(trx, task, { status: "succeeded" })),
          otherDb
            .transaction()
            .execute((trx) => otherBilling.holds.settleTask(trx, task, { status: "failed" })),
        ]);
        assert.deepEqual(
          dups.map((d) => d.settled),
          [false, false],
        );
        const rows = await ledgerRows(store.bdb, task.id);
        const won = (a ?? b)!.status;
        assert.deepEqual(
          rows.map((r) => r.kind).sort(),
          won === "succeeded" ? ["capture", "hold"] : ["hold", "release"],
        );
      }
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("the database refuses a second settlement row and a capture above the hold", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, FIVE_SECONDS_720P, "seed");
      const task = await submit(store.db, billing, taskRow(account.id, key.id));
      await tasks.finish(task.id, "succeeded");
      const [capture] = (await ledgerRows(store.bdb, task.id)).filter((r) => r.kind === "capture");
      await assert.rejects(
        store.bdb
          .insertInto("billing_ledger")
          .values({ ...capture!, id: "led_duplicate" })
          .execute(),
        "the idempotency key capture:<task> is unique per account",
      );
      await assert.rejects(
        store.bdb
          .updateTable("billing_holds")
          .set({ amount_captured: FIVE_SECONDS_720P + 1 })
          .where("task_id", "=", task.id)
          .execute(),
        "a capture never exceeds its hold",
      );
      await assert.rejects(
        store.bdb
          .updateTable("billing_holds")
          .set({ status: "released" })
          .where("task_id", "=", task.id)
          .execute(),
        "a released hold captures nothing",
      );
      await assert.rejects(
        store.bdb
          .updateTable("billing_balances")
          .set({ held: 1 })
          .where("account_id", "=", account.id)
          .execute(),
        "the cached balance never drops below the open holds",
      );
    });

    test("a task is settled at the price version it was accepted at", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 100_000_000, "seed");
      const model = "grok-imagine-video";
      const v1 = (await billing.prices.current(model))!;
      const early = await submit(
        store.db,
        billing,
        taskRow(account.id, key.id, { model, resolution: "480p" }),
      );
      const v2 = await billing.prices.setPrice(model, {
        ...v1.rule,
        perSecond: { "480p": 100_000, "720p": 140_000 },
      });
      assert.equal(v2.version, v1.version + 1);
      const late = await submit(
        store.db,
        billing,
        taskRow(account.id, key.id, { model, resolution: "480p" }),
      );
      await tasks.finish(early.id, "succeeded");
      await tasks.finish(late.id, "succeeded");
      assert.equal((await billing.usage.usageForTask(early.id))?.cost, "0.2500", "5 s × $0.05 (v1)");
      assert.equal((await billing.usage.usageForTask(late.id))?.cost, "0.5000", "5 s × $0.10 (v2)");
      // A pinned version (e.g. quoted earlier) is honoured; an unknown one is refused.
      const pinned = taskRow(account.id, key.id, { model, resolution: "480p" });
      await store.db.transaction().execute(async (trx) => {
        await trx.insertInto("tasks").values(pinned).execute();
        const hold = await billing.holds.holdForTaskRow(trx, pinned, { priceVersion: v1.version });
        assert.equal(hold.held, 250_000);
        assert.equal(hold.priceVersion, v1.version);
      });
      await assert.rejects(
        store.db.transaction().execute(async (trx) => {
          const t = taskRow(account.id, key.id, { model, resolution: "480p" });
          await trx.insertInto("tasks").values(t).execute();
          await billing.holds.holdForTaskRow(trx, t, { priceVersion: 999 });
        }),
        (e: ApiError) => e.status === 400,
      );
      const history = await billing.prices.history(model);
      assert.deepEqual(
        history.map((p) => p.version),
        [v2.version, v1.version],
      );
      // Restore the default so other tests see it.
      await billing.prices.setPrice(model, v1.rule, { note: "restore" });
    });

    test("local renders: free by default and for test-mode keys; charged when the operator says so", async () => {
      const { account, key } = await newCustomer(store.accounts);
      const testKey = (await store.accounts.createKey(account.id, { testMode: true })).key;
      await billing.ledger.topup(account.id, 1_000_000, "seed");
      const local = await submit(store.db, billing, taskRow(account.id, key.id, { provider: "local" }));
      const test = await submit(
        store.db,
        billing,
        taskRow(account.id, testKey.id, { provider: "local", testMode: true }),
      );
      assert.equal(
        (await billing.ledger.balance(account.id)).held_micros,
        0,
        "nothing held for free renders",
      );
      await tasks.finish(local.id, "succeeded");
      await tasks.finish(test.id, "succeeded");
      assert.equal((await billing.usage.usageForTask(local.id))?.cost, "0.0000");
      assert.equal((await billing.ledger.balance(account.id)).balance_micros, 1_000_000);

      const priced = new Billing(store.db, new Catalog(), {
        localRenders: "priced",
        limitsCacheMs: 0,
      });
      const pricedTasks = finisher(store.db, priced);
      const paid = await submit(store.db, priced, taskRow(account.id, key.id, { provider: "local" }));
      const stillFree = await submit(
        store.db,
        priced,
        taskRow(account.id, testKey.id, { provider: "local", testMode: true }),
      );
      await pricedTasks.finish(paid.id, "succeeded");
      await pricedTasks.finish(stillFree.id, "succeeded");
      assert.equal((await priced.usage.usageForTask(paid.id))?.cost, "0.3500");
      assert.equal(
        (await priced.usage.usageForTask(stillFree.id))?.cost,
        "0.0000",
        "test mode is always free",
      );

      // Planned upstream, rendered locally in the end (fallback): free when local renders are free.
      const fallback = await submit(store.db, billing, taskRow(account.id, key.id, { provider: "ark" }));
      assert.equal((await billing.ledger.balance(account.id)).held_micros, FIVE_SECONDS_720P);
      await store.db.updateTable("tasks").set({ provider: "local" }).where("id", "=", fallback.id).execute();
      await tasks.finish(fallback.id, "succeeded");
      assert.equal((await billing.usage.usageForTask(fallback.id))?.cost, "0.0000");
      assert.equal((await billing.ledger.balance(account.id)).balance_micros, 1_000_000 - FIVE_SECONDS_720P);
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("actual usage: shorter clips cost less, token prices use reported tokens, never above the hold", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 100_000_000, "seed");
      const short = await submit(store.db, billing, taskRow(account.id, key.id, { seconds: 8 }));
      await tasks.finish(short.id, "succeeded", {
        video_json: JSON.stringify({
          width: 1280,
          height: 720,
          duration: 4.04,
          fps: 24,
          has_audio: true,
          bytes: 1,
        }),
      });
      assert.deepEqual(await billing.usage.usageForTask(short.id), {
        seconds: 4,
        resolution: "720p",
        cost: "0.2800",
        currency: "USD",
      });

      const model = "doubao-seedance-2-0-480p";
      const base = (await billing.prices.current(model))!;
      await billing.prices.setPrice(model, {
        perSecond: { "480p": 0 },
        perClip: 10_000,
        perMillionTokens: 6_400_000, // $6.40 per million tokens
        tokensPerSecond: { "480p": 10_000 },
      });
      const reported = new Map<string, number>();
      const tokenTasks = finisher(store.db, billing, { reported });
      const spec = { model, resolution: "480p" as const, seconds: 5 };
      const a = await submit(store.db, billing, taskRow(account.id, key.id, spec));
      const b = await submit(store.db, billing, taskRow(account.id, key.id, spec));
      const c = await submit(store.db, billing, taskRow(account.id, key.id, spec));
      // Hold: $0.01 + ⌈50 000 tokens × 6.4⌉ µ = 10 000 + 320 000 µ.
      assert.equal((await billing.ledger.balance(account.id)).held_micros, 3 * 330_000);
      reported.set(a.id, 48_601); // ⌈48 601 × 6.4⌉ = 311 047 (a partial micro-unit rounds up)
      reported.set(b.id, 90_000); // more than quoted: capped at the hold
      await tokenTasks.finish(a.id, "succeeded");
      await tokenTasks.finish(b.id, "succeeded");
      await tokenTasks.finish(c.id, "succeeded"); // no report: the estimate
      const captured = async (id: string) =>
        (
          await store.bdb
            .selectFrom("billing_holds")
            .selectAll()
            .where("task_id", "=", id)
            .executeTakeFirstOrThrow()
        ).amount_captured;
      assert.equal(Number(await captured(a.id)), 10_000 + 311_047);
      assert.equal(Number(await captured(b.id)), 330_000);
      assert.equal(Number(await captured(c.id)), 330_000);
      await billing.prices.setPrice(model, base.rule, { note: "restore" });
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("checkBalances finds a corrupted cache and rebuildBalance repairs it from the ledger", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 2_000_000, "seed");
      await submit(store.db, billing, taskRow(account.id, key.id));
      const done = await submit(store.db, billing, taskRow(account.id, key.id));
      await tasks.finish(done.id, "succeeded");
      assert.deepEqual(await billing.ledger.checkBalances(), []);
      await store.bdb
        .updateTable("billing_balances")
        .set({ balance: 9_999_999 })
        .where("account_id", "=", account.id)
        .execute();
      const found = await billing.ledger.checkBalances();
      assert.deepEqual(found, [
        {
          account_id: account.id,
          field: "balance",
          cached: 9_999_999,
          derived: 2_000_000 - FIVE_SECONDS_720P,
        },
      ]);
      const { before, after } = await billing.ledger.rebuildBalance(account.id);
      assert.equal(before.balance_micros, 9_999_999);
      assert.equal(after.balance_micros, 2_000_000 - FIVE_SECONDS_720P);
      assert.equal(after.held_micros, FIVE_SECONDS_720P);
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("adjustments: credits, and debits only within the available balance", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 1_000_000, "seed");
      await submit(store.db, billing, taskRow(account.id, key.id));
      await assert.rejects(
        billing.ledger.adjust(account.id, -700_000, "too-much"),
        (e: ApiError) => e.status === 400,
      );
      const debit = await billing.ledger.adjust(account.id, -650_000, "refund-fix", { note: "correction" });
      assert.equal(debit.balance.available, "0.0000");
      assert.equal((await billing.ledger.adjust(account.id, -650_000, "refund-fix")).replayed, true);
      await billing.ledger.adjust(account.id, 250_000, "goodwill");
      assert.equal((await billing.ledger.balance(account.id)).balance_micros, 600_000);
      const ledger = await billing.ledger.entries(account.id);
      assert.deepEqual(
        ledger.map((e) => e.kind),
        ["adjustment", "adjustment", "hold", "topup"],
      );
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("usage reports group by day, model and key within a date range", async () => {
      const { account, key } = await newCustomer(store.accounts);
      const key2 = (await store.accounts.createKey(account.id)).key;
      await billing.ledger.topup(account.id, 100_000_000, "seed");
      const day = (d: string) => Date.parse(`${d}T12:00:00Z`);
      const mk = async (
        keyId: string,
        d: string,
        model: string,
        resolution: "480p" | "720p",
        finish: string,
      ) => {
        const t = await submit(
          store.db,
          billing,
          taskRow(account.id, keyId, { model, resolution, createdAt: day(d) }),
        );
        if (finish !== "open") await tasks.finish(t.id, finish as "succeeded" | "failed");
      };
      await mk(key.id, "2026-03-01", "grok-imagine-video", "480p", "succeeded"); // 0.25
      await mk(key.id, "2026-03-01", "grok-imagine-video", "480p", "succeeded"); // 0.25
      await mk(key.id, "2026-03-01", "grok-imagine-video", "720p", "failed");
      await mk(key2.id, "2026-03-01", "seedance-1-5-pro-with-audio", "720p", "succeeded"); // 0.35
      await mk(key.id, "2026-03-02", "grok-imagine-video", "720p", "open");
      await mk(key.id, "2026-03-05", "grok-imagine-video", "720p", "succeeded"); // outside the range

      const all = await billing.usage.report(
        { accountId: account.id, testMode: 0 },
        { startDate: "2026-03-01", endDate: "2026-03-02" },
      );
      assert.deepEqual(
        all.rows.map((r) => [r.date, r.model, r.key_id === key.id ? "k1" : "k2", r.tasks, r.seconds, r.cost]),
        [
          ["2026-03-01", "grok-imagine-video", "k1", 3, 10, "0.5000"],
          ["2026-03-01", "seedance-1-5-pro-with-audio", "k2", 1, 5, "0.3500"],
          ["2026-03-02", "grok-imagine-video", "k1", 1, 0, "0.0000"],
        ],
      );
      assert.equal(all.totals.cost, "0.8500");
      assert.equal(all.totals.tasks, 5);
      assert.equal(all.totals.succeeded, 3);
      assert.equal(all.totals.failed, 1);
      assert.equal(all.totals.in_progress, 1);

      const byModel = await billing.usage.report(
        { accountId: account.id, testMode: 0 },
        {
          startDate: "2026-03-01",
          endDate: "2026-03-31",
          groupBy: ["model"],
          keyId: key.id,
        },
      );
      assert.deepEqual(
        byModel.rows.map((r) => [r.date, r.model, r.tasks, r.cost_micros]),
        [[undefined, "grok-imagine-video", 5, 850_000]],
      );
      assert.equal(dayToDate(0), "1970-01-01");
      await assert.rejects(
        billing.usage.report(
          { accountId: account.id, testMode: 0 },
          { startDate: "2026-3-1", endDate: "2026-03-02" },
        ),
        (e: ApiError) => e.status === 400,
      );
    });

    test("a model without a price is refused at submit, unless the task is free", async () => {
      const custom = { ...DEFAULT_CATALOG[0]!, id: "operator-model", name: "Operator model" };
      const catalog = new Catalog([...DEFAULT_CATALOG, custom]);
      const svc = new Billing(store.db, catalog, { limitsCacheMs: 0 });
      const { account, key } = await newCustomer(store.accounts);
      await svc.ledger.topup(account.id, 10_000_000, "seed");
      await assert.rejects(
        submit(store.db, svc, taskRow(account.id, key.id, { model: "operator-model" })),
        (e: ApiError) => e.code === "model_not_priced" && !isBillingRefusal(e),
      );
      await submit(
        store.db,
        svc,
        taskRow(account.id, key.id, { model: "operator-model", provider: "local" }),
      );
      await svc.prices.setPrice("operator-model", {
        perSecond: { "480p": 1, "720p": 2, "1080p": 3 },
        perClip: 0,
        perMillionTokens: null,
        tokensPerSecond: {},
      });
      const held = await submit(store.db, svc, taskRow(account.id, key.id, { model: "operator-model" }));
      assert.equal(
        Number(
          (
            await store.bdb
              .selectFrom("billing_holds")
              .select("amount_held")
              .where("task_id", "=", held.id)
              .executeTakeFirstOrThrow()
          ).amount_held,
        ),
        10,
      );
      await assert.rejects(
        svc.prices.setPrice("operator-model", {
          perSecond: { "720p": 2 },
          perClip: 0,
          perMillionTokens: null,
          tokensPerSecond: {},
        }),
        (e: ApiError) => e.code === "incomplete_price",
      );
    });

    test("a crash inside the submit transaction leaves neither task nor hold", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 1_000_000, "seed");
      const task = taskRow(account.id, key.id);
      await assert.rejects(submit(store.db, billing, task, { crashAfterHold: true }), /simulated crash/);
      assert.equal(await tasks.getById(task.id), undefined);
      assert.equal((await ledgerRows(store.bdb, task.id)).length, 0);
      assert.equal((await billing.ledger.balance(account.id)).held_micros, 0);
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });
  });
}
