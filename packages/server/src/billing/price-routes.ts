/**
 * Price endpoints (admins).
 *
 *   GET  /v1/admin/prices          current price of every model
 *   GET  /v1/admin/prices/:model   current price and every version
 *   PUT  /v1/admin/prices/:model   a new price version
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { route } from "../http/route.ts";
import type { Billing } from "./billing.ts";
import { priceRuleOf, priceVersionToApi } from "./prices.ts";
import { ModelPrices, PriceBody, PriceHistory, PriceObject } from "./schemas.ts";

const ModelParams = z.object({ model: z.string().describe("A catalog model id.") });

export function priceRoutes(app: FastifyInstance, billing: Billing): void {
  const ADMIN = { tag: "Billing", auth: "admin" } as const;

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
    response: PriceObject,
    errors: [400, 401, 403, 404],
  })(async ({ request, params, body }) => {
    const model = billing.catalog.require(params.model);
    const { rule, note } = priceRuleOf(body, model, billing.currency);
    const price = await billing.prices.setPrice(model.id, rule, {
      note,
      createdBy: request.principal.key.id,
    });
    return priceVersionToApi(price);
  });
}
