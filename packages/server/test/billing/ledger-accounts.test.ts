import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Billing } from "../../src/billing/billing.ts";
import { MoneyError } from "../../src/billing/money.ts";
import type { BillingLedgerTable } from "../../src/billing/tables.ts";
import { Catalog } from "../../src/catalog/models.ts";
import { ApiError } from "../../src/domain/errors.ts";
import { DIALECTS, newCustomer, openStore, type Store, submit, taskRow } from "./helpers.ts";

/** Seedance 1.5 pro with audio, 5 s at 720p, at the default $0.07/s. */
const FIVE_SECONDS_720P = 350_000;
/** The billing clock of these tests (ms): 2026-03-01 12:00:00.789 UTC. */
const T0 = Date.UTC(2026, 2, 1, 12, 0, 0, 789);

/** Asserts an ApiError with exactly these fields. */
async function refuses(
  promise: Promise<unknown>,
  expected: { status: number; type: string; code: string; message: string; param: string | null },
): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    assert.deepEqual(
      { status: e.status, type: e.type, code: e.code, message: e.message, param: e.param },
      expected,
    );
    return true;
  });
}

async function moneyError(promise: Promise<unknown>, message: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof MoneyError, `expected a MoneyError, got ${String(e)}`);
    assert.equal(e.message, message);
    return true;
  });
}

const invalidAmount = (message: string) => ({
  status: 400,
  type: "invalid_request_error",
  code: "invalid_amount",
  message,
  param: "amount",
});

