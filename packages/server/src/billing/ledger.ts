/**
 * The account side of the ledger: top-ups and adjustments (idempotent credits), the balance an
 * account sees, its ledger entries, and the reconciliation of the cached balances with the ledger
 * they summarise (`checkBalances`, `rebuildBalance`). Holds and settlements append their own rows
 * (holds.ts); the rules every row obeys are in schema.ts.
 */
import { ApiError, invalid, notFound, shown } from "../domain/errors.ts";
import { assertMicros, formatMoney } from "./money.ts";
import type { BillingRepository, Executor } from "./repository.ts";
import type { LedgerRow } from "./tables.ts";

export interface Balance {
  object: "balance";
  account_id: string;
  billing_mode: "prepaid" | "unmetered";
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

export interface CreditOptions {
  note?: string;
  /** The admin key that made the change. */
  keyId?: string;
  now?: number;
}

export interface CreditResult {
  entry: LedgerRow;
  /** True when the idempotency key had been used for this very credit: nothing new was written. */
  replayed: boolean;
  balance: Balance;
}

export class BillingLedger {
  constructor(
    private readonly repo: BillingRepository,
    private readonly options: { currency: string; clock: () => number },
  ) {}

  /**
   * Credit an account. Idempotent: the same `idempotencyKey` with the same amount returns the
   * first entry (`replayed: true`); with another amount it is a 409.
   */
  async topup(
    accountId: string,
    amount: number,
    idempotencyKey: string,
    options: CreditOptions = {},
  ): Promise<CreditResult> {
    assertMicros(amount);
    if (amount <= 0) throw invalid("invalid_amount", "a top-up must be a positive amount", "amount");
    return this.credit("topup", accountId, amount, idempotencyKey, options);
  }

  /**
   * A signed correction by the operator (idempotent like `topup`). A debit may not take the
   * account's available balance below zero.
   */
  async adjust(
    accountId: string,
    amount: number,
    idempotencyKey: string,
    options: CreditOptions = {},
  ): Promise<CreditResult> {
    assertMicros(amount);
    if (amount === 0) throw invalid("invalid_amount", "an adjustment must not be zero", "amount");
    return this.credit("adjustment", accountId, amount, idempotencyKey, options);
  }

  async balance(accountId: string, executor?: Executor): Promise<Balance> {
    const row = await this.repo.balanceRow(accountId, executor);
    const billingMode = await this.repo.billingMode(accountId, executor);
    const balance = row ? Number(row.balance) : 0;
    const held = row ? Number(row.held) : 0;
    return {
      object: "balance",
      account_id: accountId,
      billing_mode: billingMode,
      currency: row?.currency ?? this.options.currency,
      balance: formatMoney(balance),
      held: formatMoney(held),
      available: formatMoney(balance - held),
      balance_micros: balance,
      held_micros: held,
      available_micros: balance - held,
      updated_at: row ? Math.floor(row.updated_at / 1000) : null,
    };
  }

  /** Ledger entries, newest first (keyset pagination on created_at, id); 50 by default, at most 500. */
  entries(
    accountId: string,
    options: { limit?: number; before?: { createdAt: number; id: string } } = {},
  ): Promise<LedgerRow[]> {
    const limit = Math.min(Math.max(options.limit ?? 50, 1), 500);
    return this.repo.ledgerPage(accountId, limit, options.before);
  }

  /** Recompute an account's cached balance from its ledger; returns the cached values before and after. */
  async rebuildBalance(accountId: string): Promise<{ before: Balance; after: Balance }> {
    const now = this.options.clock();
    return this.repo.transaction(async (trx) => {
      await this.repo.ensureBalanceRow(accountId, this.options.currency, now, trx);
      // Lock the row first: writers that touch it wait, and their ledger rows commit with them.
      await this.repo.writeBalance(accountId, now, undefined, trx);
      const before = await this.balance(accountId, trx);
      const derived = (await this.repo.ledgerSums(accountId, trx)).get(accountId) ?? { balance: 0, held: 0 };
      await this.repo.writeBalance(accountId, now, derived, trx);
      return { before, after: await this.balance(accountId, trx) };
    });
  }

  /**
   * Every way the cached state can disagree with the ledger: cached balance and held vs the
   * ledger's sums, the ledger's open holds vs the hold rows, and each key's in-flight counter vs
   * its open holds. Empty when all is consistent.
   */
  async checkBalances(): Promise<Discrepancy[]> {
    return this.repo.transaction(async (trx) => {
      const out: Discrepancy[] = [];
      const ledger = await this.repo.ledgerSums(undefined, trx);
      const cached = await this.repo.cachedBalances(trx);
      const openHolds = await this.repo.openHeldByAccount(trx);
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
      const openByKey = await this.repo.openHoldsByKey(trx);
      const counters = await this.repo.inflightCounters(trx);
      const seen = new Set<string>();
      for (const row of openByKey) {
        seen.add(row.key_id);
        const counter = counters.get(row.key_id) ?? 0;
        if (counter !== row.n) {
          out.push({
            account_id: row.account_id,
            field: "inflight",
            key_id: row.key_id,
            cached: counter,
            derived: row.n,
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

  private async credit(
    kind: "topup" | "adjustment",
    accountId: string,
    amount: number,
    idempotencyKey: string,
    options: CreditOptions,
  ): Promise<CreditResult> {
    // The caller's key, whatever the kind (the ledger's column holds 320: the kind's prefix fits).
    if (idempotencyKey.length > 300) {
      throw invalid(
        "invalid_idempotency_key",
        "the idempotency key is too long (max 300)",
        "Idempotency-Key",
      );
    }
    const ledgerKey = `${kind}:${idempotencyKey}`;
    const now = options.now ?? this.options.clock();
    return this.repo.transaction(async (trx) => {
      // Write first (SQLite: take the write lock before reading; Postgres: no lock on an existing row).
      await this.repo.ensureBalanceRow(accountId, this.options.currency, now, trx);
      if (!(await this.repo.exists("accounts", accountId, trx))) {
        throw notFound("account_not_found", `no account ${shown(accountId)}`, "account_id");
      }
      const existing = await this.repo.ledgerEntry(accountId, ledgerKey, trx);
      if (existing) {
        if (existing.kind !== kind || existing.amount !== amount) {
          throw new ApiError(
            409,
            "idempotency_error",
            "idempotency_key_reused",
            `this idempotency key was already used for ${/^[aeiou]/.test(existing.kind) ? "an" : "a"} ${existing.kind} of ${formatMoney(existing.amount)} ` +
              `${this.options.currency}; use a new key`,
            "Idempotency-Key",
          );
        }
        return { entry: existing, replayed: true, balance: await this.balance(accountId, trx) };
      }
      // A debit must leave the open holds covered; a credit always fits.
      if (!(await this.repo.credit(accountId, amount, now, amount < 0, trx))) {
        throw invalid(
          "adjustment_exceeds_available",
          "this debit would take the account's available balance below zero (open holds included)",
          "amount",
        );
      }
      const entry = await this.repo.appendLedger(
        {
          account_id: accountId,
          kind,
          amount,
          currency: this.options.currency,
          task_id: null,
          key_id: options.keyId ?? null,
          idempotency_key: ledgerKey,
          note: options.note ?? null,
          created_at: now,
        },
        trx,
      );
      return { entry, replayed: false, balance: await this.balance(accountId, trx) };
    });
  }
}
