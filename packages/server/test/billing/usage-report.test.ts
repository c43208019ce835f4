import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Billing } from "../../src/billing/billing.ts";
import type { HoldRow } from "../../src/billing/tables.ts";
import { dateToDay, type UsageRow, usageOf } from "../../src/billing/usage-report.ts";
import { Catalog } from "../../src/catalog/models.ts";
import { ApiError } from "../../src/domain/errors.ts";
import {
  DIALECTS,
  type Finisher,
  finisher,
  newCustomer,
  openStore,
  type Store,
  submit,
  taskRow,
} from "./helpers.ts";

const DAY_MS = 86_400_000;
const GROK = "grok-imagine-video";
const SEEDANCE = "seedance-1-5-pro-with-audio";

/** A settled or open hold row, as holds.ts writes them. */
function hold(overrides: Partial<HoldRow> = {}): HoldRow {
  return {
    task_id: "task_1",
    account_id: "acct_1",
    key_id: "key_1",
    model: GROK,
    resolution: "720p",
    seconds: 8,
    provider: "ark",
    billable: 1,
    metered: 1,
    local_free: 1,
    price_id: "price_1",
    price_version: 1,
    currency: "USD",
    amount_held: 560_000,
    status: "captured",
    amount_captured: 280_000,
    amount_computed: 280_000,
    billed_seconds: 4,
    billed_tokens: null,
    day: 20_513,
    created_at: Date.UTC(2026, 2, 1),
    settled_at: Date.UTC(2026, 2, 1, 0, 1),
    ...overrides,
  };
}

function invalidDate(date: string) {
  return (e: unknown) => {
    assert.ok(e instanceof ApiError, String(e));
    assert.deepEqual(
      [e.status, e.type, e.code, e.message, e.param],
      [400, "invalid_request_error", "invalid_date", `${date} is not a date; use YYYY-MM-DD (UTC)`, "date"],
    );
    return true;
  };
}

describe("a task's usage from its hold", () => {
  test("open: none yet", () => {
    assert.equal(usageOf(hold({ status: "open", amount_captured: null, billed_seconds: null })), undefined);
  });

  test("captured: the billed seconds (else the requested ones), the captured amount, the hold's currency", () => {
    assert.deepEqual(usageOf(hold()), { seconds: 4, resolution: "720p", cost: "0.2800", currency: "USD" });
    assert.deepEqual(usageOf(hold({ billed_seconds: null, resolution: "480p", currency: "EUR" })), {
      seconds: 8,
      resolution: "480p",
      cost: "0.2800",
      currency: "EUR",
    });
    // Postgres hands bigint columns back as strings.
    const fromPostgres = hold({
      billed_seconds: "6" as unknown as number,
      amount_captured: "123456" as unknown as number,
    });
    assert.deepEqual(usageOf(fromPostgres), {
      seconds: 6,
      resolution: "720p",
      cost: "0.1235",
      currency: "USD",
    });
    assert.equal(usageOf(hold({ amount_captured: null }))?.cost, "0.0000");
  });

  test("released: nothing used, nothing charged", () => {
    assert.deepEqual(usageOf(hold({ status: "released", amount_captured: 0, billed_seconds: 7 })), {
      seconds: 0,
      resolution: "720p",
      cost: "0.0000",
      currency: "USD",
    });
  });
});

describe("report dates", () => {
  test("a UTC day, YYYY-MM-DD, is its day number", () => {
    assert.equal(dateToDay("1970-01-01"), 0);
    assert.equal(dateToDay("1970-01-02"), 1);
    assert.equal(dateToDay("2026-03-01"), Date.UTC(2026, 2, 1) / DAY_MS);
    assert.equal(dateToDay("2024-02-29"), Date.UTC(2024, 1, 29) / DAY_MS, "a leap day");
    assert.equal(dateToDay("1969-12-31"), -1);
  });

  test("anything else is a 400 naming it", () => {
    for (const bad of [
      "2026-02-29",
      "2026-02-30",
      "2026-13-01",
      "2026-00-10",
      "2026-3-1",
      "2026-03-01T00:00:00Z",
      " 2026-03-01",
      "2026-03-01 ",
      "20260301",
      "01-03-2026",
      "March 1, 2026",
      "",
    ]) {
      assert.throws(() => dateToDay(bad), invalidDate(bad), JSON.stringify(bad));
    }
  });
});