for (const { name, make } of DIALECTS) {
  describe(`ledger accounts on ${name}`, () => {
    let store: Store;
    let billing: Billing;
    let clock = T0;

    before(async () => {
      store = await openStore(make);
      billing = new Billing(store.db, new Catalog(), { limitsCacheMs: 0, clock: () => clock });
      await billing.prices.ensureDefaultPrices();
    });
    after(async () => {
      await store.close();
    });

    const balanceRow = (accountId: string) =>
      store.bdb
        .selectFrom("billing_balances")
        .selectAll()
        .where("account_id", "=", accountId)
        .executeTakeFirst();

    test("a top-up writes one entry (who, why, when) and credits the balance; a replay returns it unchanged", async () => {
      const { account } = await newCustomer(store.accounts);
      const first = await billing.ledger.topup(account.id, 12_345_678, "invoice-1", {
        note: "wire transfer",
        keyId: "key_admin",
        now: T0 + 5_000,
      });
      assert.equal(first.replayed, false);
      assert.match(first.entry.id, /^led_/);
      assert.deepEqual(first.entry, {
        id: first.entry.id,
        account_id: account.id,
        kind: "topup",
        amount: 12_345_678,
        currency: "USD",
        task_id: null,
        key_id: "key_admin",
        idempotency_key: "topup:invoice-1",
        note: "wire transfer",
        created_at: T0 + 5_000,
      });
      const credited = {
        object: "balance",
        account_id: account.id,
        billing_mode: "prepaid",
        currency: "USD",
        balance: "12.3457",
        held: "0.0000",
        available: "12.3457",
        balance_micros: 12_345_678,
        held_micros: 0,
        available_micros: 12_345_678,
        updated_at: Math.floor((T0 + 5_000) / 1000),
      };
      assert.deepEqual(first.balance, credited);
      assert.deepEqual(await billing.ledger.balance(account.id), credited);
      assert.deepEqual(await billing.ledger.entries(account.id), [first.entry], "stored as returned");

      const replay = await billing.ledger.topup(account.id, 12_345_678, "invoice-1");
      assert.deepEqual(replay, { entry: first.entry, replayed: true, balance: credited });

      await refuses(billing.ledger.topup(account.id, 12_345_677, "invoice-1"), {
        status: 409,
        type: "idempotency_error",
        code: "idempotency_key_reused",
        message: "this idempotency key was already used for a topup of 12.3457 USD; use a new key",
        param: "Idempotency-Key",
      });

      // Without options: no key, no note, the billing clock.
      clock = T0 + 61_000;
      const plain = await billing.ledger.topup(account.id, 1, "invoice-2");
      assert.equal(plain.replayed, false);
      assert.deepEqual(
        [plain.entry.key_id, plain.entry.note, plain.entry.created_at, plain.entry.idempotency_key],
        [null, null, T0 + 61_000, "topup:invoice-2"],
      );
      assert.equal(plain.balance.balance_micros, 12_345_679);
      assert.equal(plain.balance.updated_at, Math.floor((T0 + 61_000) / 1000));
      clock = T0;
    });

    test("adjustments are signed and idempotent under their own keys; a debit must leave the holds covered", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 1_000_000, "same-key");
      const debit = await billing.ledger.adjust(account.id, -200_000, "same-key", {
        note: "correction",
        keyId: "key_admin",
        now: T0 + 1,
      });
      assert.equal(debit.replayed, false);
      assert.deepEqual(debit.entry, {
        id: debit.entry.id,
        account_id: account.id,
        kind: "adjustment",
        amount: -200_000,
        currency: "USD",
        task_id: null,
        key_id: "key_admin",
        idempotency_key: "adjustment:same-key",
        note: "correction",
        created_at: T0 + 1,
      });
      assert.equal(debit.balance.balance_micros, 800_000);

      await submit(store.db, billing, taskRow(account.id, key.id));
      const held = await billing.ledger.balance(account.id);
      assert.deepEqual(
        [
          held.balance,
          held.held,
          held.available,
          held.balance_micros,
          held.held_micros,
          held.available_micros,
        ],
        ["0.8000", "0.3500", "0.4500", 800_000, FIVE_SECONDS_720P, 450_000],
      );

      await refuses(billing.ledger.adjust(account.id, -450_001, "too-much"), {
        status: 400,
        type: "invalid_request_error",
        code: "adjustment_exceeds_available",
        message: "this debit would take the account's available balance below zero (open holds included)",
        param: "amount",
      });
      assert.deepEqual(await billing.ledger.balance(account.id), held, "nothing written");
      assert.equal(
        (await billing.ledger.entries(account.id)).some((e) => e.idempotency_key === "adjustment:too-much"),
        false,
      );

      const exact = await billing.ledger.adjust(account.id, -450_000, "all-of-it");
      assert.deepEqual(
        [exact.balance.balance_micros, exact.balance.held_micros, exact.balance.available],
        [FIVE_SECONDS_720P, FIVE_SECONDS_720P, "0.0000"],
      );
      const replay = await billing.ledger.adjust(account.id, -450_000, "all-of-it");
      assert.equal(replay.replayed, true);
      assert.equal(replay.entry.id, exact.entry.id);
      await refuses(billing.ledger.adjust(account.id, -1, "all-of-it"), {
        status: 409,
        type: "idempotency_error",
        code: "idempotency_key_reused",
        message: "this idempotency key was already used for an adjustment of -0.4500 USD; use a new key",
        param: "Idempotency-Key",
      });
      // A credit always fits, even with nothing available.
      const credit = await billing.ledger.adjust(account.id, 1, "goodwill");
      assert.equal(credit.balance.available_micros, 1);
      await refuses(
        billing.ledger.adjust(account.id, 0, "zero"),
        invalidAmount("an adjustment must not be zero"),
      );
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("a ledger row under the same key but of another kind is a 409 naming that kind", async () => {
      const { account } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 1_000_000, "seed");
      await store.bdb
        .insertInto("billing_ledger")
        .values({
          id: "led_other_kind",
          account_id: account.id,
          kind: "adjustment",
          amount: 5_000_000,
          currency: "USD",
          task_id: null,
          key_id: null,
          idempotency_key: "topup:odd",
          note: null,
          created_at: T0,
        })
        .execute();
      await refuses(billing.ledger.topup(account.id, 5_000_000, "odd"), {
        status: 409,
        type: "idempotency_error",
        code: "idempotency_key_reused",
        message: "this idempotency key was already used for an adjustment of 5.0000 USD; use a new key",
        param: "Idempotency-Key",
      });
      await billing.ledger.rebuildBalance(account.id);
      assert.equal((await billing.ledger.balance(account.id)).balance_micros, 6_000_000);
    });

    test("refused before anything is written: bad amounts, unknown accounts, over-long keys", async () => {
      const { account } = await newCustomer(store.accounts);
      const positive = invalidAmount("a top-up must be a positive amount");
      await refuses(billing.ledger.topup(account.id, 0, "zero"), positive);
      await refuses(billing.ledger.topup(account.id, -1, "negative"), positive);
      // Not integer micro-units: refused before the account is even looked up.
      await moneyError(
        billing.ledger.topup("acct_missing", 1.5, "frac"),
        "amount is not a safe integer of micro-units: 1.5",
      );
      await moneyError(
        billing.ledger.adjust("acct_missing", Number.NaN, "nan"),
        "amount is not a safe integer of micro-units: NaN",
      );
      await moneyError(
        billing.ledger.adjust(account.id, 2 ** 53, "huge"),
        "amount is not a safe integer of micro-units: 9007199254740992",
      );
      const missing = {
        status: 404,
        type: "not_found_error",
        code: "account_not_found",
        message: "no account acct_missing",
        param: "account_id",
      };
      await refuses(billing.ledger.topup("acct_missing", 1, "x"), missing);
      await refuses(billing.ledger.adjust("acct_missing", -1, "x"), missing);
      assert.equal(await balanceRow("acct_missing"), undefined, "the balance row was rolled back");

      // The caller's key: at most 300 characters, whatever the kind.
      const longest = "k".repeat(300);
      const tooLong = {
        status: 400,
        type: "invalid_request_error",
        code: "invalid_idempotency_key",
        message: "the idempotency key is too long (max 300)",
        param: "Idempotency-Key",
      };
      await refuses(billing.ledger.topup(account.id, 1, `${longest}k`), tooLong);
      await refuses(billing.ledger.adjust(account.id, 1, `${longest}k`), tooLong);
      assert.equal(await balanceRow(account.id), undefined, "nothing written for any refusal");
      assert.equal(
        (await billing.ledger.topup(account.id, 1, longest)).entry.idempotency_key,
        `topup:${longest}`,
      );
      assert.equal(
        (await billing.ledger.adjust(account.id, 1, longest)).entry.idempotency_key,
        `adjustment:${longest}`,
      );
      assert.equal((await billing.ledger.balance(account.id)).balance_micros, 2);
    });

    test("the balance of an account without a balance row is zero; currency and time come from the row", async () => {
      const { account } = await newCustomer(store.accounts);
      assert.deepEqual(await billing.ledger.balance(account.id), {
        object: "balance",
        account_id: account.id,
        billing_mode: "prepaid",
        currency: "USD",
        balance: "0.0000",
        held: "0.0000",
        available: "0.0000",
        balance_micros: 0,
        held_micros: 0,
        available_micros: 0,
        updated_at: null,
      });
      const euros = new Billing(store.db, new Catalog(), { currency: "EUR", limitsCacheMs: 0 });
      assert.equal(
        (await euros.ledger.balance(account.id)).currency,
        "EUR",
        "no row: the gateway's currency",
      );
      await billing.ledger.topup(account.id, 10, "seed", { now: T0 + 999 });
      const read = await euros.ledger.balance(account.id);
      assert.equal(read.currency, "USD", "a row: its own currency");
      assert.equal(read.updated_at, Math.floor((T0 + 999) / 1000));
      assert.equal(read.balance, "0.0000", "10 micro-units, at 4 places");
      assert.equal(read.balance_micros, 10);
    });

    test("entries: newest first, 50 by default, clamped to 1..500, paged by (created_at, id)", async () => {
      const { account } = await newCustomer(store.accounts);
      const other = await newCustomer(store.accounts);
      await billing.ledger.topup(other.account.id, 1, "elsewhere");
      // 501 entries written straight to the ledger, three per millisecond (ties broken by id).
      const rows: BillingLedgerTable[] = Array.from({ length: 501 }, (_, i) => ({
        id: `led_t${String(i).padStart(4, "0")}`,
        account_id: account.id,
        kind: "topup",
        amount: i + 1,
        currency: "USD",
        task_id: null,
        key_id: null,
        idempotency_key: `topup:bulk-${i}`,
        note: null,
        created_at: T0 + Math.floor(i / 3),
      }));
      await store.bdb.insertInto("billing_ledger").values(rows).execute();
      const newestFirst = rows.map((r) => r.id).reverse();
      const ids = async (options?: Parameters<Billing["ledger"]["entries"]>[1]) =>
        (await billing.ledger.entries(account.id, options)).map((e) => e.id);

      assert.deepEqual(await ids(), newestFirst.slice(0, 50));
      assert.deepEqual(await ids({ limit: 7 }), newestFirst.slice(0, 7));
      assert.deepEqual(await ids({ limit: 0 }), newestFirst.slice(0, 1));
      assert.deepEqual(await ids({ limit: -5 }), newestFirst.slice(0, 1));
      assert.deepEqual(await ids({ limit: 500 }), newestFirst.slice(0, 500));
      assert.deepEqual(await ids({ limit: 501 }), newestFirst.slice(0, 500));
      const [newest] = await billing.ledger.entries(account.id, { limit: 1 });
      assert.deepEqual(newest, { ...rows[500], amount: 501, created_at: T0 + 166 });

      // Page through everything, 100 at a time, from inside a millisecond's tie.
      const seen: string[] = [];
      let cursor: { createdAt: number; id: string } | undefined;
      for (;;) {
        const page = await billing.ledger.entries(account.id, { limit: 100, before: cursor });
        if (page.length === 0) break;
        seen.push(...page.map((e) => e.id));
        const last = page[page.length - 1]!;
        cursor = { createdAt: last.created_at, id: last.id };
      }
      assert.deepEqual(seen, newestFirst);

      // The rows were written without their balance row: a rebuild creates it from the ledger.
      clock = T0 + 86_400_000;
      const { before: was, after: now } = await billing.ledger.rebuildBalance(account.id);
      clock = T0;
      const sum = (501 * 502) / 2;
      assert.deepEqual(
        [was.balance_micros, was.held_micros, was.updated_at],
        [0, 0, Math.floor((T0 + 86_400_000) / 1000)],
      );
      assert.deepEqual(
        [now.balance_micros, now.held_micros, now.available_micros, now.currency, now.updated_at],
        [sum, 0, sum, "USD", Math.floor((T0 + 86_400_000) / 1000)],
      );
    });

    test("rebuildBalance: the cached values before (locked at the rebuild's time) and after, from the ledger", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await billing.ledger.topup(account.id, 2_000_000, "seed", { now: T0 - 3_600_000 });
      await submit(store.db, billing, taskRow(account.id, key.id));
      await store.bdb
        .updateTable("billing_balances")
        .set({ balance: 9_999_999, held: 350_001, updated_at: T0 - 3_600_000 })
        .where("account_id", "=", account.id)
        .execute();
      clock = T0 + 42_000;
      const { before: was, after: now } = await billing.ledger.rebuildBalance(account.id);
      clock = T0;
      assert.deepEqual(
        [was.balance_micros, was.held_micros, was.available_micros, was.updated_at],
        [9_999_999, 350_001, 9_649_998, Math.floor((T0 + 42_000) / 1000)],
      );
      assert.deepEqual(now, {
        object: "balance",
        account_id: account.id,
        billing_mode: "prepaid",
        currency: "USD",
        balance: "2.0000",
        held: "0.3500",
        available: "1.6500",
        balance_micros: 2_000_000,
        held_micros: FIVE_SECONDS_720P,
        available_micros: 2_000_000 - FIVE_SECONDS_720P,
        updated_at: Math.floor((T0 + 42_000) / 1000),
      });

      // A cached balance with no ledger behind it at all rebuilds to zero.
      const empty = await newCustomer(store.accounts);
      await store.bdb
        .insertInto("billing_balances")
        .values({ account_id: empty.account.id, currency: "USD", balance: 777, held: 7, updated_at: T0 })
        .execute();
      const rebuilt = await billing.ledger.rebuildBalance(empty.account.id);
      assert.deepEqual(
        [
          rebuilt.before.balance_micros,
          rebuilt.before.held_micros,
          rebuilt.after.balance_micros,
          rebuilt.after.held_micros,
        ],
        [777, 7, 0, 0],
      );
      assert.deepEqual(await billing.ledger.checkBalances(), []);
    });

    test("ledgerSums: one account's sums when given one, else every account's", async () => {
      const a = await newCustomer(store.accounts);
      const b = await newCustomer(store.accounts);
      await billing.ledger.topup(a.account.id, 5_000_000, "seed");
      await submit(store.db, billing, taskRow(a.account.id, a.key.id));
      await billing.ledger.topup(b.account.id, 7_000, "seed");
      const one = await billing.repository.ledgerSums(a.account.id);
      assert.deepEqual([...one], [[a.account.id, { balance: 5_000_000, held: FIVE_SECONDS_720P }]]);
      const all = await billing.repository.ledgerSums();
      assert.deepEqual(all.get(a.account.id), { balance: 5_000_000, held: FIVE_SECONDS_720P });
      assert.deepEqual(all.get(b.account.id), { balance: 7_000, held: 0 });
      assert.ok(all.size > 2, "the other tests' accounts too");
    });

    // Last: it leaves the store inconsistent on purpose.
    test("checkBalances reports every field that disagrees: balance, held, open holds, in-flight counters", async () => {
      assert.deepEqual(await billing.ledger.checkBalances(), [], "consistent so far");
      const { account, key } = await newCustomer(store.accounts);
      const key2 = (await store.accounts.createKey(account.id)).key;
      await billing.ledger.topup(account.id, 1_000_000, "seed");
      const task = await submit(store.db, billing, taskRow(account.id, key.id));
      assert.deepEqual(await billing.ledger.checkBalances(), []);

      // The cached balance and held disagree with the ledger, and so does the hold row.
      await store.bdb
        .updateTable("billing_balances")
        .set({ balance: 1_000_001, held: 350_002 })
        .where("account_id", "=", account.id)
        .execute();
      await store.bdb
        .updateTable("billing_holds")
        .set({ amount_held: 1 })
        .where("task_id", "=", task.id)
        .execute();
      // The key's in-flight counter says 3 (one hold is open); another key's says 2 with none open; a
      // third key's counter is 0 with none open, which is consistent.
      const counter = (keyId: string, value: number) =>
        store.bdb
          .insertInto("billing_counters")
          .values({ counter_key: `inflight:${keyId}`, value, expires_at: null })
          .onConflict((oc) => oc.column("counter_key").doUpdateSet({ value }))
          .execute();
      await counter(key.id, 3);
      await counter(key2.id, 2);
      await counter("key_idle", 0);
      // A hold row with neither ledger rows, balance row nor counter (its account sorts first) …
      await store.bdb
        .insertInto("billing_holds")
        .values({
          task_id: "task_orphan",
          account_id: "acct_-orphan",
          key_id: "key_orphan",
          model: "grok-imagine-video",
          resolution: "720p",
          seconds: 5,
          provider: "ark",
          metered: 1,
          billable: 1,
          local_free: 1,
          price_id: null,
          price_version: null,
          currency: "USD",
          amount_held: 500,
          status: "open",
          amount_captured: null,
          amount_computed: null,
          billed_seconds: null,
          billed_tokens: null,
          day: 20_000,
          created_at: T0,
          settled_at: null,
        })
        .execute();
      // … and ledger rows without a balance row (that account sorts last).
      await store.bdb
        .insertInto("billing_ledger")
        .values({
          id: "led_unbalanced",
          account_id: "acct_~unbalanced",
          kind: "topup",
          amount: 123,
          currency: "USD",
          task_id: null,
          key_id: null,
          idempotency_key: "topup:unbalanced",
          note: null,
          created_at: T0,
        })
        .execute();

      const found = await billing.ledger.checkBalances();
      const byAccount = found.filter((d) => d.field !== "inflight");
      assert.deepEqual(byAccount, [
        { account_id: "acct_-orphan", field: "open_holds", cached: 500, derived: 0 },
        { account_id: account.id, field: "balance", cached: 1_000_001, derived: 1_000_000 },
        { account_id: account.id, field: "held", cached: 350_002, derived: FIVE_SECONDS_720P },
        { account_id: account.id, field: "open_holds", cached: 1, derived: FIVE_SECONDS_720P },
        { account_id: "acct_~unbalanced", field: "balance", cached: 0, derived: 123 },
      ]);
      const inflight = found.filter((d) => d.field === "inflight");
      const sortedByKey = [...inflight].sort((a, b) => (a.key_id! < b.key_id! ? -1 : 1));
      assert.deepEqual(
        sortedByKey,
        [
          { account_id: account.id, field: "inflight", key_id: key.id, cached: 3, derived: 1 },
          { account_id: "", field: "inflight", key_id: key2.id, cached: 2, derived: 0 },
          { account_id: "acct_-orphan", field: "inflight", key_id: "key_orphan", cached: 0, derived: 1 },
        ].sort((a, b) => (a.key_id < b.key_id ? -1 : 1)),
      );
      assert.equal(found.length, byAccount.length + inflight.length);
      assert.deepEqual(
        found.slice(0, byAccount.length),
        byAccount,
        "the per-account reports come first, then the counters",
      );
    });
  });
}
