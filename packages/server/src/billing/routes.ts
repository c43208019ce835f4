/**
 * Billing endpoints. Register inside the authenticated /v1 scope (the caller is
 * `request.principal`): `await v1.register(billingRoutes, { billing })`.
 *
 *   GET  /v1/balance                       the caller's balance (admins: ?account_id=)
 *   GET  /v1/usage                         tasks, seconds and cost per day / model / key
 *   ledger-routes.ts  POST topup, adjustments; GET ledger (admins)
 *   price-routes.ts   GET/PUT prices (admins)
 *   limit-routes.ts   GET/PUT account and key limits (admins)
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { ApiError, invalid } from "../domain/errors.ts";
import { assertAdmin } from "../http/caller.ts";
import { route } from "../http/route.ts";
import { ownerOf } from "../keys/auth.ts";
import type { Billing } from "./billing.ts";
import { ledgerRoutes } from "./ledger-routes.ts";
import { limitRoutes } from "./limit-routes.ts";
import { DAY_MS, dayToDate } from "./limits.ts";
import { formatMoney } from "./money.ts";
import { priceRoutes } from "./price-routes.ts";
import { requireAccount } from "./route-helpers.ts";
import { AccountQuery, BalanceObject, UsageQuery, UsageReport } from "./schemas.ts";
import { dateToDay, type UsageDimension } from "./usage-report.ts";

export { ledgerEntryToApi } from "./ledger-routes.ts";

const MAX_USAGE_DAYS = 366;

/** Whose data: the caller's account, or (admins only) an existing one named by ?account_id=. */
async function targetAccount(billing: Billing, request: FastifyRequest, requested: unknown): Promise<string> {
  if (requested === undefined || requested === "" || requested === request.principal.account.id) {
    return request.principal.account.id;
  }
  if (typeof requested !== "string")
    throw invalid("invalid_type", "account_id must be a string", "account_id");
  assertAdmin(request.principal);
  await requireAccount(billing, requested);
  return requested;
}

function noMoney() {
  return {
    balance: formatMoney(0),
    held: formatMoney(0),
    available: formatMoney(0),
    balance_micros: 0,
    held_micros: 0,
    available_micros: 0,
  };
}

export async function billingRoutes(app: FastifyInstance, { billing }: { billing: Billing }): Promise<void> {
  const BILLING = { tag: "Billing", auth: "key" } as const;

  route(app, {
    ...BILLING,
    method: "GET",
    url: "/v1/balance",
    operationId: "getBalance",
    summary: "The caller's balance: total, held by running tasks, available",
    query: AccountQuery,
    response: BalanceObject,
    errors: [400, 401, 403],
  })(async ({ request, query }) => {
    const balance = await billing.ledger.balance(await targetAccount(billing, request, query.account_id));
    // Test mode never spends: its world has no money in it, and the live balance is not its to see.
    if (request.principal.key.test_mode !== 1) return balance;
    return { ...balance, ...noMoney() };
  });

  route(app, {
    ...BILLING,
    method: "GET",
    url: "/v1/usage",
    operationId: "getUsage",
    summary: "Tasks, seconds and cost per day, model and key over a date range",
    query: UsageQuery,
    response: UsageReport,
    errors: [400, 401, 403],
  })(async ({ request, query }) => {
    const accountId = await targetAccount(billing, request, query.account_id);
    const str = (name: keyof typeof query): string | undefined => query[name] || undefined;
    const today = dayToDate(Math.floor(Date.now() / DAY_MS));
    const endDate = str("end_date") ?? today;
    let startDate = str("start_date");
    const endDay = withParam(() => dateToDay(endDate), "end_date");
    if (!startDate) startDate = dayToDate(endDay - 29);
    const startDay = withParam(() => dateToDay(startDate), "start_date");
    if (startDay > endDay) throw invalid("invalid_date_range", "start_date is after end_date", "start_date");
    if (endDay - startDay + 1 > MAX_USAGE_DAYS) {
      throw invalid("invalid_date_range", `at most ${MAX_USAGE_DAYS} days per request`, "start_date");
    }
    const groupText = str("group_by") ?? "day,model,key";
    const groupBy = groupText
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    for (const g of groupBy) {
      if (!["day", "model", "key"].includes(g)) {
        throw invalid(
          "invalid_group_by",
          "group_by is a comma-separated subset of day, model, key",
          "group_by",
        );
      }
    }
    const { rows, totals } = await billing.usage.report(
      { accountId, testMode: ownerOf(request.principal).testMode },
      {
        startDate,
        endDate,
        model: str("model"),
        keyId: str("key_id"),
        groupBy: groupBy as UsageDimension[],
      },
    );
    return {
      object: "list",
      data: rows.map((r) => ({ object: "usage", ...r })),
      has_more: false,
      totals,
      currency: billing.currency,
      account_id: accountId,
      start_date: startDate,
      end_date: endDate,
      group_by: groupBy,
    };
  });

  ledgerRoutes(app, billing);
  priceRoutes(app, billing);
  limitRoutes(app, billing);
}

function withParam<T>(fn: () => T, param: string): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ApiError) throw invalid(error.code, error.message, param);
    throw error;
  }
}
