/**
 * Billing endpoints. Register inside the authenticated /v1 scope (the caller is
 * `request.principal`): `await v1.register(billingRoutes, { billing })`.
 *
 *   GET  /v1/balance                       the caller's balance (admins: ?account_id=)
 *   GET  /v1/usage                         tasks, seconds and cost per day / model / key
 *   POST /v1/admin/accounts/:id/topup      credit an account (idempotent)
 *   POST /v1/admin/accounts/:id/adjustments  signed correction (idempotent)
 *   GET  /v1/admin/accounts/:id/ledger     the account's ledger, newest first
 *   GET  /v1/admin/prices                  current price of every model
 *   GET  /v1/admin/prices/:model           current price and every version
 *   PUT  /v1/admin/prices/:model           a new price version
 *   GET/PUT /v1/admin/accounts/:id/limits  limit defaults for the account's keys
 *   GET/PUT /v1/admin/keys/:id/limits      one key's limits
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import { ApiError, invalid, notFound, shown } from "../domain/errors.ts";
import { assertAdmin } from "../http/caller.ts";
import { route } from "../http/route.ts";
import { ownerOf } from "../keys/auth.ts";
import { randomAlphanumeric } from "../util/ids.ts";
import type { Billing } from "./billing.ts";
import { DAY_MS, dayToDate, type LimitPatch, limitsRowToApi } from "./limits.ts";
import { formatMoney, moneyFromJson } from "./money.ts";
import { priceRuleFromApi, priceVersionToApi } from "./prices.ts";
import type { LedgerRow, LimitScope } from "./schema.ts";
import {
  AccountQuery,
  AmountBody,
  BalanceObject,
  type LedgerEntry,
  LedgerList,
  LedgerQuery,
  LedgerResult,
  LimitsBody,
  LimitsObject,
  ModelPrices,
  PriceBody,
  PriceHistory,
  PriceObject,
  UsageQuery,
  UsageReport,
} from "./schemas.ts";
import { dateToDay, type UsageDimension } from "./usage-report.ts";

const MAX_USAGE_DAYS = 366;

/** Whose data: the caller's account, or (admins only) an existing one named by ?account_id=. */
async function targetAccount(billing: Billing, request: FastifyRequest, requested: unknown): Promise<string> {
  if (requested === undefined || requested === "" || requested === request.principal.account.id) {
    return request.principal.account.id;
  }
  if (typeof requested !== "string")
    throw invalid("invalid_type", "account_id must be a string", "account_id");
  assertAdmin(request.principal);
  if (!(await billing.repository.exists("accounts", requested)))
    throw notFound("account_not_found", `no account ${shown(requested)}`, "account_id");
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

export function ledgerEntryToApi(row: LedgerRow): z.input<typeof LedgerEntry> {
  return {
    object: "ledger_entry",
    id: row.id,
    account_id: row.account_id,
    kind: row.kind,
    amount: formatMoney(row.amount),
    amount_micros: row.amount,
    currency: row.currency,
    task_id: row.task_id,
    key_id: row.key_id,
    idempotency_key: row.idempotency_key,
    note: row.note,
    created_at: Math.floor(row.created_at / 1000),
  };
}

function idempotencyKeyOf(request: FastifyRequest, body: Record<string, unknown>): string {
  const header = request.headers["idempotency-key"];
  const given = typeof header === "string" ? header : body.idempotency_key;
  if (given === undefined) return `auto_${randomAlphanumeric(24)}`;
  if (typeof given !== "string" || !/^[\x21-\x7e]{1,255}$/.test(given)) {
    throw invalid(
      "invalid_idempotency_key",
      "Idempotency-Key must be 1–255 printable ASCII characters without spaces",
      "Idempotency-Key",
    );
  }
  return given;
}

function bodyObject(body: unknown): Record<string, unknown> {
  if (body === undefined || body === null) return {};
  if (typeof body !== "object" || Array.isArray(body)) throw invalid("invalid_body", "send a JSON object");
  return body as Record<string, unknown>;
}

function amountOf(body: Record<string, unknown>, allowNegative: boolean): number {
  if (body.amount_micros !== undefined) {
    const v = body.amount_micros;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || (!allowNegative && v <= 0) || v === 0) {
      throw invalid(
        "invalid_amount",
        "amount_micros must be a non-zero integer of micro-units",
        "amount_micros",
      );
    }
    return v;
  }
  const micros = moneyFromJson(body.amount, allowNegative);
  if (micros === undefined || micros === 0 || (!allowNegative && micros < 0)) {
    throw invalid(
      "invalid_amount",
      `amount must be a ${allowNegative ? "non-zero" : "positive"} decimal such as "10.00" (at most 6 decimals)`,
      "amount",
    );
  }
  return micros;
}

