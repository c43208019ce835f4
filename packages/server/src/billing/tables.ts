import type { Kysely, Selectable } from "kysely";
import type { Database } from "../store/schema.ts";

/**
 * Billing tables. Same portable column choices as the main schema: integer unix-ms timestamps,
 * 0/1 integer booleans, JSON as text; every money amount is an integer number of micro-units
 * (1 USD = 1 000 000 micro-units), stored as bigint and read back as a JS number (exact below 2^53,
 * i.e. up to about 9 billion dollars).
 */

/** One immutable version of a model's price rule; the highest version is the current price. */
export interface BillingPricesTable {
  /** `price_…` */
  id: string;
  model: string;
  version: number;
  currency: string;
  /** A `PriceRule` (prices.ts), amounts in micro-units. */
  rule_json: string;
  note: string | null;
  /** The admin key that set it, or "default" for a built-in default. */
  created_by: string | null;
  created_at: number;
}

export const LEDGER_KINDS = ["topup", "hold", "capture", "release", "adjustment"] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/**
 * The append-only ledger: rows are only ever inserted. Every amount is positive except an
 * adjustment's, which is signed. Per account:
 *   balance = Σ topup + Σ adjustment − Σ capture
 *   held    = Σ hold − Σ capture − Σ release
 *   available = balance − held
 */
export interface BillingLedgerTable {
  /** `led_…` */
  id: string;
  account_id: string;
  kind: LedgerKind;
  amount: number;
  currency: string;
  task_id: string | null;
  key_id: string | null;
  /** Unique per account in the database: `hold:<task>`, `capture:<task>`, `release:<task>`, `topup:<caller's key>`… */
  idempotency_key: string;
  note: string | null;
  created_at: number;
}

/** A cache of the ledger's sums, updated in the same transaction as every ledger row (rebuildable). */
export interface BillingBalancesTable {
  account_id: string;
  currency: string;
  balance: number;
  held: number;
  updated_at: number;
}

export const HOLD_STATUSES = ["open", "captured", "released"] as const;
export type HoldStatus = (typeof HOLD_STATUSES)[number];

/**
 * One row per accepted task: the hold taken at submit and its single settlement (captured on
 * success, released on failure). Also the source of usage reports.
 */
export interface BillingHoldsTable {
  task_id: string;
  account_id: string;
  key_id: string;
  model: string;
  resolution: string;
  /** Requested (maximum) seconds: what the hold covers. */
  seconds: number;
  /** Who was planned to render it at submit ("local" or an upstream provider). */
  provider: string;
  /** 0 when this task is free (test-mode key or a free local render); the hold is then 0. */
  billable: number;
  /**
   * 1 when the account was prepaid at submit: the hold reserved balance and settlement moves it
   * (ledger rows). 0 for an unmetered account: the same price is computed and reported, nothing
   * is reserved or charged. A snapshot, so a mode change never unbalances a running task.
   */
  metered: number;
  /** The same task, if it ends up rendered by the local engine, is free (snapshot of the setting). */
  local_free: number;
  price_id: string | null;
  price_version: number | null;
  currency: string;
  amount_held: number;
  status: HoldStatus;
  /** Set when settled: what was charged (≤ amount_held). */
  amount_captured: number | null;
  /** The price of the actual usage before capping at the hold (equal unless the usage exceeded the quote). */
  amount_computed: number | null;
  billed_seconds: number | null;
  billed_tokens: number | null;
  /** UTC day number (unix ms / 86 400 000) on which the task was accepted: usage and spend-cap day. */
  day: number;
  created_at: number;
  settled_at: number | null;
}

export type LimitScope = "account" | "key";

/** Limits for one key, or the defaults for one account's keys. A null column inherits. */
export interface BillingLimitsTable {
  scope: LimitScope;
  scope_id: string;
  requests_per_minute: number | null;
  max_concurrent: number | null;
  /** Micro-units per UTC day. */
  daily_spend_cap: number | null;
  /** JSON array of model ids, or null for every model. */
  allowed_models_json: string | null;
  updated_at: number;
}

/**
 * Shared counters (so limits hold across gateway processes): `rpm:<key>:<window>`,
 * `inflight:<key>`, `spend:<key>:<day>`. Changed only with atomic single-statement upserts and
 * conditional updates.
 */
export interface BillingCountersTable {
  counter_key: string;
  value: number;
  expires_at: number | null;
}

export interface BillingDatabase {
  billing_prices: BillingPricesTable;
  billing_ledger: BillingLedgerTable;
  billing_balances: BillingBalancesTable;
  billing_holds: BillingHoldsTable;
  billing_limits: BillingLimitsTable;
  billing_counters: BillingCountersTable;
}

export type BillingDb = Database & BillingDatabase;

export type PriceRow = Selectable<BillingPricesTable>;
export type LedgerRow = Selectable<BillingLedgerTable>;
export type HoldRow = Selectable<BillingHoldsTable>;
export type LimitsRow = Selectable<BillingLimitsTable>;

/**
 * The owner's handle is typed with the main `Database`; billing sees the same connection (or
 * transaction) with its own tables added. Kysely carries no table list at run time, so this is a
 * type-level view of the very same object.
 */
export function billingView(db: Kysely<Database>): Kysely<BillingDb> {
  return db as unknown as Kysely<BillingDb>;
}
