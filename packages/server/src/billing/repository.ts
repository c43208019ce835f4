/**
 * Every SQL statement billing runs on its own tables (balances, holds, ledger, usage aggregates, counter reconciliation and sweep) and the existence checks on the owner's accounts
 * and keys. No business rules: callers decide amounts, statuses and the order of calls. limits.ts
 * keeps the limit settings and the counter primitives, with the reasons they exist.
 *
 * Every method takes an optional executor (default: the pool). Pass the open transaction whenever
 * the call is part of one: SQLite has one connection, so reaching for the pool inside a transaction
 * would wait forever. Amounts come back as JS numbers (Postgres gives bigint sums as strings).
 */
import { type Kysely, type Selectable, sql } from "kysely";
import type { Database } from "../store/schema.ts";
import { monotonicId } from "../util/ids.ts";
import { assertMicros, microsFromDb } from "./money.ts";
import {
  type BillingBalancesTable,
  type BillingDb,
  billingView,
  type HoldRow,
  type HoldStatus,
  type LedgerRow,
} from "./tables.ts";

/** The pool, or the transaction the call belongs to. */
export type Executor = Kysely<Database>;

/** An account's balance and held, as the ledger sums them or the balance row caches them. */
export type Sums = { balance: number; held: number };

/** One group of `usageTotals`; `day`, `model`, `key_id` only when grouped by them. */
export interface UsageTotals {
  day?: number;
  model?: string;
  key_id?: string;
  tasks: number;
  succeeded: number;
  failed: number;
  in_progress: number;
  seconds: number;
  cost: number;
}

/** Inclusive UTC day numbers `from`..`to`, optionally one model or key. */
export type UsageFilter = {
  accountId: string;
  /** Only the tasks of this mode's keys (a test key's usage is the test world's). */
  testMode: 0 | 1;
  from: number;
  to: number;
  model?: string;
  keyId?: string;
};
export type UsageGrouping = { byDay: boolean; byModel: boolean; byKey: boolean };

/** Sortable: entries written in the same millisecond list in the order they were written. */
const newLedgerId = () => monotonicId("led_", 12);
function normalizeLedger(row: LedgerRow): LedgerRow {
  return { ...row, amount: Number(row.amount), created_at: Number(row.created_at) };
}

/** What every billing repository has: the store, billing's tables on an executor, transactions. */
export class BillingTables {
  constructor(protected readonly db: Kysely<Database>) {}

  /** Billing's tables on the given executor (a type-level view: see `billingView`). */
  protected on(ex: Executor | undefined): Kysely<BillingDb> {
    return billingView(ex ?? this.db);
  }

  transaction<T>(fn: (trx: Executor) => Promise<T>): Promise<T> {
    return this.db.transaction().execute(fn);
  }
}

export class BillingRepository extends BillingTables {
  // Balances (the ledger's cached sums, one row per account)

  /** Create the account's balance row if missing; takes no lock on an existing row. */
  async ensureBalanceRow(accountId: string, currency: string, now: number, ex?: Executor): Promise<void> {
    await this.on(ex)
      .insertInto("billing_balances")
      .values({ account_id: accountId, currency, balance: 0, held: 0, updated_at: now })
      .onConflict((oc) => oc.column("account_id").doNothing())
      .execute();
  }

  /** The account's billing mode (`prepaid` when the account is unknown: the strict choice). */
  async billingMode(accountId: string, ex?: Executor): Promise<"prepaid" | "unmetered"> {
    const row = await this.on(ex)
      .selectFrom("accounts")
      .select("billing_mode")
      .where("id", "=", accountId)
      .executeTakeFirst();
    return row?.billing_mode === "unmetered" ? "unmetered" : "prepaid";
  }

  balanceRow(accountId: string, ex?: Executor): Promise<Selectable<BillingBalancesTable> | undefined> {
    return this.on(ex)
      .selectFrom("billing_balances")
      .selectAll()
      .where("account_id", "=", accountId)
      .executeTakeFirst();
  }

