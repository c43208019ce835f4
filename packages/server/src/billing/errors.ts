import type { ErrorCode } from "../domain/error-codes.ts";
import { ApiError, type ErrorType } from "../domain/errors.ts";

/** Why billing or a limit refused a request: our own decision, never an upstream's fault. */
export type RefusalReason =
  | "insufficient_quota"
  | "daily_spend_cap"
  | "model_not_allowed"
  | "rate_limit"
  | "concurrency_limit";

/**
 * A refusal by billing or by a per-key limit (403 / 429). It is an `ApiError` (the HTTP layer maps
 * it, headers included) that is recognisably ours: `fault === "client_quota"`. Code that tracks an
 * upstream channel's health must skip these (`isBillingRefusal`): they say nothing about the
 * channel, which was never called.
 */
export class BillingRefusal extends ApiError {
  readonly fault = "client_quota" as const;

  constructor(
    readonly reason: RefusalReason,
    status: 403 | 429,
    type: ErrorType,
    code: ErrorCode,
    message: string,
    param: string | null = null,
    headers: Record<string, string> = {},
  ) {
    super(status, type, code, message, param, headers);
    this.name = "BillingRefusal";
  }
}

export function isBillingRefusal(error: unknown): error is BillingRefusal {
  return error instanceof BillingRefusal;
}