for (const { name, make } of DIALECTS) {
  describe(`usage reports on ${name}`, () => {
    let store: Store;
    let billing: Billing;
    let tasks: Finisher;

    before(async () => {
      store = await openStore(make);
      billing = new Billing(store.db, new Catalog(), { limitsCacheMs: 0 });
      await billing.prices.ensureDefaultPrices();
      tasks = finisher(store.db, billing);
    });
    after(async () => {
      await store.close();
    });

    test("usageForTask(s): settled tasks only, one task or a page at once", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 10_000_000, "seed");
      const done = await submit(store.db, billing, taskRow(account.id, key.id));
      const failed = await submit(
        store.db,
        billing,
        taskRow(account.id, key.id, { model: GROK, resolution: "480p" }),
      );
      const open = await submit(store.db, billing, taskRow(account.id, key.id));
      assert.ok(await tasks.finish(done.id, "succeeded"));
      assert.ok(await tasks.finish(failed.id, "failed", { error_code: "upstream_failed" }));

      const doneUsage = { seconds: 5, resolution: "720p", cost: "0.3500", currency: "USD" };
      const failedUsage = { seconds: 0, resolution: "480p", cost: "0.0000", currency: "USD" };
      assert.deepEqual(await billing.usage.usageForTask(done.id), doneUsage);
      assert.deepEqual(await billing.usage.usageForTask(failed.id), failedUsage);
      assert.equal(await billing.usage.usageForTask(open.id), undefined, "still holding");
      assert.equal(await billing.usage.usageForTask("task_never_billed"), undefined);

      const page = await billing.usage.usageForTasks([open.id, done.id, "task_never_billed", failed.id]);
      assert.deepEqual(
        page,
        new Map([
          [done.id, doneUsage],
          [failed.id, failedUsage],
        ]),
      );
      assert.deepEqual(await billing.usage.usageForTasks([]), new Map());
      assert.deepEqual(
        await store.db.transaction().execute((trx) => billing.usage.usageForTasks([done.id], trx)),
        new Map([[done.id, doneUsage]]),
      );
      assert.deepEqual(
        await store.db.transaction().execute((trx) => billing.usage.usageForTask(done.id, trx)),
        doneUsage,
      );
    });

    test("report: tasks, outcomes, seconds and cost by day, model and key, with totals", async () => {
      const { account } = await newCustomer(store.accounts);
      const other = await newCustomer(store.accounts);
      const at = (date: string) => ({ day: dateToDay(date), created_at: Date.parse(`${date}T12:00:00Z`) });
      let n = 0;
      const add = (overrides: Partial<HoldRow>) =>
        store.bdb
          .insertInto("billing_holds")
          .values(hold({ task_id: `task_report_${name}_${n++}`, account_id: account.id, ...overrides }))
          .execute();
      const open = { status: "open" as const, amount_captured: null, billed_seconds: null, settled_at: null };
      const released = { status: "released" as const, amount_captured: 0, billed_seconds: null };
      // In the range 2026-03-01 … 2026-03-02:
      await add({
        ...at("2026-03-01"),
        key_id: "key_a",
        model: GROK,
        billed_seconds: 5,
        amount_captured: 250_000,
      });
      await add({ ...at("2026-03-01"), key_id: "key_a", model: GROK, ...released });
      await add({
        ...at("2026-03-01"),
        key_id: "key_b",
        model: SEEDANCE,
        billed_seconds: 4,
        amount_captured: 280_000,
      });
      await add({ ...at("2026-03-02"), key_id: "key_b", model: GROK, ...open });
      await add({
        ...at("2026-03-02"),
        key_id: "key_a",
        model: SEEDANCE,
        billed_seconds: 8,
        amount_captured: 560_000,
      });
      // Outside it, or another account's:
      await add({ ...at("2026-02-28"), key_id: "key_a", model: GROK, billed_seconds: 1, amount_captured: 1 });
      await add({ ...at("2026-03-03"), key_id: "key_a", model: GROK, billed_seconds: 2, amount_captured: 2 });
      await add({ ...at("2026-03-01"), account_id: other.account.id, billed_seconds: 3, amount_captured: 3 });

      const range = { startDate: "2026-03-01", endDate: "2026-03-02" };
      const row = (
        group: Partial<Pick<UsageRow, "date" | "model" | "key_id">>,
        counts: [
          tasks: number,
          succeeded: number,
          failed: number,
          inProgress: number,
          seconds: number,
          cost: number,
        ],
        cost: string,
      ): UsageRow => ({
        ...group,
        tasks: counts[0],
        succeeded: counts[1],
        failed: counts[2],
        in_progress: counts[3],
        seconds: counts[4],
        cost,
        cost_micros: counts[5],
      });
      const totals = row({}, [5, 3, 1, 1, 17, 1_090_000], "1.0900");

      assert.deepEqual(await billing.usage.report({ accountId: account.id, testMode: 0 }, range), {
        rows: [
          row({ date: "2026-03-01", model: GROK, key_id: "key_a" }, [2, 1, 1, 0, 5, 250_000], "0.2500"),
          row({ date: "2026-03-01", model: SEEDANCE, key_id: "key_b" }, [1, 1, 0, 0, 4, 280_000], "0.2800"),
          row({ date: "2026-03-02", model: GROK, key_id: "key_b" }, [1, 0, 0, 1, 0, 0], "0.0000"),
          row({ date: "2026-03-02", model: SEEDANCE, key_id: "key_a" }, [1, 1, 0, 0, 8, 560_000], "0.5600"),
        ],
        totals,
      });
      assert.deepEqual(
        await billing.usage.report({ accountId: account.id, testMode: 0 }, { ...range, groupBy: ["day"] }),
        {
          rows: [
            row({ date: "2026-03-01" }, [3, 2, 1, 0, 9, 530_000], "0.5300"),
            row({ date: "2026-03-02" }, [2, 1, 0, 1, 8, 560_000], "0.5600"),
          ],
          totals,
        },
      );
      assert.deepEqual(
        await billing.usage.report({ accountId: account.id, testMode: 0 }, { ...range, groupBy: ["model"] }),
        {
          rows: [
            row({ model: GROK }, [3, 1, 1, 1, 5, 250_000], "0.2500"),
            row({ model: SEEDANCE }, [2, 2, 0, 0, 12, 840_000], "0.8400"),
          ],
          totals,
        },
      );
      assert.deepEqual(
        await billing.usage.report({ accountId: account.id, testMode: 0 }, { ...range, groupBy: ["key"] }),
        {
          rows: [
            row({ key_id: "key_a" }, [3, 2, 1, 0, 13, 810_000], "0.8100"),
            row({ key_id: "key_b" }, [2, 1, 0, 1, 4, 280_000], "0.2800"),
          ],
          totals,
        },
      );
      assert.deepEqual(
        await billing.usage.report({ accountId: account.id, testMode: 0 }, { ...range, groupBy: [] }),
        {
          rows: [totals],
          totals,
        },
      );

      // Filters: one model, one key, one day.
      assert.deepEqual(
        await billing.usage.report(
          { accountId: account.id, testMode: 0 },
          { ...range, model: GROK, groupBy: ["day", "key"] },
        ),
        {
          rows: [
            row({ date: "2026-03-01", key_id: "key_a" }, [2, 1, 1, 0, 5, 250_000], "0.2500"),
            row({ date: "2026-03-02", key_id: "key_b" }, [1, 0, 0, 1, 0, 0], "0.0000"),
          ],
          totals: row({}, [3, 1, 1, 1, 5, 250_000], "0.2500"),
        },
      );
      assert.deepEqual(
        await billing.usage.report(
          { accountId: account.id, testMode: 0 },
          { ...range, keyId: "key_b", groupBy: ["model"] },
        ),
        {
          rows: [
            row({ model: GROK }, [1, 0, 0, 1, 0, 0], "0.0000"),
            row({ model: SEEDANCE }, [1, 1, 0, 0, 4, 280_000], "0.2800"),
          ],
          totals: row({}, [2, 1, 0, 1, 4, 280_000], "0.2800"),
        },
      );
      assert.deepEqual(
        (
          await billing.usage.report(
            { accountId: account.id, testMode: 0 },
            { startDate: "2026-02-28", endDate: "2026-02-28" },
          )
        ).rows,
        [row({ date: "2026-02-28", model: GROK, key_id: "key_a" }, [1, 1, 0, 0, 1, 1], "0.0000")],
      );

      // Nothing in the range: no rows, zero totals.
      assert.deepEqual(
        await billing.usage.report(
          { accountId: account.id, testMode: 0 },
          { startDate: "2026-04-01", endDate: "2026-04-30" },
        ),
        {
          rows: [],
          totals: row({}, [0, 0, 0, 0, 0, 0], "0.0000"),
        },
      );
      await assert.rejects(
        billing.usage.report(
          { accountId: account.id, testMode: 0 },
          { startDate: "2026-03-01", endDate: "2026-02-30" },
        ),
        invalidDate("2026-02-30"),
      );
      await assert.rejects(
        billing.usage.report(
          { accountId: account.id, testMode: 0 },
          { startDate: "2026-3-1", endDate: "2026-03-02" },
        ),
        invalidDate("2026-3-1"),
      );
    });

    test("report: a test key's tasks are the test world's, apart from the live keys' tasks", async () => {
      const { account, key: live } = await newCustomer(store.accounts);
      const { key: testKey } = await store.accounts.createKey(account.id, { testMode: true });
      let n = 0;
      const add = (keyId: string, seconds: number, cost: number) =>
        store.bdb
          .insertInto("billing_holds")
          .values(
            hold({
              task_id: `task_modes_${name}_${n++}`,
              account_id: account.id,
              key_id: keyId,
              day: dateToDay("2026-03-01"),
              billed_seconds: seconds,
              amount_captured: cost,
            }),
          )
          .execute();
      await add(live.id, 5, 350_000);
      await add(live.id, 3, 210_000);
      await add(testKey.id, 2, 1);
      const range = { startDate: "2026-03-01", endDate: "2026-03-01", groupBy: ["key" as const] };
      const liveReport = await billing.usage.report({ accountId: account.id, testMode: 0 }, range);
      assert.deepEqual(
        liveReport.rows.map((r) => [r.key_id, r.tasks, r.seconds, r.cost_micros]),
        [[live.id, 2, 8, 560_000]],
      );
      const testReport = await billing.usage.report({ accountId: account.id, testMode: 1 }, range);
      assert.deepEqual(
        testReport.rows.map((r) => [r.key_id, r.tasks, r.seconds, r.cost_micros]),
        [[testKey.id, 1, 2, 1]],
      );
    });

    test("usageTotals: a row carries day, model and key_id only when grouped by them", async () => {
      const { account } = await newCustomer(store.accounts);
      await store.bdb
        .insertInto("billing_holds")
        .values(hold({ task_id: `task_fields_${name}`, account_id: account.id, day: 20_000 }))
        .execute();
      const filter = { accountId: account.id, testMode: 0 as const, from: 20_000, to: 20_000 };
      const counts = { tasks: 1, succeeded: 1, failed: 0, in_progress: 0, seconds: 4, cost: 280_000 };
      const totals = (byDay: boolean, byModel: boolean, byKey: boolean) =>
        billing.repository.usageTotals(filter, { byDay, byModel, byKey });
      // Strict deepEqual: a field set to NaN or undefined is not an absent field.
      assert.deepEqual(await totals(false, false, false), [counts]);
      assert.deepEqual(await totals(true, false, false), [{ day: 20_000, ...counts }]);
      assert.deepEqual(await totals(false, true, false), [{ model: GROK, ...counts }]);
      assert.deepEqual(await totals(false, false, true), [{ key_id: "key_1", ...counts }]);
    });
  });
}
