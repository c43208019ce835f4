/**
 * A declaration's price lines and the price book's rules, both ways: an operator's lines become a
 * new price version, and a model's current rule is shown back as lines (the built-in declarations'
 * lines are billing's DEFAULT_PRICES).
 */
import type { z } from "zod";
import { formatMoney } from "../billing/money.ts";
import { type PriceRule, priceRuleOf, RESOLUTION_KEYS } from "../billing/prices.ts";
import { PriceBody } from "../billing/schemas.ts";
import type { CatalogModel } from "../catalog/models.ts";
import { ApiError } from "../domain/errors.ts";
import { parseBody } from "../http/route.ts";

/** What `pricing` in a declaration holds: `PUT /v1/admin/prices/{model}`'s body without the note. */
export type DeclaredPriceLines = z.input<typeof PriceBody>;

/** The rule a declaration's lines describe; 400 naming `pricing.<field>` when they are wrong or incomplete. */
export function ruleOfLines(lines: unknown, model: CatalogModel, currency: string): PriceRule {
  try {
    return priceRuleOf(parseBody(PriceBody, lines), model, currency).rule;
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const param = error.param ? `pricing.${error.param}` : "pricing";
    throw new ApiError(error.status, error.type, error.code, error.message, param);
  }
}

/** A rule as exact decimal lines (6 places trimmed), the shape a declaration carries. */
export function linesOfRule(rule: PriceRule): Record<string, unknown> {
  const exact = (micros: number) => formatMoney(micros, 6).replace(/\.?0+$/, "");
  const perSecond: Record<string, string> = {};
  for (const r of RESOLUTION_KEYS)
    if (rule.perSecond[r] !== undefined) perSecond[r] = exact(rule.perSecond[r]!);
  return {
    per_second: perSecond,
    per_clip: exact(rule.perClip),
    per_million_tokens: rule.perMillionTokens === null ? null : exact(rule.perMillionTokens),
    ...(Object.keys(rule.tokensPerSecond).length > 0
      ? { tokens_per_second: { ...rule.tokensPerSecond } }
      : {}),
  };
}

/** Whether two rules charge the same (a PUT that repeats the current lines writes no new price version). */
export function sameRule(a: PriceRule, b: PriceRule): boolean {
  const norm = (r: PriceRule) =>
    JSON.stringify([
      RESOLUTION_KEYS.map((k) => r.perSecond[k] ?? null),
      r.perClip,
      r.perMillionTokens,
      RESOLUTION_KEYS.map((k) => r.tokensPerSecond[k] ?? null),
    ]);
  return norm(a) === norm(b);
}
