/**
 * Billing, wired: one repository under the parts, and the parts themselves. Callers take the part
 * they need — `holds` (the task lifecycle), `usage` (the task presenter), `limits` (the request
 * hook, GET /v1/models), `ledger` and `prices` (the billing routes) — so this file only builds
 * them from one set of options and holds no logic of its own.
 */
import type { Kysely } from "kysely";
import type { Catalog } from "../catalog/models.ts";
import type { Database } from "../store/schema.ts";
import { BillingHolds } from "./holds.ts";
import { BillingLedger } from "./ledger.ts";
import { type LimitSettings, Limits, UNLIMITED } from "./limits.ts";
import { PriceBook } from "./price-book.ts";
import { PriceRepository } from "./price-repository.ts";
import { DEFAULT_PRICES, type PriceRule } from "./prices.ts";
import { BillingRepository } from "./repository.ts";
import { UsageReport } from "./usage-report.ts";

export interface BillingOptions {
  /** The currency every price and balance is in (default "USD"). */
  currency?: string;
  /**
   * Who pays for renders by the local engine: "free" (default: the operator; nothing is charged)
   * or "priced" (the account, at the model's price). Test-mode keys are never charged for local
   * renders either way.
   */
  localRenders?: "free" | "priced";
  /**
   * Limit defaults for keys of non-admin accounts, under account and key settings (default:
   * unlimited); admin accounts start unlimited.
   */
  defaults?: Partial<LimitSettings>;
  /** Default price rules by model id (default DEFAULT_PRICES), written as version 1 when missing. */
  defaultPrices?: Readonly<Record<string, PriceRule>>;
  /** Retry-After sent with a concurrency-limit 429 (default 10 s). */
  concurrencyRetryAfterSeconds?: number;
  /** How long effective limits are cached per process (default 5 000 ms). */
  limitsCacheMs?: number;
  clock?: () => number;
}

export class Billing {
  /** The currency every price and balance is in. */
  readonly currency: string;
  readonly repository: BillingRepository;
  readonly prices: PriceBook;
  readonly ledger: BillingLedger;
  readonly limits: Limits;
  readonly holds: BillingHolds;
  readonly usage: UsageReport;

  constructor(
    db: Kysely<Database>,
    readonly catalog: Catalog,
    options: BillingOptions = {},
  ) {
    const currency = options.currency ?? "USD";
    const localRenders = options.localRenders ?? "free";
    const clock = options.clock ?? Date.now;
    this.currency = currency;
    this.repository = new BillingRepository(db);
    this.prices = new PriceBook(new PriceRepository(db), catalog, {
      currency,
      localRenders,
      defaultPrices: options.defaultPrices ?? DEFAULT_PRICES,
      clock,
    });
    this.ledger = new BillingLedger(this.repository, { currency, clock });
    this.limits = new Limits(
      db,
      { ...UNLIMITED, ...options.defaults },
      options.limitsCacheMs ?? 5_000,
      clock,
    );
    this.holds = new BillingHolds(
      { repo: this.repository, prices: this.prices, ledger: this.ledger, limits: this.limits, catalog },
      {
        currency,
        localRenders,
        concurrencyRetryAfterSeconds: options.concurrencyRetryAfterSeconds ?? 10,
        clock,
      },
    );
    this.usage = new UsageReport(this.repository);
  }
}
