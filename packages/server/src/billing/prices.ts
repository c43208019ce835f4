/**
 * Prices as data. A price rule says what one successful clip of a model costs, in integer
 * micro-units of the gateway's currency:
 *
 *   cost = per_clip + per_second[resolution] × seconds + ⌈tokens × per_million_tokens / 10^6⌉
 *
 * `tokens` is the upstream's reported token count (e.g. Ark's `usage.completion_tokens`); when a
 * rule prices tokens, `tokens_per_second[resolution]` is the pre-authorisation estimate (an upper
 * bound) used for the hold and when the upstream reports nothing. Rules are versioned: every
 * change is a new immutable version, and a task is settled at the version it was accepted at.
 */
import { z } from "zod";
import { declarationToModel } from "../catalog/declaration.ts";
import { BUILTIN_DECLARATIONS, type CatalogModel } from "../catalog/models.ts";
import { invalid, shown } from "../domain/errors.ts";
import type { Resolution } from "../domain/request.ts";
import { parseBody } from "../http/route.ts";
import { formatMoney, MICROS_PER_UNIT, mulDivCeil, mulMicros, sumMicros } from "./money.ts";
import { PriceBody } from "./schemas.ts";

export const RESOLUTION_KEYS = ["480p", "720p", "1080p"] as const satisfies readonly Resolution[];

export interface PriceRule {
  /** Micro-units per second of output, by resolution. */
  perSecond: Partial<Record<Resolution, number>>;
  /** Micro-units per successful clip. */
  perClip: number;
  /** Micro-units per million upstream tokens, or null when tokens are not priced. */
  perMillionTokens: number | null;
  /** Upper-bound tokens per second of output, by resolution (needed when tokens are priced). */
  tokensPerSecond: Partial<Record<Resolution, number>>;
}

/** One stored version of a model's price. */
export interface PriceVersion {
  id: string;
  model: string;
  version: number;
  currency: string;
  rule: PriceRule;
  note: string | null;
  createdBy: string | null;
  createdAt: number;
}

const Micros = z.int().min(0).max(Number.MAX_SAFE_INTEGER);
const ByResolution = z.partialRecord(z.enum(RESOLUTION_KEYS), Micros);

export const PriceRuleSchema = z.object({
  perSecond: ByResolution,
  perClip: Micros.default(0),
  perMillionTokens: Micros.nullable().default(null),
  tokensPerSecond: ByResolution.default({}),
});

export function parsePriceRule(json: string): PriceRule {
  return PriceRuleSchema.parse(JSON.parse(json));
}

// ---------------------------------------------------------------------------------------------
// Computing prices.

export class PriceGapError extends Error {
  override name = "PriceGapError";
}

function tokenCost(rule: PriceRule, tokens: number): number {
  if (rule.perMillionTokens === null) return 0;
  return mulDivCeil(tokens, rule.perMillionTokens, MICROS_PER_UNIT);
}

function perSecondOf(rule: PriceRule, resolution: Resolution): number {
  const value = rule.perSecond[resolution];
  if (value === undefined) throw new PriceGapError(`the price has no per-second amount for ${resolution}`);
  return value;
}

function estimatedTokens(rule: PriceRule, resolution: Resolution, seconds: number): number {
  if (rule.perMillionTokens === null) return 0;
  const perSecond = rule.tokensPerSecond[resolution];
  if (perSecond === undefined) throw new PriceGapError(`the price has no token estimate for ${resolution}`);
  return mulMicros(perSecond, seconds);
}

/** The worst-case price of a clip of `seconds` at `resolution`: what is held at submit. */
export function quote(rule: PriceRule, resolution: Resolution, seconds: number): number {
  return charge(rule, resolution, seconds);
}

/**
 * The price of actual usage. Without reported tokens, a token-priced rule uses its estimate; so for
 * the requested seconds and no tokens, `charge` equals `quote`.
 */
export function charge(rule: PriceRule, resolution: Resolution, seconds: number, tokens?: number): number {
  if (!Number.isSafeInteger(seconds) || seconds < 0) throw new PriceGapError(`bad seconds: ${seconds}`);
  const timeCost = mulMicros(perSecondOf(rule, resolution), seconds);
  const usedTokens =
    tokens !== undefined && rule.perMillionTokens !== null
      ? tokens
      : estimatedTokens(rule, resolution, seconds);
  return sumMicros([rule.perClip, timeCost, tokenCost(rule, usedTokens)]);
}

/** Whether a rule prices every resolution the model offers. */
export function ruleGaps(rule: PriceRule, model: Pick<CatalogModel, "resolutions">): string[] {
  const gaps: string[] = [];
  for (const r of model.resolutions) {
    if (rule.perSecond[r] === undefined) gaps.push(`per_second.${r}`);
    if (rule.perMillionTokens !== null && rule.tokensPerSecond[r] === undefined)
      gaps.push(`tokens_per_second.${r}`);
  }
  return gaps;
}

// ---------------------------------------------------------------------------------------------
// Defaults for the default catalog (USD). Operators change them with PUT /v1/admin/prices/:model;
// a default is only written (as version 1) for a model that has no price yet.

/**
 * The built-in models' default prices: the price lines each declares in catalog/builtin-models.json
 * (docs/providers.md says where each comes from, and which are our estimates). Seedance 1.5 pro with
 * audio is about $0.07/s at 720p, scaled by pixel count for the other sizes, half without audio;
 * Seedance 2.0 follows its token price by resolution.
 */
export const DEFAULT_PRICES: Readonly<Record<string, PriceRule>> = Object.freeze(
  Object.fromEntries(
    BUILTIN_DECLARATIONS.flatMap((d) =>
      d.pricing
        ? [[d.id, priceRuleOf(parseBody(PriceBody, d.pricing), declarationToModel(d, 0), "USD").rule]]
        : [],
    ),
  ),
);

