import type { FastifyInstance, FastifyRequest } from "fastify";
import { notFound } from "../../domain/errors.ts";
import type { AppContext } from "../context.ts";
import { toApiModel } from "../model-object.ts";

export async function modelRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  // Only models that an enabled channel (or the local engine, for this key) serves are listed.
  const available = (request: FastifyRequest) =>
    ctx.routing.availableModels(ctx.catalog.ids(), request.principal.key.test_mode === 1);

  app.get("/v1/models", async (request) => {
    const [served, allowed, pricing] = await Promise.all([
      available(request),
      ctx.billing.modelFilter(request.principal),
      ctx.billing.pricingForModels(),
    ]);
    return {
      object: "list",
      data: ctx.catalog
        .list()
        .filter((m) => served.has(m.id) && allowed(m.id))
        .map((m) => toApiModel(m, { providers: served.get(m.id), pricing: pricing.get(m.id) })),
    };
  });

  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request) => {
    const model = ctx.catalog.get(request.params.id);
    const providers = model ? (await available(request)).get(model.id) : undefined;
    const allowed = await ctx.billing.modelFilter(request.principal);
    if (!model || !providers || !allowed(model.id)) {
      throw notFound(
        "model_not_found",
        `no model ${request.params.id} is available; GET /v1/models lists them`,
        "model",
      );
    }
    return toApiModel(model, { providers, pricing: (await ctx.billing.pricingForModels()).get(model.id) });
  });
}