  /** held += amount only if the available balance covers it (one atomic statement); false when refused. */
  async reserve(accountId: string, amount: number, now: number, ex?: Executor): Promise<boolean> {
    const result = await this.on(ex)
      .updateTable("billing_balances")
      .set((eb) => ({ held: eb("held", "+", amount), updated_at: now }))
      .where("account_id", "=", accountId)
      .where(sql<boolean>`balance - held >= ${amount}`)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** A settled hold: balance −= captured, held −= the whole hold. */
  async applySettlement(accountId: string, captured: number, held: number, now: number, ex?: Executor) {
    await this.on(ex)
      .updateTable("billing_balances")
      .set((eb) => ({ balance: eb("balance", "-", captured), held: eb("held", "-", held), updated_at: now }))
      .where("account_id", "=", accountId)
      .execute();
  }

  /** balance += amount (signed); with `keepCovered`, only while it still covers what is held. False when refused. */
  async credit(accountId: string, amount: number, now: number, keepCovered: boolean, ex?: Executor) {
    let q = this.on(ex)
      .updateTable("billing_balances")
      .set((eb) => ({ balance: eb("balance", "+", amount), updated_at: now }))
      .where("account_id", "=", accountId);
    if (keepCovered) q = q.where(sql<boolean>`balance + ${amount} >= held`);
    return Number((await q.executeTakeFirst()).numUpdatedRows) > 0;
  }

  /**
   * Overwrite the cached sums with `sums`; without them, only touch the row, which on Postgres
   * takes its row lock (writers that come later wait for this transaction).
   */
  async writeBalance(accountId: string, now: number, sums: Sums | undefined, ex?: Executor): Promise<void> {
    await this.on(ex)
      .updateTable("billing_balances")
      .set(sums ? { balance: sums.balance, held: sums.held, updated_at: now } : { updated_at: now })
      .where("account_id", "=", accountId)
      .execute();
  }

  async cachedBalances(ex?: Executor): Promise<Map<string, Sums>> {
    const rows = await this.on(ex)
      .selectFrom("billing_balances")
      .select(["account_id", "balance", "held"])
      .execute();
    return new Map(rows.map((r) => [r.account_id, { balance: Number(r.balance), held: Number(r.held) }]));
  }

  // Holds (one row per accepted task)

  async insertHold(row: HoldRow, ex?: Executor): Promise<void> {
    await this.on(ex).insertInto("billing_holds").values(row).execute();
  }

  /**
   * Move the task's hold out of "open". The guard makes exactly one caller get the row: a
   * concurrent one waits for the row lock, then finds nothing. Undefined when not open.
   */
  claimOpenHold(taskId: string, status: Exclude<HoldStatus, "open">, now: number, ex?: Executor) {
    return this.on(ex)
      .updateTable("billing_holds")
      .set({ status, settled_at: now, amount_captured: 0 })
      .where("task_id", "=", taskId)
      .where("status", "=", "open")
      .returningAll()
      .executeTakeFirst();
  }

  async recordCharge(
    taskId: string,
    charge: Pick<HoldRow, "amount_captured" | "amount_computed" | "billed_seconds" | "billed_tokens">,
    ex?: Executor,
  ): Promise<void> {
    await this.on(ex).updateTable("billing_holds").set(charge).where("task_id", "=", taskId).execute();
  }

  holdOf(taskId: string, ex?: Executor): Promise<HoldRow | undefined> {
    return this.on(ex)
      .selectFrom("billing_holds")
      .selectAll()
      .where("task_id", "=", taskId)
      .executeTakeFirst();
  }

  holdsOf(taskIds: string[], ex?: Executor): Promise<HoldRow[]> {
    return this.on(ex).selectFrom("billing_holds").selectAll().where("task_id", "in", taskIds).execute();
  }

  /** Σ amount_held of open metered holds, per account (an unmetered hold reserves no balance: no ledger rows). */
  async openHeldByAccount(ex?: Executor): Promise<Map<string, number>> {
    const rows = await this.on(ex)
      .selectFrom("billing_holds")
      .select(["account_id", sql<string>`cast(sum(amount_held) as bigint)`.as("held")])
      .where("status", "=", "open")
      .where("metered", "=", 1)
      .groupBy("account_id")
      .execute();
    return new Map(rows.map((r) => [r.account_id, microsFromDb(r.held)]));
  }

  /** How many holds are open, per account and key. */
  async openHoldsByKey(ex?: Executor): Promise<Array<{ account_id: string; key_id: string; n: number }>> {
    const rows = await this.on(ex)
      .selectFrom("billing_holds")
      .select(["account_id", "key_id", (eb) => eb.fn.countAll<number>().as("n")])
      .where("status", "=", "open")
      .groupBy(["account_id", "key_id"])
      .execute();
    return rows.map((r) => ({ account_id: r.account_id, key_id: r.key_id, n: Number(r.n) }));
  }

  // Ledger (append-only)

  /** Insert one entry; a duplicate idempotency key is a violation that aborts the transaction. */
  async appendLedger(entry: Omit<LedgerRow, "id">, ex?: Executor): Promise<LedgerRow> {
    const row: LedgerRow = { id: newLedgerId(), ...entry, amount: assertMicros(entry.amount) };
    await this.on(ex).insertInto("billing_ledger").values(row).execute();
    return row;
  }

  async ledgerEntry(
    accountId: string,
    idempotencyKey: string,
    ex?: Executor,
  ): Promise<LedgerRow | undefined> {
    const row = await this.on(ex)
      .selectFrom("billing_ledger")
      .selectAll()
      .where("account_id", "=", accountId)
      .where("idempotency_key", "=", idempotencyKey)
      .executeTakeFirst();
    return row ? normalizeLedger(row) : undefined;
  }

  /** Entries newest first, keyset-paginated on (created_at, id). */
  async ledgerPage(accountId: string, limit: number, before?: { createdAt: number; id: string }) {
    let q = this.on(undefined)
      .selectFrom("billing_ledger")
      .selectAll()
      .where("account_id", "=", accountId)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(limit);
    if (before) {
      q = q.where((eb) =>
        eb.or([
          eb("created_at", "<", before.createdAt),
          eb.and([eb("created_at", "=", before.createdAt), eb("id", "<", before.id)]),
        ]),
      );
    }
    return (await q.execute()).map(normalizeLedger);
  }

  /** What the ledger adds up to, per account (one account, or all): see schema.ts for the sums. */
  async ledgerSums(accountId?: string, ex?: Executor): Promise<Map<string, Sums>> {
    let q = this.on(ex)
      .selectFrom("billing_ledger")
      .select([
        "account_id",
        sql<string>`cast(coalesce(sum(case when kind in ('topup', 'adjustment') then amount when kind = 'capture' then -amount else 0 end), 0) as bigint)`.as(
          "balance",
        ),
        sql<string>`cast(coalesce(sum(case when kind = 'hold' then amount when kind in ('capture', 'release') then -amount else 0 end), 0) as bigint)`.as(
          "held",
        ),
      ])
      .groupBy("account_id");
    if (accountId) q = q.where("account_id", "=", accountId);
    const rows = await q.execute();
    return new Map(
      rows.map((r) => [r.account_id, { balance: microsFromDb(r.balance), held: microsFromDb(r.held) }]),
    );
  }

  // Usage aggregates (over the hold rows)

  async usageTotals(f: UsageFilter, g: UsageGrouping): Promise<UsageTotals[]> {
    let q = this.on(undefined)
      .selectFrom("billing_holds")
      .select([
        (eb) => eb.fn.countAll<number>().as("tasks"),
        sql<string>`cast(sum(case when status = 'captured' then 1 else 0 end) as bigint)`.as("succeeded"),
        sql<string>`cast(sum(case when status = 'released' then 1 else 0 end) as bigint)`.as("failed"),
        sql<string>`cast(sum(case when status = 'open' then 1 else 0 end) as bigint)`.as("in_progress"),
        sql<string>`cast(sum(coalesce(billed_seconds, 0)) as bigint)`.as("seconds"),
        sql<string>`cast(sum(coalesce(amount_captured, 0)) as bigint)`.as("cost"),
      ])
      .where("account_id", "=", f.accountId)
      .where(
        f.testMode === 1
          ? sql<boolean>`key_id in (select id from api_keys where account_id = ${f.accountId} and test_mode = 1)`
          : sql<boolean>`key_id not in (select id from api_keys where account_id = ${f.accountId} and test_mode = 1)`,
      )
      .where("day", ">=", f.from)
      .where("day", "<=", f.to);
    if (f.model) q = q.where("model", "=", f.model);
    if (f.keyId) q = q.where("key_id", "=", f.keyId);
    const grouped = q
      .$if(g.byDay, (qb) => qb.select("day").groupBy("day").orderBy("day"))
      .$if(g.byModel, (qb) => qb.select("model").groupBy("model").orderBy("model"))
      .$if(g.byKey, (qb) => qb.select("key_id").groupBy("key_id").orderBy("key_id"));
    return (await grouped.execute()).map((r) => {
      const totals: UsageTotals = {
        tasks: Number(r.tasks),
        succeeded: microsFromDb(r.succeeded),
        failed: microsFromDb(r.failed),
        in_progress: microsFromDb(r.in_progress),
        seconds: microsFromDb(r.seconds),
        cost: microsFromDb(r.cost),
      };
      if (g.byDay) totals.day = Number(r.day);
      if (g.byModel) totals.model = r.model;
      if (g.byKey) totals.key_id = r.key_id;
      return totals;
    });
  }

  // Counters (written by limits.ts; read here for reconciliation, swept for housekeeping)

  /** Every key's in-flight counter, by key id. */
  async inflightCounters(ex?: Executor): Promise<Map<string, number>> {
    const rows = await this.on(ex)
      .selectFrom("billing_counters")
      .select(["counter_key", "value"])
      .where("counter_key", "like", "inflight:%")
      .execute();
    return new Map(rows.map((r) => [r.counter_key.slice("inflight:".length), Number(r.value)]));
  }

  /** Drop expired rate-window and spend-day counters; returns how many. Call from the periodic sweep. */
  async purgeExpiredCounters(now: number): Promise<number> {
    const result = await this.on(undefined)
      .deleteFrom("billing_counters")
      .where("expires_at", "is not", null)
      .where("expires_at", "<", now)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // The owner's accounts and keys

  async exists(table: "accounts" | "api_keys", id: string, ex?: Executor): Promise<boolean> {
    return !!(await this.on(ex).selectFrom(table).select("id").where("id", "=", id).executeTakeFirst());
  }
}
