/**
 * A task's money, from submit to finish: the worst-case hold taken with the task (`holdForTask`,
 * counted against the key's concurrency and daily-spend limits) and its single settlement
 * (`settleTask`: capture the actual usage on success, release everything on failure), plus what a
 * finished task is settled on (`settleOutcome`).
 *
 * Transactions and locks. `holdForTask` runs inside the submit transaction and `settleTask` inside
 * the finish transaction; neither opens a transaction of its own and both use only the executor
 * they are given (SQLite has one connection: touching the pool inside them would wait forever).
 * Their first statement is a write, so a SQLite deferred transaction takes the write lock before
 * it reads anything. On Postgres, rows are locked in one global order — the account's balance row,
 * then the key's in-flight counter, then its spend counter — so holds and settlements never
 * deadlock each other. Exactly-once settlement is the database's job: a guarded
 * `status = 'open'` update claims the hold (a concurrent settler waits for the row lock, then
 * finds it settled), and every ledger row carries an idempotency key unique per account.
 */
import type { Catalog } from "../catalog/models.ts";
import type { Resolution } from "../domain/request.ts";
import type { TaskRow } from "../store/schema.ts";
import { BillingRefusal } from "./errors.ts";
import type { BillingLedger } from "./ledger.ts";
import {
  assertAllowed,
  DAY_MS,
  dayOf,
  decrementCounter,
  inflightKey,
  type Limits,
  readCounter,
  spendKey,
  tryIncrement,
} from "./limits.ts";
import { formatMoney } from "./money.ts";
import type { PriceBook } from "./price-book.ts";
import type { PriceVersion } from "./prices.ts";
import type { BillingRepository, Executor } from "./repository.ts";
import { billingView, type HoldRow, type LedgerKind } from "./tables.ts";
import { type TaskUsage, usageOf } from "./usage-report.ts";

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

/** What a task would cost at most, and under which price version (`quoteForTaskRow`). */
export interface Quote {
  amount: number;
  currency: string;
  /** A test key's task, or a free local render: nothing is held or charged. */
  free: boolean;
  price: PriceVersion | undefined;
}

export type SettleOutcome = { status: "succeeded"; seconds?: number; tokens?: number } | { status: "failed" };

export interface SettleResult {
  /** False when there was nothing to settle (already settled, or the task never had a hold). */
  settled: boolean;
  captured: number;
  released: number;
  usage?: TaskUsage;
}

/** What a provider reported it used for a task (Ark's completion tokens, billed seconds). */
export interface ProviderUsage {
  tokens?: number;
  seconds?: number;
}

export interface HoldsOptions {
  currency: string;
  /** Who pays for local renders: "free" (the operator) or "priced" (the account). */
  localRenders: "free" | "priced";
  /** Retry-After sent with a concurrency-limit 429. */
  concurrencyRetryAfterSeconds: number;
  clock: () => number;
}

export interface HoldsDeps {
  repo: BillingRepository;
  prices: PriceBook;
  /** For the balance quoted in an insufficient-balance refusal. */
  ledger: Pick<BillingLedger, "balance">;
  limits: Limits;
  catalog: Catalog;
}

export class BillingHolds {
  constructor(
    private readonly deps: HoldsDeps,
    private readonly options: HoldsOptions,
  ) {}

