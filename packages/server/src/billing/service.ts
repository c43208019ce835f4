/**
 * The billing core: holds at submit, one settlement per task at finish, an append-only ledger,
 * balances derived from it, per-key limits and usage reports.
 *
 * Transactions and locks. `holdForTask` runs inside the submit transaction and `settleTask` inside
 * the finish transaction; neither opens a transaction of its own and both use only the executor
 * they are given (SQLite has one connection: touching `this.db` inside them would wait forever).
 * Their first statement is a write, so a SQLite deferred transaction takes the write lock before
 * it reads anything. On Postgres, rows are locked in one global order — the account's balance row,
 * then the key's in-flight counter, then its spend counter — so holds and settlements never
 * deadlock each other. Exactly-once settlement is the database's job: a guarded
 * `status = 'open'` update claims the hold (a concurrent settler waits for the row lock, then
 * finds it settled), and every ledger row carries an idempotency key unique per account.
 */
import type { Kysely } from "kysely";
import { sql } from "kysely";
import type { Catalog } from "../catalog/models.ts";
import { ApiError, invalid, notFound } from "../domain/errors.ts";
import type { Resolution } from "../domain/request.ts";
import type { Principal } from "../keys/auth.ts";
import type { Database, TaskRow } from "../store/schema.ts";
import { randomAlphanumeric } from "../util/ids.ts";
import { BillingRefusal } from "./errors.ts";
import {
  DAY_MS,
  dayOf,
  dayToDate,
  decrementCounter,
  inflightKey,
  type LimitPatch,
  type LimitSettings,
  Limits,
  readCounter,
  spendKey,
  tryIncrement,
  UNLIMITED,
} from "./limits.ts";
import { assertMicros, formatMoney, microsFromDb } from "./money.ts";
import {
  type ApiPricing,
  charge,
  DEFAULT_PRICES,
  PriceGapError,
  type PriceRule,
  type PriceVersion,
  parsePriceRule,
  pricingToApi,
  quote,
  ruleGaps,
} from "./prices.ts";
import {
  type BillingDb,
  billingView,
  type HoldRow,
  type LedgerKind,
  type LedgerRow,
  type LimitScope,
  type PriceRow,
} from "./schema.ts";

export interface BillingOptions {
  /** The currency every price and balance is in (default "USD"). */
  currency?: string;
  /**
   * Who pays for renders by the local engine: "free" (default: the operator; nothing is charged)
   * or "priced" (the account, at the model's price). Test-mode keys are never charged for local
   * renders either way.
   */
  localRenders?: "free" | "priced";
  /** Gateway-wide limit defaults, under account and key settings (default: unlimited). */
  defaults?: Partial<LimitSettings>;
  /** Default price rules by model id (default DEFAULT_PRICES), written as version 1 when missing. */
  defaultPrices?: Readonly<Record<string, PriceRule>>;
  /** Retry-After sent with a concurrency-limit 429 (default 10 s). */
  concurrencyRetryAfterSeconds?: number;
  /** How long effective limits are cached per process (default 5 000 ms). */
  limitsCacheMs?: number;
  clock?: () => number;
}

export interface HoldParams {
  accountId: string;
  keyId: string;
  taskId: string;
  model: string;
  resolution: Resolution;
  /** The requested seconds: the hold covers this much. */
  maxSeconds: number;
  /** Who is planned to render it: "local" or an upstream provider name. */
  provider: string;
  testMode: boolean;
  /** Pin a price version (default: the current one). */
  priceVersion?: number;
  now?: number;
}

export interface HoldResult {
  /** Micro-units held (0 when the task is free). */
  held: number;
  currency: string;
  priceVersion: number | null;
  billable: boolean;
}

export type SettleOutcome = { status: "succeeded"; seconds?: number; tokens?: number } | { status: "failed" };

/** The task object's `usage` (spec §4). */
export interface TaskUsage {
  seconds: number;
  resolution: Resolution;
  cost: string;
  currency: string;
}

export interface SettleResult {
  /** False when there was nothing to settle (already settled, or the task never had a hold). */
  settled: boolean;
  captured: number;
  released: number;
  usage?: TaskUsage;
}

export interface Balance {
  object: "balance";
  account_id: string;
  currency: string;
  balance: string;
  held: string;
  available: string;
  balance_micros: number;
  held_micros: number;
  available_micros: number;
  updated_at: number | null;
}

export interface Discrepancy {
  account_id: string;
  /** "balance" / "held": cached vs ledger; "open_holds": ledger vs hold rows; "inflight": counter vs open holds (key id in `key_id`). */
  field: "balance" | "held" | "open_holds" | "inflight";
  key_id?: string;
  cached: number;
  derived: number;
}

export type UsageDimension = "day" | "model" | "key";

export interface UsageQuery {
  /** Inclusive UTC days, "YYYY-MM-DD". */
  startDate: string;
  endDate: string;
  model?: string;
  keyId?: string;
  groupBy?: UsageDimension[];
}

export interface UsageRow {
  date?: string;
  model?: string;
  key_id?: string;
  tasks: number;
  succeeded: number;
  failed: number;
  in_progress: number;
  seconds: number;
  cost: string;
  cost_micros: number;
}