// ---------------------------------------------------------------------------------------------
// The API's view: money as decimal strings with 4 places (plus exact micro-units).

/** A type alias (not an interface) so it fits `toApiModel`'s `pricing?: Record<string, unknown>` as is. */
export type ApiPricing = {
  currency: string;
  version: number;
  per_second: Partial<Record<Resolution, string>>;
  per_second_micros: Partial<Record<Resolution, number>>;
  per_clip: string;
  per_million_tokens: string | null;
  tokens_per_second: Partial<Record<Resolution, number>> | null;
  /** The price of the model's default request (default seconds at the default resolution). */
  example: { seconds: number; resolution: Resolution; cost: string };
  /** When nothing is charged: "test_mode" keys always; "local_engine" renders when the operator says so. */
  free_when: string[];
  updated_at: number;
};

export function pricingToApi(price: PriceVersion, model: CatalogModel, localFree: boolean): ApiPricing {
  const per_second: Partial<Record<Resolution, string>> = {};
  const per_second_micros: Partial<Record<Resolution, number>> = {};
  for (const r of RESOLUTION_KEYS) {
    const v = price.rule.perSecond[r];
    if (v === undefined || !model.resolutions.includes(r)) continue;
    per_second[r] = formatMoney(v);
    per_second_micros[r] = v;
  }
  let exampleCost = "n/a";
  try {
    exampleCost = formatMoney(quote(price.rule, model.defaultResolution, model.seconds.default));
  } catch {
    // a price with a gap: shown as n/a, refused at submit
  }
  return {
    currency: price.currency,
    version: price.version,
    per_second,
    per_second_micros,
    per_clip: formatMoney(price.rule.perClip),
    per_million_tokens:
      price.rule.perMillionTokens === null ? null : formatMoney(price.rule.perMillionTokens),
    tokens_per_second: price.rule.perMillionTokens === null ? null : { ...price.rule.tokensPerSecond },
    example: { seconds: model.seconds.default, resolution: model.defaultResolution, cost: exampleCost },
    free_when: localFree ? ["test_mode", "local_engine"] : ["test_mode"],
    updated_at: Math.floor(price.createdAt / 1000),
  };
}

/** The full stored version, for the admin API. */
export function priceVersionToApi(price: PriceVersion) {
  const money = (v: Partial<Record<Resolution, number>>) =>
    Object.fromEntries(Object.entries(v).map(([r, m]) => [r, formatMoney(m!, 6)]));
  return {
    object: "price" as const,
    id: price.id,
    model: price.model,
    version: price.version,
    currency: price.currency,
    per_second: money(price.rule.perSecond),
    per_clip: formatMoney(price.rule.perClip, 6),
    per_million_tokens:
      price.rule.perMillionTokens === null ? null : formatMoney(price.rule.perMillionTokens, 6),
    tokens_per_second: { ...price.rule.tokensPerSecond },
    rule_micros: price.rule,
    note: price.note,
    created_by: price.createdBy,
    created_at: Math.floor(price.createdAt / 1000),
  };
}

/**
 * A PUT /v1/admin/prices/:model body → a rule. Money fields are decimal strings (or numbers) in
 * the currency's units with at most 6 decimals, e.g. `{"per_second": {"720p": "0.07"}}`. The shape
 * is `PriceBody`'s (the route validates it); this checks it against the gateway's currency and the
 * resolutions the model offers.
 */
export function priceRuleFromApi(
  body: unknown,
  model: CatalogModel,
  currency: string,
): { rule: PriceRule; note: string | null } {
  return priceRuleOf(parseBody(PriceBody, body), model, currency);
}

/** A validated `PriceBody` → a rule, for this model and currency. */
export function priceRuleOf(
  body: z.output<typeof PriceBody>,
  model: CatalogModel,
  currency: string,
): { rule: PriceRule; note: string | null } {
  if (body.currency !== undefined && body.currency !== currency) {
    throw invalid(
      "currency_mismatch",
      `this gateway bills in ${currency}; prices must be in ${currency}`,
      "currency",
    );
  }
  const rule: PriceRule = {
    perSecond: offeredResolutions(body.per_second, "per_second", model) as PriceRule["perSecond"],
    perClip: body.per_clip ?? 0,
    perMillionTokens: body.per_million_tokens ?? null,
    tokensPerSecond: offeredResolutions(
      body.tokens_per_second,
      "tokens_per_second",
      model,
    ) as PriceRule["tokensPerSecond"],
  };
  const gaps = ruleGaps(rule, model);
  if (gaps.length > 0) {
    throw invalid(
      "incomplete_price",
      `the price must cover every resolution ${model.id} offers (${model.resolutions.join(", ")}); missing ${gaps.join(", ")}`,
      gaps[0]!,
    );
  }
  return { rule, note: typeof body.note === "string" ? body.note.slice(0, 500) : null };
}

/** The by-resolution values, refusing a key that is not a resolution or not one the model offers. */
function offeredResolutions(
  values: Record<string, unknown> | null | undefined,
  param: string,
  model: CatalogModel,
): Partial<Record<Resolution, unknown>> {
  for (const r of Object.keys(values ?? {})) {
    if (!(RESOLUTION_KEYS as readonly string[]).includes(r)) {
      throw invalid(
        "invalid_resolution",
        `${shown(r)} is not a resolution (480p, 720p, 1080p)`,
        `${param}.${shown(r)}`,
      );
    }
    if (!model.resolutions.includes(r as Resolution)) {
      throw invalid("invalid_resolution", `${model.id} does not offer ${r}`, `${param}.${r}`);
    }
  }
  return { ...values };
}