  /**
   * Reserve the worst-case price of a task about to be created, and count it against the key's
   * concurrency and daily-spend limits. Call it inside the transaction that inserts the task: a
   * refusal (a `BillingRefusal`: 403 insufficient_quota / permission_error, 429 rate_limit_error)
   * rolls the whole submit back, so no task exists without its hold.
   */
  async holdForTask(trx: Executor, p: HoldParams): Promise<HoldResult> {
    const { repo, limits: limitStore } = this.deps;
    const { currency } = this.options;
    const now = p.now ?? this.options.clock();
    // Write first (SQLite: take the write lock before reading; Postgres: no lock on an existing row).
    await repo.ensureBalanceRow(p.accountId, currency, now, trx);

    const limits = await limitStore.effective(p.accountId, p.keyId, trx);
    assertAllowed(limits, p.model);

    const { price, amount, free } = await this.priceOf(p, now, trx);
    // An unmetered account's task is priced and reported like any other but reserves nothing.
    const metered = (await repo.billingMode(p.accountId, trx)) === "prepaid";

    // Lock order: balance → in-flight → spend (settleTask uses the same order).
    if (metered && !(await repo.reserve(p.accountId, amount, now, trx))) {
      const balance = await this.deps.ledger.balance(p.accountId, trx);
      throw new BillingRefusal(
        "insufficient_quota",
        403,
        "insufficient_quota",
        "insufficient_balance",
        `this task can cost up to ${formatMoney(amount)} ${currency} (${p.maxSeconds} s at ${p.resolution}) ` +
          `but the account has ${formatMoney(balance.available_micros)} ${currency} available; ` +
          "top up the account, or ask for fewer seconds or a lower resolution",
      );
    }

    const db = billingView(trx);
    if (!(await tryIncrement(db, inflightKey(p.keyId), 1, limits.maxConcurrent, null))) {
      throw new BillingRefusal(
        "concurrency_limit",
        429,
        "rate_limit_error",
        "concurrency_limit_exceeded",
        `this key already has ${limits.maxConcurrent} tasks in progress, its limit; ` +
          "wait for one to finish, then retry",
        null,
        { "Retry-After": String(this.options.concurrencyRetryAfterSeconds) },
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
          `this key may spend ${formatMoney(limits.dailySpendCap)} ${currency} per UTC day and has committed ` +
            `${formatMoney(committed)}; this task can cost up to ${formatMoney(amount)}. ` +
            "Retry tomorrow or ask the operator to raise the cap",
          null,
          { "Retry-After": String(untilTomorrow) },
        );
      }
    } else if (amount > 0) {
      await tryIncrement(db, spendKey(p.keyId, day), amount, null, (day + 3) * DAY_MS);
    }