type Executor = Kysely<Database>;

const newLedgerId = () => `led_${randomAlphanumeric(24)}`;
const newPriceId = () => `price_${randomAlphanumeric(20)}`;

export class BillingService {
  readonly currency: string;
  readonly localRenders: "free" | "priced";
  readonly limits: Limits;
  private readonly defaultPrices: Readonly<Record<string, PriceRule>>;
  private readonly concurrencyRetryAfter: number;
  private readonly clock: () => number;
  private defaultsWritten: Promise<void> | undefined;

  constructor(
    private readonly db: Kysely<Database>,
    readonly catalog: Catalog,
    options: BillingOptions = {},
  ) {
    this.currency = options.currency ?? "USD";
    this.localRenders = options.localRenders ?? "free";
    this.defaultPrices = options.defaultPrices ?? DEFAULT_PRICES;
    this.concurrencyRetryAfter = options.concurrencyRetryAfterSeconds ?? 10;
    this.clock = options.clock ?? Date.now;
    this.limits = new Limits(
      db,
      { ...UNLIMITED, ...options.defaults },
      options.limitsCacheMs ?? 5_000,
      this.clock,
    );
  }

  // ===========================================================================================
  // Hold (inside the submit transaction)

  /**
   * Reserve the worst-case price of a task about to be created, and count it against the key's
   * concurrency and daily-spend limits. Call it inside the transaction that inserts the task: a
   * refusal (a `BillingRefusal`: 403 insufficient_quota / permission_error, 429 rate_limit_error)
   * rolls the whole submit back, so no task exists without its hold.
   */
  async holdForTask(trx: Executor, p: HoldParams): Promise<HoldResult> {
    const db = billingView(trx);
    const now = p.now ?? this.clock();
    // Write first (SQLite: take the write lock before reading; Postgres: no lock on an existing row).
    await this.ensureBalanceRow(db, p.accountId, now);

    const limits = await this.limits.effective(p.accountId, p.keyId, trx);
    assertAllowed(limits, p.model);

    const localFree = this.localRenders === "free";
    const free = p.provider === "local" && (p.testMode || localFree);
    const price =
      p.priceVersion !== undefined
        ? await this.priceAt(db, p.model, p.priceVersion)
        : await this.currentPriceIn(db, p.model, now);
    if (p.priceVersion !== undefined && !price) {
      throw invalid("price_version_not_found", `${p.model} has no price version ${p.priceVersion}`, "model");
    }
    let amount = 0;
    if (!free) {
      if (!price) throw unpriced(p.model, `${p.model} has no price on this gateway`);
      if (price.currency !== this.currency) {
        throw unpriced(p.model, `the price of ${p.model} is in ${price.currency}, not ${this.currency}`);
      }
      try {
        amount = quote(price.rule, p.resolution, p.maxSeconds);
      } catch (error) {
        if (error instanceof PriceGapError) throw unpriced(p.model, `${p.model}: ${error.message}`);
        throw error;
      }
    }

    // Lock order: balance → in-flight → spend (settleTask uses the same order).
    const reserved = await db
      .updateTable("billing_balances")
      .set((eb) => ({ held: eb("held", "+", amount), updated_at: now }))
      .where("account_id", "=", p.accountId)
      .where(sql<boolean>`balance - held >= ${amount}`)
      .executeTakeFirst();
    if (Number(reserved.numUpdatedRows) === 0) {
      const balance = await this.balanceIn(db, p.accountId);
      throw new BillingRefusal(
        "insufficient_quota",
        403,
        "insufficient_quota",
        "insufficient_balance",
        `this task can cost up to ${formatMoney(amount)} ${this.currency} (${p.maxSeconds} s at ${p.resolution}) ` +
          `but the account has ${formatMoney(balance.available_micros)} ${this.currency} available; ` +
          "top up the account, or ask for fewer seconds or a lower resolution",
      );
    }

    if (!(await tryIncrement(db, inflightKey(p.keyId), 1, limits.maxConcurrent, null))) {
      throw new BillingRefusal(
        "concurrency_limit",
        429,
        "rate_limit_error",
        "concurrency_limit_exceeded",
        `this key already has ${limits.maxConcurrent} tasks in progress, its limit; ` +
          "wait for one to finish, then retry",
        null,
        { "Retry-After": String(this.concurrencyRetryAfter) },
      );
    }

    const day = dayOf(now);
    if (amount > 0 && limits.dailySpendCap !== null) {
      const spendOk = await tryIncrement(
        db,
        spendKey(p.keyId, day),
        amount,
        limits.dailySpendCap,
        (day + 3) * DAY_MS,
      );
      if (!spendOk) {
        const committed = await readCounter(db, spendKey(p.keyId, day));
        const untilTomorrow = Math.max(1, Math.ceil(((day + 1) * DAY_MS - now) / 1000));
        throw new BillingRefusal(
          "daily_spend_cap",
          403,
          "insufficient_quota",
          "daily_spend_cap_exceeded",
          `this key may spend ${formatMoney(limits.dailySpendCap)} ${this.currency} per UTC day and has committed ` +
            `${formatMoney(committed)}; this task can cost up to ${formatMoney(amount)}. ` +
            "Retry tomorrow or ask the operator to raise the cap",
          null,
          { "Retry-After": String(untilTomorrow) },
        );
      }
    } else if (amount > 0) {
      await tryIncrement(db, spendKey(p.keyId, day), amount, null, (day + 3) * DAY_MS);
    }

    await db
      .insertInto("billing_holds")
      .values({
        task_id: p.taskId,
        account_id: p.accountId,
        key_id: p.keyId,
        model: p.model,
        resolution: p.resolution,
        seconds: p.maxSeconds,
        provider: p.provider,
        billable: free ? 0 : 1,
        local_free: p.testMode || localFree ? 1 : 0,
        price_id: price?.id ?? null,
        price_version: price?.version ?? null,
        currency: this.currency,
        amount_held: amount,
        status: "open",
        amount_captured: null,
        amount_computed: null,
        billed_seconds: null,
        billed_tokens: null,
        day,
        created_at: now,
        settled_at: null,
      })
      .execute();
    if (amount > 0) {
      await this.append(db, {
        accountId: p.accountId,
        kind: "hold",
        amount,
        taskId: p.taskId,
        keyId: p.keyId,
        idempotencyKey: `hold:${p.taskId}`,
        now,
      });
    }
    return { held: amount, currency: this.currency, priceVersion: price?.version ?? null, billable: !free };
  }