function optionalNote(body: Record<string, unknown>): string | undefined {
  if (body.note === undefined || body.note === null) return undefined;
  if (typeof body.note !== "string") throw invalid("invalid_type", "note must be a string", "note");
  if (body.note.length > 500) throw invalid("invalid_value", "note must be at most 500 characters", "note");
  return body.note;
}

export async function billingRoutes(app: FastifyInstance, { billing }: { billing: Billing }): Promise<void> {
  const BILLING = { tag: "Billing", auth: "key" } as const;
  const ADMIN = { tag: "Billing", auth: "admin" } as const;
  const AccountParams = z.object({ account_id: z.string().describe("acct_…") });

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

  // --- admin -----------------------------------------------------------------------------------

  const requireAccount = async (id: string) => {
    if (!(await billing.repository.exists("accounts", id)))
      throw notFound("account_not_found", `no account ${shown(id)}`, "account_id");
  };

  route(app, {
    ...ADMIN,
    method: "POST",
    url: "/v1/admin/accounts/:account_id/topup",
    operationId: "topupAccount",
    summary: "Credit an account (idempotent: Idempotency-Key header or idempotency_key)",
    params: AccountParams,
    body: AmountBody,
    bodyMode: "domain",
    response: LedgerResult,
    errors: [400, 401, 403, 404],
  })(async ({ request, params }) => {
    const body = bodyObject(request.body);
    await requireAccount(params.account_id);
    const amount = amountOf(body, false);
    const result = await billing.ledger.topup(params.account_id, amount, idempotencyKeyOf(request, body), {
      note: optionalNote(body),
      keyId: request.principal.key.id,
    });
    return {
      object: "topup",
      replayed: result.replayed,
      entry: ledgerEntryToApi(result.entry),
      balance: result.balance,
    };
  });

  route(app, {
    ...ADMIN,
    method: "POST",
    url: "/v1/admin/accounts/:account_id/adjustments",
    operationId: "adjustAccount",
    summary: "A signed correction to an account's balance (idempotent)",
    params: AccountParams,
    body: AmountBody,
    bodyMode: "domain",
    response: LedgerResult,
    errors: [400, 401, 403, 404],
  })(async ({ request, params }) => {
    const body = bodyObject(request.body);
    await requireAccount(params.account_id);
    const amount = amountOf(body, true);
    const result = await billing.ledger.adjust(params.account_id, amount, idempotencyKeyOf(request, body), {
      note: optionalNote(body),
      keyId: request.principal.key.id,
    });
    return {
      object: "adjustment",
      replayed: result.replayed,
      entry: ledgerEntryToApi(result.entry),
      balance: result.balance,
    };
  });

  route(app, {
    ...ADMIN,
    method: "GET",
    url: "/v1/admin/accounts/:account_id/ledger",
    operationId: "accountLedger",
    summary: "An account's ledger, newest first",
    params: AccountParams,
    query: LedgerQuery,
    response: LedgerList,
    errors: [400, 401, 403, 404],
  })(async ({ params, query }) => {
    await requireAccount(params.account_id);
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw invalid("invalid_limit", "limit must be an integer from 1 to 500", "limit");
    }
    const rows = await billing.ledger.entries(params.account_id, { limit });
    return { object: "list", data: rows.map(ledgerEntryToApi), has_more: rows.length === limit };
  });

  route(app, {
    ...ADMIN,
    method: "GET",
    url: "/v1/admin/prices",
    operationId: "listPrices",
    summary: "The current price of every model",
    response: ModelPrices,
    errors: [401, 403],
  })(async () => {
    const pricing = await billing.prices.pricingForModels();
    return {
      object: "list",
      data: billing.catalog.list().map((m) => ({ model: m.id, pricing: pricing.get(m.id) ?? null })),
      has_more: false,
    };
  });

  const ModelParams = z.object({ model: z.string().describe("A catalog model id.") });
  route(app, {
    ...ADMIN,
    method: "GET",
    url: "/v1/admin/prices/:model",
    operationId: "getPrice",
    summary: "A model's current price and every earlier version",
    params: ModelParams,
    response: PriceHistory,
    errors: [401, 403, 404],
  })(async ({ params }) => {
    billing.catalog.require(params.model);
    const versions = await billing.prices.history(params.model);
    return {
      object: "price_list",
      model: params.model,
      current: versions[0] ? priceVersionToApi(versions[0]) : null,
      versions: versions.map(priceVersionToApi),
      local_renders: billing.prices.localRenders,
    };
  });

  route(app, {
    ...ADMIN,
    method: "PUT",
    url: "/v1/admin/prices/:model",
    operationId: "setPrice",
    summary: "A new price version for a model (tasks already accepted keep the price they were held at)",
    params: ModelParams,
    body: PriceBody,
    bodyMode: "domain",
    response: PriceObject,
    errors: [400, 401, 403, 404],
  })(async ({ request, params }) => {
    const model = billing.catalog.require(params.model);
    const { rule, note } = priceRuleFromApi(request.body, model, billing.currency);
    const price = await billing.prices.setPrice(model.id, rule, {
      note,
      createdBy: request.principal.key.id,
    });
    return priceVersionToApi(price);
  });

  for (const scope of ["account", "key"] as const satisfies readonly LimitScope[]) {
    const idName = scope === "account" ? "account_id" : "key_id";
    const path = `/v1/admin/${scope === "account" ? "accounts" : "keys"}/:${idName}/limits`;
    const IdParams = z.object({ [idName]: z.string() }) as z.ZodType<Record<string, string>>;
    const what = scope === "account" ? "an account's keys (defaults)" : "one API key";
    const exists = async (id: string) => {
      const ok =
        scope === "account"
          ? await billing.repository.exists("accounts", id)
          : await billing.repository.exists("api_keys", id);
      if (!ok)
        throw notFound(
          `${scope}_not_found`,
          `no ${scope === "account" ? "account" : "API key"} ${shown(id)}`,
          "id",
        );
    };
    route(app, {
      ...ADMIN,
      method: "GET",
      url: path,
      operationId: `get${scope === "account" ? "Account" : "Key"}Limits`,
      summary: `Limits of ${what}`,
      params: IdParams,
      response: LimitsObject,
      errors: [401, 403, 404],
    })(async ({ params }) => {
      const id = params[idName]!;
      await exists(id);
      return limitsRowToApi(await billing.limits.get(scope, id), scope, id);
    });
    route(app, {
      ...ADMIN,
      method: "PUT",
      url: path,
      operationId: `set${scope === "account" ? "Account" : "Key"}Limits`,
      summary: `Set limits of ${what}`,
      params: IdParams,
      body: LimitsBody,
      bodyMode: "domain",
      response: LimitsObject,
      errors: [400, 401, 403, 404],
    })(async ({ request, params }) => {
      const id = params[idName]!;
      await exists(id);
      const patch = limitPatchFromApi(bodyObject(request.body), (m) => billing.catalog.has(m));
      const row = await billing.limits.set(scope, id, patch);
      return limitsRowToApi(row, scope, id);
    });
  }
}