    await repo.insertHold(
      {
        task_id: p.taskId,
        account_id: p.accountId,
        key_id: p.keyId,
        model: p.model,
        resolution: p.resolution,
        seconds: p.maxSeconds,
        provider: p.provider,
        billable: free ? 0 : 1,
        metered: metered ? 1 : 0,
        local_free: p.testMode || this.options.localRenders === "free" ? 1 : 0,
        price_id: price?.id ?? null,
        price_version: price?.version ?? null,
        currency,
        amount_held: amount,
        status: "open",
        amount_captured: null,
        amount_computed: null,
        billed_seconds: null,
        billed_tokens: null,
        day,
        created_at: now,
        settled_at: null,
      },
      trx,
    );
    if (metered && amount > 0) await this.append(trx, "hold", amount, p.accountId, p.keyId, p.taskId, now);
    return { held: amount, currency, priceVersion: price?.version ?? null, billable: !free };
  }

  /**
   * What `holdForTask` would hold for this task row, with no balance, limit or write: the figure a
   * price estimate shows (POST /v1/video/generations/estimate), by the same rule.
   */
  async quoteForTaskRow(task: TaskRow, ex?: Executor): Promise<Quote> {
    const p = this.paramsOfRow(task);
    const { price, amount, free } = await this.priceOf(p, p.now ?? this.options.clock(), ex);
    return { amount, currency: this.options.currency, free, price };
  }

  /** The price version and worst-case amount of a task (0 when free: a test key's, or a free local render). */
  private async priceOf(p: HoldParams, now: number, ex?: Executor) {
    const free = p.provider === "local" && (p.testMode || this.options.localRenders === "free");
    return { ...(await this.deps.prices.estimate({ ...p, free }, now, ex)), free };
  }

  /** `holdForTask` for a task row about to be inserted (its request_json carries the resolution). */
  holdForTaskRow(trx: Executor, task: TaskRow, options: { priceVersion?: number } = {}): Promise<HoldResult> {
    return this.holdForTask(trx, this.paramsOfRow(task, options.priceVersion));
  }

  private paramsOfRow(task: TaskRow, priceVersion?: number): HoldParams {
    const request = JSON.parse(task.request_json) as { resolution?: Resolution };
    const model = this.deps.catalog.get(task.model);
    const resolution = request.resolution ?? model?.defaultResolution;
    if (!resolution) throw new Error(`task ${task.id} has no resolution`);
    return {
      accountId: task.account_id,
      keyId: task.api_key_id,
      taskId: task.id,
      model: task.model,
      resolution,
      maxSeconds: task.seconds,
      provider: task.provider,
      testMode: task.test_mode === 1,
      priceVersion,
      now: task.created_at,
    };
  }

  /**
   * Settle a task's hold exactly once: on success capture the price of the actual usage at the
   * task's accepted price version (never more than the hold) and release the rest; on failure of
   * any kind release everything. A second call — a duplicate callback, a racing worker — finds the
   * hold settled and changes nothing (`settled: false`).
   */
  /** Settle a task the lifecycle just finished, on what its provider reported (see `settleOutcome`). */
  settleFinishedTask(trx: Executor, task: TaskRow, usage?: ProviderUsage): Promise<SettleResult> {
    return this.settleTask(trx, task, settleOutcome(task, usage));
  }

  async settleTask(
    trx: Executor,
    task: Pick<TaskRow, "id" | "provider">,
    outcome: SettleOutcome,
    now = this.options.clock(),
  ): Promise<SettleResult> {
    const { repo, prices } = this.deps;
    // The claim: the guarded update is the first statement (write first) and the only way out of "open".
    const status = outcome.status === "succeeded" ? "captured" : "released";
    const hold = await repo.claimOpenHold(task.id, status, now, trx);
    if (!hold) return { settled: false, captured: 0, released: 0 };

    const held = Number(hold.amount_held);
    let captured = 0;
    let computed = 0;
    let billedSeconds: number | null = null;
    let billedTokens: number | null = null;
    if (outcome.status === "succeeded") {
      billedSeconds = billableSeconds(outcome.seconds, hold.seconds);
      billedTokens = outcome.tokens !== undefined ? Math.max(0, Math.round(outcome.tokens)) : null;
      // Where it was rendered decides, not where it was planned: a relayed task that fell back to
      // the local engine is free when local renders are.
      const free = hold.billable === 0 || (task.provider === "local" && hold.local_free === 1);
      if (!free && hold.price_id) {
        const resolution = hold.resolution as Resolution;
        computed = await prices.chargeAt(
          hold.price_id,
          resolution,
          billedSeconds,
          billedTokens ?? undefined,
          trx,
        );
        captured = Math.min(computed, held);
      }
    }
    const released = held - captured;
    const charge = {
      amount_captured: captured,
      amount_computed: computed,
      billed_seconds: billedSeconds,
      billed_tokens: billedTokens,
    };
    await repo.recordCharge(task.id, charge, trx);
    // Unmetered: the cost is recorded on the hold (usage reports) but no balance moves.
    if (hold.metered !== 0) {
      await repo.applySettlement(hold.account_id, captured, held, now, trx);
      if (captured > 0)
        await this.append(trx, "capture", captured, hold.account_id, hold.key_id, task.id, now);
      if (released > 0)
        await this.append(trx, "release", released, hold.account_id, hold.key_id, task.id, now);
    }
    const db = billingView(trx);
    await decrementCounter(db, inflightKey(hold.key_id), 1);
    await decrementCounter(db, spendKey(hold.key_id, hold.day), released);
    const settledRow: HoldRow = { ...hold, ...charge };
    return { settled: true, captured, released, usage: usageOf(settledRow) };
  }

  /** One of the task's ledger rows; its idempotency key (`<kind>:<task>`) makes it once-only. */
  private async append(
    trx: Executor,
    kind: Extract<LedgerKind, "hold" | "capture" | "release">,
    amount: number,
    accountId: string,
    keyId: string,
    taskId: string,
    now: number,
  ): Promise<void> {
    await this.deps.repo.appendLedger(
      {
        account_id: accountId,
        kind,
        amount,
        currency: this.options.currency,
        task_id: taskId,
        key_id: keyId,
        idempotency_key: `${kind}:${taskId}`,
        note: null,
        created_at: now,
      },
      trx,
    );
  }
}

/** Whole seconds actually billed: the reported duration rounded, within [1, requested]. */
function billableSeconds(reported: number | undefined, requested: number): number {
  if (reported === undefined || !Number.isFinite(reported)) return requested;
  return Math.min(requested, Math.max(Math.min(1, requested), Math.round(reported)));
}

/** The default settle outcome of a finished task row: its stored video's duration, else the requested seconds. */
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

/**
 * What billing settles: failure releases the hold; success is billed on the provider's own count
 * where it gave one (billed seconds, tokens), else on the stored video's duration, else on the
 * requested seconds — never above the hold. A count of zero for a video that was delivered is not
 * a count (a provider's reporting gap must not make a paid video free): the duration decides.
 */
export function settleOutcome(task: TaskRow, usage?: ProviderUsage): SettleOutcome {
  const fromRow = outcomeFromRow(task);
  if (fromRow.status !== "succeeded" || !usage) return fromRow;
  return {
    status: "succeeded",
    seconds: usage.seconds !== undefined && usage.seconds > 0 ? usage.seconds : fromRow.seconds,
    tokens: usage.tokens !== undefined && usage.tokens > 0 ? usage.tokens : undefined,
  };
}