  /** `holdForTask` for a task row about to be inserted (its request_json carries the resolution). */
  holdForTaskRow(trx: Executor, task: TaskRow, options: { priceVersion?: number } = {}): Promise<HoldResult> {
    const request = JSON.parse(task.request_json) as { resolution?: Resolution };
    const model = this.catalog.get(task.model);
    const resolution = request.resolution ?? model?.defaultResolution;
    if (!resolution) throw new Error(`task ${task.id} has no resolution`);
    return this.holdForTask(trx, {
      accountId: task.account_id,
      keyId: task.api_key_id,
      taskId: task.id,
      model: task.model,
      resolution,
      maxSeconds: task.seconds,
      provider: task.provider,
      testMode: task.test_mode === 1,
      priceVersion: options.priceVersion,
      now: task.created_at,
    });
  }

  // ===========================================================================================
  // Settlement (inside the finish transaction)

  /**
   * Settle a task's hold exactly once: on success capture the price of the actual usage at the
   * task's accepted price version (never more than the hold) and release the rest; on failure of
   * any kind release everything. A second call — a duplicate callback, a racing worker — finds the
   * hold settled and changes nothing (`settled: false`).
   */
  async settleTask(
    trx: Executor,
    task: Pick<TaskRow, "id" | "provider">,
    outcome: SettleOutcome,
    now = this.clock(),
  ): Promise<SettleResult> {
    const db = billingView(trx);
    // The claim: the guarded update is the first statement (write first) and the only way out of "open".
    const hold = await db
      .updateTable("billing_holds")
      .set({
        status: outcome.status === "succeeded" ? "captured" : "released",
        settled_at: now,
        amount_captured: 0,
      })
      .where("task_id", "=", task.id)
      .where("status", "=", "open")
      .returningAll()
      .executeTakeFirst();
    if (!hold) return { settled: false, captured: 0, released: 0 };

    const held = Number(hold.amount_held);
    let captured = 0;
    let computed = 0;
    let billedSeconds: number | null = null;
    let billedTokens: number | null = null;
    if (outcome.status === "succeeded") {
      billedSeconds = billableSeconds(outcome.seconds, hold.seconds);
      billedTokens = outcome.tokens !== undefined ? Math.max(0, Math.round(outcome.tokens)) : null;
      const free = hold.billable === 0 || (task.provider === "local" && hold.local_free === 1);
      if (!free && hold.price_id) {
        const price = await this.priceById(db, hold.price_id);
        computed = charge(
          price.rule,
          hold.resolution as Resolution,
          billedSeconds,
          billedTokens ?? undefined,
        );
        captured = Math.min(computed, held);
      }
    }
    const released = held - captured;
    await db
      .updateTable("billing_holds")
      .set({
        amount_captured: captured,
        amount_computed: computed,
        billed_seconds: billedSeconds,
        billed_tokens: billedTokens,
      })
      .where("task_id", "=", task.id)
      .execute();
    await db
      .updateTable("billing_balances")
      .set((eb) => ({ balance: eb("balance", "-", captured), held: eb("held", "-", held), updated_at: now }))
      .where("account_id", "=", hold.account_id)
      .execute();
    if (captured > 0) {
      await this.append(db, {
        accountId: hold.account_id,
        kind: "capture",
        amount: captured,
        taskId: task.id,
        keyId: hold.key_id,
        idempotencyKey: `capture:${task.id}`,
        now,
      });
    }
    if (released > 0) {
      await this.append(db, {
        accountId: hold.account_id,
        kind: "release",
        amount: released,
        taskId: task.id,
        keyId: hold.key_id,
        idempotencyKey: `release:${task.id}`,
        now,
      });
    }
    await decrementCounter(db, inflightKey(hold.key_id), 1);
    await decrementCounter(db, spendKey(hold.key_id, hold.day), released);
    const settledRow: HoldRow = {
      ...hold,
      amount_captured: captured,
      amount_computed: computed,
      billed_seconds: billedSeconds,
      billed_tokens: billedTokens,
    };
    return { settled: true, captured, released, usage: usageOf(settledRow) };
  }

