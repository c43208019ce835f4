import type { Core, RequestOptions } from "../core.ts";
import type { Balance, BalanceParams, UsageParams, UsageReport } from "../types.ts";

/** The caller's balance and usage (any key; admins may name another account with `account_id`). */
export class Billing {
  constructor(private readonly core: Core) {}

  /** `GET /v1/balance`: total, held by running tasks, and available, as decimals and micro-units. */
  balance(params: BalanceParams = {}, options: RequestOptions = {}): Promise<Balance> {
    return this.core.request({
      ...options,
      method: "GET",
      path: "/v1/balance",
      query: { account_id: params.account_id },
    });
  }

  /**
   * `GET /v1/usage`: tasks, seconds and cost per day, model and key (`group_by`, default all three)
   * over a UTC date range (default the last 30 days), with totals. Failed tasks are never charged.
   */
  usage(params: UsageParams = {}, options: RequestOptions = {}): Promise<UsageReport> {
    return this.core.request({
      ...options,
      method: "GET",
      path: "/v1/usage",
      query: {
        account_id: params.account_id,
        start_date: params.start_date,
        end_date: params.end_date,
        group_by: params.group_by,
        model: params.model,
        key_id: params.key_id,
      },
    });
  }
}
