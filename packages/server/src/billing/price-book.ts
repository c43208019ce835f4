/**
 * The price book: each model's versioned price rules (prices.ts says how a rule prices a task),
 * the built-in defaults written as version 1, the admin's new versions, and the two questions
 * holds ask of it — the worst case a task may cost at submit, and what it did cost at finish.
 *
 * Versions are immutable: a task is settled at the version it was accepted under, whatever the
 * operator has set since.
 */
import type { Catalog } from "../catalog/models.ts";
import { ApiError, invalid, shown } from "../domain/errors.ts";
import type { Resolution } from "../domain/request.ts";
import type { PriceRepository } from "./price-repository.ts";
import {
  type ApiPricing,
  charge,
  PriceGapError,
  type PriceRule,
  type PriceVersion,
  parsePriceRule,
  pricingToApi,
  quote,
  ruleGaps,
} from "./prices.ts";
import type { Executor } from "./repository.ts";
import type { PriceRow } from "./tables.ts";

export interface PriceBookOptions {
  currency: string;
  /** Whether local renders are free (shown in the API's pricing objects). */
  localRenders: "free" | "priced";
  /** Default rules by model id, written as version 1 when a catalog model has no price. */
  defaultPrices: Readonly<Record<string, PriceRule>>;
  clock: () => number;
}

/** What a task about to be accepted may cost at most. */
export interface Estimate {
  /** The version it is priced under (undefined: the model has no price, which only a free task survives). */
  price: PriceVersion | undefined;
  /** Micro-units to hold: 0 when free. */
  amount: number;
}

export class PriceBook {
  readonly currency: string;
  readonly localRenders: "free" | "priced";
  private defaultsWritten: Promise<void> | undefined;

  constructor(
    private readonly repo: PriceRepository,
    readonly catalog: Catalog,
    private readonly options: PriceBookOptions,
  ) {
    this.currency = options.currency;
    this.localRenders = options.localRenders;
  }

  /** Write the default price (version 1) of every catalog model that has none. Idempotent; call at start. */
  ensureDefaultPrices(): Promise<void> {
    // One run per process; a failed run is forgotten so the next caller retries it.
    this.defaultsWritten ??= (async () => {
      const now = this.options.clock();
      for (const model of this.catalog.list()) {
        const rule = this.options.defaultPrices[model.id];
        if (rule) await this.insertDefault(model.id, rule, now);
      }
    })().catch((error) => {
      this.defaultsWritten = undefined;
      throw error;
    });
    return this.defaultsWritten;
  }

  current(model: string): Promise<PriceVersion | undefined> {
    return this.currentIn(model, this.options.clock());
  }

  /**
   * The model's highest version. A catalog model with a default but no row yet gets its default
   * written first (the catalog can grow after `ensureDefaultPrices` ran).
   */
  async currentIn(model: string, now: number, ex?: Executor): Promise<PriceVersion | undefined> {
    let row = await this.repo.price(model, "latest", ex);
    if (!row) {
      const rule = this.options.defaultPrices[model];
      if (!rule || !this.catalog.has(model)) return undefined;
      await this.insertDefault(model, rule, now, ex);
      row = await this.repo.price(model, "latest", ex);
    }
    return row ? toPriceVersion(row) : undefined;
  }

  async at(model: string, version: number, ex?: Executor): Promise<PriceVersion | undefined> {
    const row = await this.repo.price(model, version, ex);
    return row ? toPriceVersion(row) : undefined;
  }

  async history(model: string): Promise<PriceVersion[]> {
    await this.current(model); // writes the default version 1 if needed
    return (await this.repo.priceVersions(model)).map(toPriceVersion);
  }

  /**
   * The worst case of a task at submit: its price version (pinned, or the current one) and the
   * quote for the requested seconds. A free task holds nothing but still records the version.
   * Throws 400 for a pinned version that does not exist, 500 when a billable model is unpriced.
   */
  async estimate(
    p: { model: string; resolution: Resolution; maxSeconds: number; priceVersion?: number; free: boolean },
    now: number,
    ex?: Executor,
  ): Promise<Estimate> {
    const price =
      p.priceVersion !== undefined
        ? await this.at(p.model, p.priceVersion, ex)
        : await this.currentIn(p.model, now, ex);
    if (p.priceVersion !== undefined && !price) {
      throw invalid(
        "price_version_not_found",
        `${shown(p.model)} has no price version ${p.priceVersion}`,
        "model",
      );
    }
    if (p.free) return { price, amount: 0 };
    if (!price) throw unpriced(p.model, `${p.model} has no price on this gateway`);
    if (price.currency !== this.currency) {
      throw unpriced(p.model, `the price of ${p.model} is in ${price.currency}, not ${this.currency}`);
    }
    try {
      return { price, amount: quote(price.rule, p.resolution, p.maxSeconds) };
    } catch (error) {
      if (error instanceof PriceGapError) throw unpriced(p.model, `${p.model}: ${error.message}`);
      throw error;
    }
  }

  /** What the actual usage costs at the version a hold was taken under (uncapped). */
  async chargeAt(
    priceId: string,
    resolution: Resolution,
    seconds: number,
    tokens: number | undefined,
    ex?: Executor,
  ): Promise<number> {
    const price = toPriceVersion(await this.repo.priceById(priceId, ex));
    return charge(price.rule, resolution, seconds, tokens);
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
    const now = options.now ?? this.options.clock();
    await this.current(modelId); // version 1 is the default, so an edit is version 2
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await this.repo.transaction(async (trx) => {
          const version = (await this.repo.topPriceVersion(modelId, trx)) + 1;
          const row = await this.repo.insertPrice(
            {
              model: modelId,
              version,
              currency: this.currency,
              rule_json: JSON.stringify(rule),
              note: options.note ?? null,
              created_by: options.createdBy ?? null,
              created_at: now,
            },
            {},
            trx,
          );
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
    const out = new Map<string, ApiPricing>();
    for (const row of await this.repo.currentPrices()) {
      const model = this.catalog.get(row.model);
      if (model) out.set(row.model, pricingToApi(toPriceVersion(row), model, this.localRenders === "free"));
    }
    return out;
  }

  private async insertDefault(model: string, rule: PriceRule, now: number, ex?: Executor): Promise<void> {
    // Several processes start at once: the first default written wins, the others leave it be.
    await this.repo.insertPrice(
      {
        model,
        version: 1,
        currency: this.currency,
        rule_json: JSON.stringify(rule),
        note: "default price",
        created_by: "default",
        created_at: now,
      },
      { ifAbsent: true },
      ex,
    );
  }
}

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

function unpriced(model: string, detail: string): ApiError {
  return new ApiError(
    500,
    "server_error",
    "model_not_priced",
    `${detail}; the operator must set one (PUT /v1/admin/prices/${model}) before it can be billed`,
    "model",
  );
}