  // ===========================================================================================
  // Usage of one task

  /** The task object's `usage` (undefined while the task holds, or when it was never billed). */
  async usageForTask(taskId: string, executor: Executor = this.db): Promise<TaskUsage | undefined> {
    const hold = await billingView(executor)
      .selectFrom("billing_holds")
      .selectAll()
      .where("task_id", "=", taskId)
      .executeTakeFirst();
    return hold ? usageOf(hold) : undefined;
  }

  /** `usageForTask` for a page of tasks at once. */
  async usageForTasks(taskIds: string[], executor: Executor = this.db): Promise<Map<string, TaskUsage>> {
    const out = new Map<string, TaskUsage>();
    if (taskIds.length === 0) return out;
    const holds = await billingView(executor)
      .selectFrom("billing_holds")
      .selectAll()
      .where("task_id", "in", taskIds)
      .execute();
    for (const hold of holds) {
      const usage = usageOf(hold);
      if (usage) out.set(hold.task_id, usage);
    }
    return out;
  }

  // ===========================================================================================
  // Ledger: top-ups, adjustments, balances

  /**
   * Credit an account. Idempotent: the same `idempotencyKey` with the same amount returns the
   * first entry (`replayed: true`); with another amount it is a 409.
   */
  async topup(
    accountId: string,
    amount: number,
    idempotencyKey: string,
    options: { note?: string; keyId?: string; now?: number } = {},
  ): Promise<{ entry: LedgerRow; replayed: boolean; balance: Balance }> {
    assertMicros(amount);
    if (amount <= 0) throw invalid("invalid_amount", "a top-up must be a positive amount", "amount");
    return this.credit("topup", accountId, amount, `topup:${idempotencyKey}`, options);
  }

  /**
   * A signed correction by the operator (idempotent like `topup`). A debit may not take the
   * account's available balance below zero.
   */
  async adjust(
    accountId: string,
    amount: number,
    idempotencyKey: string,
    options: { note?: string; keyId?: string; now?: number } = {},
  ): Promise<{ entry: LedgerRow; replayed: boolean; balance: Balance }> {
    assertMicros(amount);
    if (amount === 0) throw invalid("invalid_amount", "an adjustment must not be zero", "amount");
    return this.credit("adjustment", accountId, amount, `adjustment:${idempotencyKey}`, options);
  }

