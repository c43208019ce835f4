/** The model routes (docs/api.md §6): what this key may use, with capabilities and prices. */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Limits } from "../../billing/limits.ts";
import type { PriceBook } from "../../billing/price-book.ts";
import type { Catalog } from "../../catalog/models.ts";
import type { ChannelRouting } from "../../channels/routing.ts";
import { notFound } from "../../domain/errors.ts";
import { route } from "../../http/route.ts";
import { toApiModel } from "../model-object.ts";
import { ModelList, ModelObject } from "../schemas.ts";

/** Every route here is in the Models section of the reference and needs a key. */
const KEYED = { tag: "Models", auth: "key" } as const;

export interface ModelRouteDeps {
  catalog: Catalog;
  routing: Pick<ChannelRouting, "availableModels">;
  billing: { limits: Pick<Limits, "modelFilter">; prices: Pick<PriceBook, "pricingForModels"> };
}

export async function modelRoutes(
  app: FastifyInstance,
  { catalog, routing, billing }: ModelRouteDeps,
): Promise<void> {
  // Only models that an enabled channel (or the local engine, for this key) serves are listed.
  const available = (request: FastifyRequest) =>
    routing.availableModels(catalog.ids(), request.principal.key.test_mode === 1);

  route(app, {
    method: "GET",
    url: "/v1/models",
    operationId: "listModels",
    summary: "List the models this key may use, with capabilities",
    ...KEYED,
    response: ModelList,
    errors: [401],
  })(async ({ request }) => {
    const [served, allowed, pricing] = await Promise.all([
      available(request),
      billing.limits.modelFilter(request.principal),
      billing.prices.pricingForModels(),
    ]);
    return {
      object: "list",
      has_more: false,
      data: catalog
        .list()
        .filter((m) => served.has(m.id) && allowed(m.id))
        .map((m) => toApiModel(m, { providers: served.get(m.id), pricing: pricing.get(m.id) })),
    };
  });

  route(app, {
    method: "GET",
    url: "/v1/models/:model_id",
    operationId: "getModel",
    summary: "Get one model",
    ...KEYED,
    params: z.object({ model_id: z.string().describe("a catalog model id") }),
    response: ModelObject,
    errors: [401, 404],
  })(async ({ request, params }) => {
    const model = catalog.get(params.model_id);
    const providers = model ? (await available(request)).get(model.id) : undefined;
    const allowed = await billing.limits.modelFilter(request.principal);
    if (!model || !providers || !allowed(model.id)) {
      throw notFound(
        "model_not_found",
        `no model ${params.model_id} is available; GET /v1/models lists them`,
        "model",
      );
    }
    return toApiModel(model, {
      providers,
      pricing: (await billing.prices.pricingForModels()).get(model.id),
    });
  });
}
