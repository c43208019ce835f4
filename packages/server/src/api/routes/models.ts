import type { FastifyInstance } from "fastify";
import { toApiModel } from "../../catalog/models.ts";
import type { AppContext } from "../context.ts";
import { notFound } from "../errors.ts";

export async function modelRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  // With no upstream channel configured, every catalog model is served by the local engine.
  app.get("/v1/models", async () => ({
    object: "list",
    data: ctx.catalog.list().map((m) => toApiModel(m, { providers: ["local"] })),
  }));

  app.get<{ Params: { id: string } }>("/v1/models/:id", async (request) => {
    const model = ctx.catalog.get(request.params.id);
    if (!model)
      throw notFound("model_not_found", `no model ${request.params.id}; GET /v1/models lists them`, "model");
    return toApiModel(model, { providers: ["local"] });
  });
}