  private async credit(
    kind: "topup" | "adjustment",
    accountId: string,
    amount: number,
    ledgerKey: string,
    options: { note?: string; keyId?: string; now?: number },
  ): Promise<{ entry: LedgerRow; replayed: boolean; balance: Balance }> {
    if (ledgerKey.length > 320) {
      throw invalid(
        "invalid_idempotency_key",
        "the idempotency key is too long (max 300)",
        "Idempotency-Key",
      );
    }
    const now = options.now ?? this.clock();
    return this.db.transaction().execute(async (trx) => {
      const db = billingView(trx);
      await this.ensureBalanceRow(db, accountId, now);
      const account = await db
        .selectFrom("accounts")
        .select("id")
        .where("id", "=", accountId)
        .executeTakeFirst();
      if (!account) throw notFound("account_not_found", `no account ${accountId}`, "account_id");
      const existing = await db
        .selectFrom("billing_ledger")
        .selectAll()
        .where("account_id", "=", accountId)
        .where("idempotency_key", "=", ledgerKey)
        .executeTakeFirst();
      if (existing) {
        if (existing.kind !== kind || Number(existing.amount) !== amount) {
          throw new ApiError(
            409,
            "idempotency_error",
            "idempotency_key_reused",
            `this idempotency key was already used for a ${existing.kind} of ${formatMoney(Number(existing.amount))} ` +
              `${this.currency}; use a new key`,
            "Idempotency-Key",
          );
        }
        return {
          entry: normalizeLedger(existing),
          replayed: true,
          balance: await this.balanceIn(db, accountId),
        };
      }
      let q = db
        .updateTable("billing_balances")
        .set((eb) => ({ balance: eb("balance", "+", amount), updated_at: now }))
        .where("account_id", "=", accountId);
      if (amount < 0) q = q.where(sql<boolean>`balance + ${amount} >= held`);
      const updated = await q.executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) {
        throw invalid(
          "adjustment_exceeds_available",
          "this debit would take the account's available balance below zero (open holds included)",
          "amount",
        );
      }
      const entry = await this.append(db, {
        accountId,
        kind,
        amount,
        keyId: options.keyId ?? null,
        idempotencyKey: ledgerKey,
        note: options.note ?? null,
        now,
      });
      return { entry, replayed: false, balance: await this.balanceIn(db, accountId) };
    });
  }

  async getBalance(accountId: string, executor: Executor = this.db): Promise<Balance> {
    return this.balanceIn(billingView(executor), accountId);
  }

  /** Ledger entries, newest first (keyset pagination on created_at, id). */
  async ledger(
    accountId: string,
    options: { limit?: number; before?: { createdAt: number; id: string } } = {},
  ): Promise<LedgerRow[]> {
    let q = billingView(this.db)
      .selectFrom("billing_ledger")
      .selectAll()
      .where("account_id", "=", accountId)
      .orderBy("created_at", "desc")
      .orderBy("id", "desc")
      .limit(Math.min(Math.max(options.limit ?? 50, 1), 500));
    const before = options.before;
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

  /** Recompute an account's cached balance from its ledger; returns the cached values before and after. */
  async rebuildBalance(accountId: string): Promise<{ before: Balance; after: Balance }> {
    const now = this.clock();
    return this.db.transaction().execute(async (trx) => {
      const db = billingView(trx);
      await this.ensureBalanceRow(db, accountId, now);
      // Lock the row first: writers that touch it wait, and their ledger rows commit with them.
      await db
        .updateTable("billing_balances")
        .set({ updated_at: now })
        .where("account_id", "=", accountId)
        .execute();
      const before = await this.balanceIn(db, accountId);
      const derived = (await this.ledgerSums(db, accountId)).get(accountId) ?? { balance: 0, held: 0 };
      await db
        .updateTable("billing_balances")
        .set({ balance: derived.balance, held: derived.held, updated_at: now })
        .where("account_id", "=", accountId)
        .execute();
      return { before, after: await this.balanceIn(db, accountId) };
    });
  }

  /**
   * Every way the cached state can disagree with the ledger: cached balance and held vs the
   * ledger's sums, the ledger's open holds vs the hold rows, and each key's in-flight counter vs
   * its open holds. Empty when all is consistent.
   */
  async checkBalances(): Promise<Discrepancy[]> {
    return this.db.transaction().execute(async (trx) => {
      const db = billingView(trx);
      const out: Discrepancy[] = [];
      const ledger = await this.ledgerSums(db);
      const cached = new Map(
        (await db.selectFrom("billing_balances").select(["account_id", "balance", "held"]).execute()).map(
          (r) => [r.account_id, { balance: Number(r.balance), held: Number(r.held) }],
        ),
      );
      const openHolds = new Map(
        (
          await db
            .selectFrom("billing_holds")
            .select(["account_id", sql<string>`cast(sum(amount_held) as bigint)`.as("held")])
            .where("status", "=", "open")
            .groupBy("account_id")
            .execute()
        ).map((r) => [r.account_id, microsFromDb(r.held)]),
      );
      const accounts = new Set([...ledger.keys(), ...cached.keys(), ...openHolds.keys()]);
      for (const accountId of [...accounts].sort()) {
        const l = ledger.get(accountId) ?? { balance: 0, held: 0 };
        const c = cached.get(accountId) ?? { balance: 0, held: 0 };
        const h = openHolds.get(accountId) ?? 0;
        if (c.balance !== l.balance) {
          out.push({ account_id: accountId, field: "balance", cached: c.balance, derived: l.balance });
        }
        if (c.held !== l.held)
          out.push({ account_id: accountId, field: "held", cached: c.held, derived: l.held });
        if (h !== l.held)
          out.push({ account_id: accountId, field: "open_holds", cached: h, derived: l.held });
      }
      const openByKey = await db
        .selectFrom("billing_holds")
        .select(["account_id", "key_id", (eb) => eb.fn.countAll<number>().as("n")])
        .where("status", "=", "open")
        .groupBy(["account_id", "key_id"])
        .execute();
      const counters = new Map(
        (
          await db
            .selectFrom("billing_counters")
            .select(["counter_key", "value"])
            .where("counter_key", "like", "inflight:%")
            .execute()
        ).map((r) => [r.counter_key.slice("inflight:".length), Number(r.value)]),
      );
      const seen = new Set<string>();
      for (const row of openByKey) {
        seen.add(row.key_id);
        const counter = counters.get(row.key_id) ?? 0;
        if (counter !== Number(row.n)) {
          out.push({
            account_id: row.account_id,
            field: "inflight",
            key_id: row.key_id,
            cached: counter,
            derived: Number(row.n),
          });
        }
      }
      for (const [keyId, value] of counters) {
        if (!seen.has(keyId) && value !== 0) {
          out.push({ account_id: "", field: "inflight", key_id: keyId, cached: value, derived: 0 });
        }
      }
      return out;
    });
  }

  // ===========================================================================================
  // Usage reports

  async usageReport(accountId: string, query: UsageQuery): Promise<{ rows: UsageRow[]; totals: UsageRow }> {
    const from = dateToDay(query.startDate);
    const to = dateToDay(query.endDate);
    const groupBy = query.groupBy ?? ["day", "model", "key"];
    const byDay = groupBy.includes("day");
    const byModel = groupBy.includes("model");
    const byKey = groupBy.includes("key");
    let q = billingView(this.db)
      .selectFrom("billing_holds")
      .select([
        (eb) => eb.fn.countAll<number>().as("tasks"),
        sql<string>`cast(sum(case when status = 'captured' then 1 else 0 end) as bigint)`.as("succeeded"),
        sql<string>`cast(sum(case when status = 'released' then 1 else 0 end) as bigint)`.as("failed"),
        sql<string>`cast(sum(case when status = 'open' then 1 else 0 end) as bigint)`.as("in_progress"),
        sql<string>`cast(sum(coalesce(billed_seconds, 0)) as bigint)`.as("seconds"),
        sql<string>`cast(sum(coalesce(amount_captured, 0)) as bigint)`.as("cost"),
      ])
      .where("account_id", "=", accountId)
      .where("day", ">=", from)
      .where("day", "<=", to);
    if (query.model) q = q.where("model", "=", query.model);
    if (query.keyId) q = q.where("key_id", "=", query.keyId);
    const grouped = q
      .$if(byDay, (qb) => qb.select("day").groupBy("day").orderBy("day"))
      .$if(byModel, (qb) => qb.select("model").groupBy("model").orderBy("model"))
      .$if(byKey, (qb) => qb.select("key_id").groupBy("key_id").orderBy("key_id"));
    const raw = await grouped.execute();
    const rows: UsageRow[] = raw.map((r) => {
      const cost = microsFromDb(r.cost);
      const row: UsageRow = {
        tasks: Number(r.tasks),
        succeeded: microsFromDb(r.succeeded),
        failed: microsFromDb(r.failed),
        in_progress: microsFromDb(r.in_progress),
        seconds: microsFromDb(r.seconds),
        cost: formatMoney(cost),
        cost_micros: cost,
      };
      if (byDay) row.date = dayToDate(Number(r.day));
      if (byModel) row.model = r.model;
      if (byKey) row.key_id = r.key_id;
      return row;
    });
    const totalCost = rows.reduce((s, r) => s + r.cost_micros, 0);
    const totals: UsageRow = {
      tasks: rows.reduce((s, r) => s + r.tasks, 0),
      succeeded: rows.reduce((s, r) => s + r.succeeded, 0),
      failed: rows.reduce((s, r) => s + r.failed, 0),
      in_progress: rows.reduce((s, r) => s + r.in_progress, 0),
      seconds: rows.reduce((s, r) => s + r.seconds, 0),
      cost: formatMoney(totalCost),
      cost_micros: totalCost,
    };
    return { rows, totals };
  }

  // ===========================================================================================
  // Prices

  /** Write the default price (version 1) of every catalog model that has none. Idempotent; call at start. */
  ensureDefaultPrices(): Promise<void> {
    this.defaultsWritten ??= (async () => {
      const db = billingView(this.db);
      const now = this.clock();
      for (const model of this.catalog.list()) {
        const rule = this.defaultPrices[model.id];
        if (rule) await this.insertDefault(db, model.id, rule, now);
      }
    })().catch((error) => {
      this.defaultsWritten = undefined;
      throw error;
    });
    return this.defaultsWritten;
  }

  async currentPrice(model: string): Promise<PriceVersion | undefined> {
    return this.currentPriceIn(billingView(this.db), model, this.clock());
  }

  async priceHistory(model: string): Promise<PriceVersion[]> {
    await this.currentPrice(model); // writes the default version 1 if needed
    const rows = await billingView(this.db)
      .selectFrom("billing_prices")
      .selectAll()
      .where("model", "=", model)
      .orderBy("version", "desc")
      .execute();
    return rows.map(toPriceVersion);
  }

  /** A new price version for a catalog model (the old ones stay, for tasks accepted under them). */
  async setPrice(
    modelId: string,
    rule: PriceRule,
    options: { note?: string | null; createdBy?: string | null; now?: number } = {},
  ): Promise<PriceVersion> {
    const model = this.catalog.require(modelId);
    const gaps = ruleGaps(rule, model);
    if (gaps.length > 0) {
      throw invalid("incomplete_price", `the price of ${modelId} is missing ${gaps.join(", ")}`, gaps[0]!);
    }
    const now = options.now ?? this.clock();
    await this.currentPrice(modelId); // version 1 is the default, so an edit is version 2
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await this.db.transaction().execute(async (trx) => {
          const db = billingView(trx);
          const top = await db
            .selectFrom("billing_prices")
            .select((eb) => eb.fn.max("version").as("v"))
            .where("model", "=", modelId)
            .executeTakeFirst();
          const row: PriceRow = {
            id: newPriceId(),
            model: modelId,
            version: Number(top?.v ?? 0) + 1,
            currency: this.currency,
            rule_json: JSON.stringify(rule),
            note: options.note ?? null,
            created_by: options.createdBy ?? null,
            created_at: now,
          };
          await db.insertInto("billing_prices").values(row).execute();
          return toPriceVersion(row);
        });
      } catch (error) {
        lastError = error; // two editors raced for the same version number: take the next one
      }
    }
    throw lastError;
  }

  /** The `pricing` object of each model for `toApiModel(model, { pricing })`. */
  async pricingForModels(): Promise<Map<string, ApiPricing>> {
    await this.ensureDefaultPrices();
    const rows = await billingView(this.db)
      .selectFrom("billing_prices as p")
      .selectAll()
      .where(({ eb, selectFrom }) =>
        eb(
          "p.version",
          "=",
          selectFrom("billing_prices as q")
            .select((qb) => qb.fn.max("q.version").as("v"))
            .whereRef("q.model", "=", "p.model"),
        ),
      )
      .execute();
    const out = new Map<string, ApiPricing>();
    for (const row of rows) {
      const model = this.catalog.get(row.model);
      if (model) out.set(row.model, pricingToApi(toPriceVersion(row), model, this.localRenders === "free"));
    }
    return out;
  }

  // ===========================================================================================
  // Limits

  getLimits(scope: LimitScope, id: string) {
    return this.limits.get(scope, id);
  }

  setLimits(scope: LimitScope, id: string, patch: LimitPatch) {
    return this.limits.set(scope, id, patch);
  }

  effectiveLimits(principal: Principal): Promise<LimitSettings> {
    return this.limits.effective(principal.account.id, principal.key.id);
  }

  /**
   * Count one request against the key's per-minute limit. Returns the RateLimit-* headers to send
   * (empty when the key has no limit); throws a 429 `BillingRefusal` carrying them plus Retry-After.
   * Call it outside any transaction.
   */
  async enforceRateLimit(
    principal: Principal,
    options: { now?: number } = {},
  ): Promise<Record<string, string>> {
    const limits = await this.effectiveLimits(principal);
    const limit = limits.requestsPerMinute;
    if (limit === null) return {};
    const decision = await this.limits.consume(principal.key.id, limit, options.now ?? this.clock());
    const headers: Record<string, string> = {
      "RateLimit-Limit": String(limit),
      "RateLimit-Remaining": String(decision.remaining),
      "RateLimit-Reset": String(decision.resetSeconds),
      "RateLimit-Policy": `${limit};w=60`,
    };
    if (decision.allowed) return headers;
    throw new BillingRefusal(
      "rate_limit",
      429,
      "rate_limit_error",
      "rate_limit_exceeded",
      `this key may make ${limit} requests per minute; retry after ${decision.retryAfterSeconds} s`,
      null,
      { ...headers, "Retry-After": String(decision.retryAfterSeconds) },
    );
  }

  /** 403 permission_error unless the key may use the model (checked again by holdForTask). */
  async assertModelAllowed(principal: Principal, model: string): Promise<void> {
    assertAllowed(await this.effectiveLimits(principal), model);
  }

  /** For GET /v1/models: a predicate over model ids. */
  async modelFilter(principal: Principal): Promise<(modelId: string) => boolean> {
    const allowed = (await this.effectiveLimits(principal)).allowedModels;
    if (allowed === null) return () => true;
    const set = new Set(allowed);
    return (id) => set.has(id);
  }

  async accountExists(accountId: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("accounts")
      .select("id")
      .where("id", "=", accountId)
      .executeTakeFirst();
    return !!row;
  }

  async keyExists(keyId: string): Promise<boolean> {
    const row = await this.db.selectFrom("api_keys").select("id").where("id", "=", keyId).executeTakeFirst();
    return !!row;
  }

  /** Drop expired rate-window and spend-day counters. Call from the periodic sweep. */
  async sweep(now = this.clock()): Promise<number> {
    const result = await billingView(this.db)
      .deleteFrom("billing_counters")
      .where("expires_at", "is not", null)
      .where("expires_at", "<", now)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  // ===========================================================================================
  // Internals

  private async ensureBalanceRow(db: Kysely<BillingDb>, accountId: string, now: number): Promise<void> {
    await db
      .insertInto("billing_balances")
      .values({ account_id: accountId, currency: this.currency, balance: 0, held: 0, updated_at: now })
      .onConflict((oc) => oc.column("account_id").doNothing())
      .execute();
  }

  private async balanceIn(db: Kysely<BillingDb>, accountId: string): Promise<Balance> {
    const row = await db
      .selectFrom("billing_balances")
      .selectAll()
      .where("account_id", "=", accountId)
      .executeTakeFirst();
    const balance = row ? Number(row.balance) : 0;
    const held = row ? Number(row.held) : 0;
    return {
      object: "balance",
      account_id: accountId,
      currency: row?.currency ?? this.currency,
      balance: formatMoney(balance),
      held: formatMoney(held),
      available: formatMoney(balance - held),
      balance_micros: balance,
      held_micros: held,
      available_micros: balance - held,
      updated_at: row ? Math.floor(row.updated_at / 1000) : null,
    };
  }

  private async ledgerSums(
    db: Kysely<BillingDb>,
    accountId?: string,
  ): Promise<Map<string, { balance: number; held: number }>> {
    let q = db
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

  private async append(
    db: Kysely<BillingDb>,
    e: {
      accountId: string;
      kind: LedgerKind;
      amount: number;
      taskId?: string | null;
      keyId?: string | null;
      idempotencyKey: string;
      note?: string | null;
      now: number;
    },
  ): Promise<LedgerRow> {
    const row: LedgerRow = {
      id: newLedgerId(),
      account_id: e.accountId,
      kind: e.kind,
      amount: assertMicros(e.amount),
      currency: this.currency,
      task_id: e.taskId ?? null,
      key_id: e.keyId ?? null,
      idempotency_key: e.idempotencyKey,
      note: e.note ?? null,
      created_at: e.now,
    };
    // A plain insert: a duplicate idempotency key is a violation that aborts the transaction.
    await db.insertInto("billing_ledger").values(row).execute();
    return row;
  }

  private async insertDefault(
    db: Kysely<BillingDb>,
    model: string,
    rule: PriceRule,
    now: number,
  ): Promise<void> {
    await db
      .insertInto("billing_prices")
      .values({
        id: newPriceId(),
        model,
        version: 1,
        currency: this.currency,
        rule_json: JSON.stringify(rule),
        note: "default price",
        created_by: "default",
        created_at: now,
      })
      .onConflict((oc) => oc.columns(["model", "version"]).doNothing())
      .execute();
  }

  private async currentPriceIn(
    db: Kysely<BillingDb>,
    model: string,
    now: number,
  ): Promise<PriceVersion | undefined> {
    const find = () =>
      db
        .selectFrom("billing_prices")
        .selectAll()
        .where("model", "=", model)
        .orderBy("version", "desc")
        .limit(1)
        .executeTakeFirst();
    let row = await find();
    if (!row) {
      const rule = this.defaultPrices[model];
      if (!rule || !this.catalog.has(model)) return undefined;
      await this.insertDefault(db, model, rule, now);
      row = await find();
    }
    return row ? toPriceVersion(row) : undefined;
  }

  private async priceAt(
    db: Kysely<BillingDb>,
    model: string,
    version: number,
  ): Promise<PriceVersion | undefined> {
    const row = await db
      .selectFrom("billing_prices")
      .selectAll()
      .where("model", "=", model)
      .where("version", "=", version)
      .executeTakeFirst();
    return row ? toPriceVersion(row) : undefined;
  }

  private async priceById(db: Kysely<BillingDb>, id: string): Promise<PriceVersion> {
    const row = await db
      .selectFrom("billing_prices")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    return toPriceVersion(row);
  }
}

// ---------------------------------------------------------------------------------------------

function toPriceVersion(row: PriceRow): PriceVersion {
  return {
    id: row.id,
    model: row.model,
    version: Number(row.version),
    currency: row.currency,
    rule: parsePriceRule(row.rule_json),
    note: row.note,
    createdBy: row.created_by,
    createdAt: Number(row.created_at),
  };
}

function normalizeLedger(row: LedgerRow): LedgerRow {
  return { ...row, amount: Number(row.amount), created_at: Number(row.created_at) };
}

function assertAllowed(limits: LimitSettings, model: string): void {
  if (limits.allowedModels !== null && !limits.allowedModels.includes(model)) {
    throw new BillingRefusal(
      "model_not_allowed",
      403,
      "permission_error",
      "model_not_allowed",
      `this API key may not use ${model}; GET /v1/models lists the models it may use`,
      "model",
    );
  }
}

function unpriced(model: string, detail: string): ApiError {
  return new ApiError(
    500,
    "server_error",
    "model_not_priced",
    `${detail}; the operator must set one (PUT /v1/admin/prices/${model}) before it can be billed`,
    "model",
  );
}

/** Whole seconds actually billed: the reported duration rounded, within [1, requested]. */
function billableSeconds(reported: number | undefined, requested: number): number {
  if (reported === undefined || !Number.isFinite(reported)) return requested;
  return Math.min(requested, Math.max(Math.min(1, requested), Math.round(reported)));
}

function usageOf(hold: HoldRow): TaskUsage | undefined {
  if (hold.status === "open") return undefined;
  return {
    seconds: hold.status === "captured" ? Number(hold.billed_seconds ?? hold.seconds) : 0,
    resolution: hold.resolution as Resolution, // written at submit from the validated request
    cost: formatMoney(Number(hold.amount_captured ?? 0)),
    currency: hold.currency,
  };
}

/** The default settle outcome of a finished task row. */
export function outcomeFromRow(task: TaskRow): SettleOutcome {
  if (task.status !== "succeeded") return { status: "failed" };
  let seconds: number | undefined;
  if (task.video_json) {
    try {
      const duration = (JSON.parse(task.video_json) as { duration?: unknown }).duration;
      if (typeof duration === "number" && duration > 0) seconds = duration;
    } catch {
      // unreadable video facts: bill the requested seconds
    }
  }
  return { status: "succeeded", seconds: seconds ?? task.seconds };
}

export function dateToDay(date: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN;
  // Date.parse rolls 2026-02-30 over to March; a real date survives the round trip.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw invalid("invalid_date", `${date} is not a date; use YYYY-MM-DD (UTC)`, "date");
  }
  return dayOf(ms);
}
