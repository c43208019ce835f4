/**
 * `POST /v1/video/generations/estimate` (docs/api.md §3.3): what a submit with this body would
 * cost and whether it would be accepted, without creating anything. The amount is the hold the
 * real submit takes, by the same rule (BillingHolds.quoteForTaskRow); the refusal is the real
 * submit's own (balance, limits, concurrency), found by a dry run that is rolled back.
 */
import type { Quote } from "../billing/holds.ts";
import { formatMoney } from "../billing/money.ts";
import { RESOLUTION_KEYS } from "../billing/prices.ts";
import { ApiError } from "../domain/errors.ts";
import type { Principal } from "../keys/auth.ts";
import type { TaskRow } from "../store/schema.ts";
import { type PrepareDeps, prepareTask } from "./prepare.ts";
import type { TaskEstimate } from "./schemas.ts";

export interface EstimateDeps extends PrepareDeps {
  /** What the hold of this task row would be (no writes). */
  quote(task: TaskRow): Promise<Quote>;
  /** The submit's refusal checks, rolled back: throws the refusal. */
  checkSubmit(task: TaskRow): Promise<void>;
}

export async function estimateSubmit(
  deps: EstimateDeps,
  principal: Principal,
  body: unknown,
): Promise<TaskEstimate> {
  const { task, request, plan } = await prepareTask(deps, principal, body);
  const quote = await deps.quote(task);
  let refusal: ApiError | undefined;
  try {
    await deps.checkSubmit(task);
  } catch (error) {
    // Only the refusals a submit answers for this key's money and limits; anything else is an error.
    if (!(error instanceof ApiError) || (error.status !== 403 && error.status !== 429)) throw error;
    refusal = error;
  }
  const perSecond: Record<string, string> = {};
  for (const r of RESOLUTION_KEYS) {
    const micros = quote.price?.rule.perSecond[r];
    if (micros !== undefined) perSecond[r] = formatMoney(micros);
  }
  return {
    object: "estimate",
    model: task.model,
    seconds: String(task.seconds),
    resolution: request.resolution,
    provider: plan.provider,
    service_tier: "default",
    currency: quote.currency,
    amount: formatMoney(quote.amount),
    amount_micros: quote.amount,
    free: quote.free,
    price: quote.price
      ? {
          version: quote.price.version,
          per_second: perSecond,
          per_clip: formatMoney(quote.price.rule.perClip),
        }
      : null,
    allowed: refusal === undefined,
    refusal: refusal
      ? { code: refusal.code, type: refusal.type, message: refusal.message, status: refusal.status }
      : null,
  };
}