function withParam<T>(fn: () => T, param: string): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ApiError) throw invalid(error.code, error.message, param);
    throw error;
  }
}

/** `{requests_per_minute, max_concurrent, daily_spend_cap, allowed_models}`; null clears (inherit). */
export function limitPatchFromApi(
  body: Record<string, unknown>,
  modelExists: (id: string) => boolean,
): LimitPatch {
  const patch: LimitPatch = {};
  const intField = (name: string, min: number): number | null => {
    const v = body[name];
    if (v === null) return null;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
      throw invalid("invalid_limit", `${name} must be an integer ≥ ${min}, or null to inherit`, name);
    }
    return v;
  };
  if (body.requests_per_minute !== undefined) patch.requestsPerMinute = intField("requests_per_minute", 1);
  if (body.max_concurrent !== undefined) patch.maxConcurrent = intField("max_concurrent", 0);
  if (body.daily_spend_cap !== undefined) {
    if (body.daily_spend_cap === null) patch.dailySpendCap = null;
    else {
      const micros = moneyFromJson(body.daily_spend_cap);
      if (micros === undefined) {
        throw invalid(
          "invalid_amount",
          'daily_spend_cap must be a decimal such as "25.00", or null',
          "daily_spend_cap",
        );
      }
      patch.dailySpendCap = micros;
    }
  }
  if (body.allowed_models !== undefined) {
    const v = body.allowed_models;
    if (v === null) patch.allowedModels = null;
    else {
      if (!Array.isArray(v) || v.some((m) => typeof m !== "string")) {
        throw invalid(
          "invalid_type",
          "allowed_models must be an array of model ids, or null for all",
          "allowed_models",
        );
      }
      v.forEach((m, i) => {
        if (!modelExists(m as string)) {
          throw invalid(
            "model_not_found",
            `no model ${shown(String(m))}; GET /v1/models lists them`,
            `allowed_models[${i}]`,
          );
        }
      });
      patch.allowedModels = [...new Set(v as string[])];
    }
  }
  return patch;
}
