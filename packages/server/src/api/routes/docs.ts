import scalar from "@scalar/fastify-api-reference";
import type { FastifyInstance } from "fastify";
import type { AppContext } from "../context.ts";
import { buildOpenApiDocument } from "../openapi.ts";

/** `/openapi.json` (generated from the same zod schemas that validate requests) and `/docs`. */
export async function docsRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  let cached: { url: string; doc: unknown } | undefined;
  app.get("/openapi.json", async () => {
    if (!cached || cached.url !== ctx.config.publicUrl) {
      cached = { url: ctx.config.publicUrl, doc: buildOpenApiDocument(ctx.config.publicUrl) };
    }
    return cached.doc;
  });
  // The reference page's script is bundled in the npm package and served locally: no CDN.
  await app.register(scalar, {
    routePrefix: "/docs",
    configuration: { url: "/openapi.json", pageTitle: "vidrelay API reference" },
  });
}
