/**
 * Limit endpoints (admins): GET/PUT /v1/admin/accounts/:id/limits (defaults for the account's
 * keys) and GET/PUT /v1/admin/keys/:id/limits (one key's).
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { invalid, notFound, shown } from "../domain/errors.ts";
import { route } from "../http/route.ts";
import type { Billing } from "./billing.ts";
import { type LimitPatch, limitsRowToApi } from "./limits.ts";
import { LimitsBody, LimitsObject } from "./schemas.ts";
import type { LimitScope } from "./tables.ts";

const SCOPES = {
  account: {
    table: "accounts",
    idName: "account_id",
    plural: "accounts",
    label: "Account",
    noun: "account",
    what: "an account's keys (defaults)",
  },
  key: {
    table: "api_keys",
    idName: "key_id",
    plural: "keys",
    label: "Key",
    noun: "API key",
    what: "one API key",
  },
} as const satisfies Record<LimitScope, unknown>;

export function limitRoutes(app: FastifyInstance, billing: Billing): void {
  const ADMIN = { tag: "Billing", auth: "admin" } as const;
  for (const scope of ["account", "key"] as const satisfies readonly LimitScope[]) {
    const { table, idName, plural, label, noun, what } = SCOPES[scope];
    const path = `/v1/admin/${plural}/:${idName}/limits`;
    const IdParams = z.object({ [idName]: z.string() }) as z.ZodType<Record<string, string>>;
    const existing = async (params: Record<string, string>): Promise<string> => {
      const id = params[idName]!;
      if (!(await billing.repository.exists(table, id)))
        throw notFound(`${scope}_not_found`, `no ${noun} ${shown(id)}`, "id");
      return id;
    };
    route(app, {
      ...ADMIN,
      method: "GET",
      url: path,
      operationId: `get${label}Limits`,
      summary: `Limits of ${what}`,
      params: IdParams,
      response: LimitsObject,
      errors: [401, 403, 404],
    })(async ({ params }) => {
      const id = await existing(params);
      return limitsRowToApi(await billing.limits.get(scope, id), scope, id);
    });
    route(app, {
      ...ADMIN,
      method: "PUT",
      url: path,
      operationId: `set${label}Limits`,
      summary: `Set limits of ${what}`,
      params: IdParams,
      body: LimitsBody,
      response: LimitsObject,
      errors: [400, 401, 403, 404],
    })(async ({ params, body }) => {
      const id = await existing(params);
      const patch = limitPatchOf(body, (m) => billing.catalog.has(m));
      return limitsRowToApi(await billing.limits.set(scope, id, patch), scope, id);
    });
  }
}

/** A validated `LimitsBody` → the patch; every allowed model must be in the catalog. null clears (inherit). */
export function limitPatchOf(
  body: z.output<typeof LimitsBody>,
  modelExists: (id: string) => boolean,
): LimitPatch {
  const patch: LimitPatch = {};
  if (body.requests_per_minute !== undefined) patch.requestsPerMinute = body.requests_per_minute;
  if (body.max_concurrent !== undefined) patch.maxConcurrent = body.max_concurrent;
  if (body.daily_spend_cap !== undefined) patch.dailySpendCap = body.daily_spend_cap;
  if (body.allowed_models === null) patch.allowedModels = null;
  else if (body.allowed_models !== undefined) {
    body.allowed_models.forEach((m, i) => {
      if (!modelExists(m)) {
        throw invalid(
          "model_not_found",
          `no model ${shown(m)}; GET /v1/models lists them`,
          `allowed_models[${i}]`,
        );
      }
    });
    patch.allowedModels = [...new Set(body.allowed_models)];
  }
  return patch;
}
