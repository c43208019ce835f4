/**
 * Ledger endpoints (admins): credit or correct an account's balance, and read its ledger.
 *
 *   POST /v1/admin/accounts/:id/topup        credit an account (idempotent)
 *   POST /v1/admin/accounts/:id/adjustments  signed correction (idempotent)
 *   GET  /v1/admin/accounts/:id/ledger       the account's ledger, newest first
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { z } from "zod";
import { invalid } from "../domain/errors.ts";
import { route } from "../http/route.ts";
import { randomAlphanumeric } from "../util/ids.ts";
import type { Billing } from "./billing.ts";
import { formatMoney } from "./money.ts";
import { AccountParams, requireAccount } from "./route-helpers.ts";
import {
  AdjustmentBody,
  type LedgerEntry,
  LedgerList,
  LedgerQuery,
  LedgerResult,
  TopupBody,
} from "./schemas.ts";
import type { LedgerRow } from "./tables.ts";

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

/** The Idempotency-Key header, else the body's `idempotency_key`, else a fresh one (no retry protection). */
function idempotencyKeyOf(request: FastifyRequest, fromBody: string | undefined): string {
  const header = request.headers["idempotency-key"];
  const given = typeof header === "string" ? header : fromBody;
  if (given === undefined) return `auto_${randomAlphanumeric(24)}`;
  if (!/^[\x21-\x7e]{1,255}$/.test(given)) {
    throw invalid(
      "invalid_idempotency_key",
      "Idempotency-Key must be 1–255 printable ASCII characters without spaces",
      "Idempotency-Key",
    );
  }
  return given;
}

const WRITES = [
  {
    object: "topup",
    path: "topup",
    operationId: "topupAccount",
    summary: "Credit an account (idempotent: Idempotency-Key header or idempotency_key)",
    body: TopupBody,
  },
  {
    object: "adjustment",
    path: "adjustments",
    operationId: "adjustAccount",
    summary: "A signed correction to an account's balance (idempotent)",
    body: AdjustmentBody,
  },
] as const;

export function ledgerRoutes(app: FastifyInstance, billing: Billing): void {
  const ADMIN = { tag: "Billing", auth: "admin" } as const;

  for (const write of WRITES) {
    route(app, {
      ...ADMIN,
      method: "POST",
      url: `/v1/admin/accounts/:account_id/${write.path}`,
      operationId: write.operationId,
      summary: write.summary,
      params: AccountParams,
      body: write.body,
      response: LedgerResult,
      errors: [400, 401, 403, 404],
    })(async ({ request, params, body }) => {
      await requireAccount(billing, params.account_id);
      const key = idempotencyKeyOf(request, body.idempotency_key);
      const options = { note: body.note ?? undefined, keyId: request.principal.key.id };
      const result =
        write.object === "topup"
          ? await billing.ledger.topup(params.account_id, body.micros, key, options)
          : await billing.ledger.adjust(params.account_id, body.micros, key, options);
      return {
        object: write.object,
        replayed: result.replayed,
        entry: ledgerEntryToApi(result.entry),
        balance: result.balance,
      };
    });
  }

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
    await requireAccount(billing, params.account_id);
    const limit = query.limit === undefined ? 50 : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw invalid("invalid_limit", "limit must be an integer from 1 to 500", "limit");
    }
    const rows = await billing.ledger.entries(params.account_id, { limit });
    return { object: "list", data: rows.map(ledgerEntryToApi), has_more: rows.length === limit };
  });
}
