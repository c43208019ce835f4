/** `/openapi.json`, built from the routes as registered, and `/docs`, the reference page over it. */
import scalar from "@scalar/fastify-api-reference";
import type { FastifyInstance } from "fastify";
import type { Config } from "../../config.ts";
import { route } from "../../http/route.ts";
import { buildOpenApiDocument, type RegisteredRoute } from "../openapi.ts";

export interface DocsRouteDeps {
  config: Pick<Config, "publicUrl">;
  /** Every route the server registered (see `recordRoutes`); read when the document is first asked for. */
  routes: RegisteredRoute[];
}

export async function docsRoutes(app: FastifyInstance, { config, routes }: DocsRouteDeps): Promise<void> {
  let cached: { url: string; doc: unknown } | undefined;
  route(app, {
    method: "GET",
    url: "/openapi.json",
    operationId: "openapi",
    summary: "This document",
    tag: "Operations",
    auth: "public",
    response: {
      description: "The OpenAPI 3.1 document",
      content: { "application/json": { schema: { type: "object" } } },
    },
    errors: [],
  })(async () => {
    if (!cached || cached.url !== config.publicUrl) {
      cached = { url: config.publicUrl, doc: buildOpenApiDocument(config.publicUrl, routes) };
    }
    return cached.doc;
  });
  // The reference page's script is bundled in the npm package and served locally: no CDN. The page
  // must work offline and stay ours: no web fonts from the vendor's CDN, no telemetry, and none of
  // the vendor's hosted features (its AI agent, MCP generator, developer tools with "Deploy").
  // Held at 1.46.x: every later release depends on @scalar/* packages that require Node >= 22
  // (docs/architecture.md). 1.46 has no MCP generator; on an upgrade, set `mcp: { disabled: true }`.
  await app.register(scalar, {
    routePrefix: "/docs",
    configuration: {
      url: "/openapi.json",
      pageTitle: "vidrelay API reference",
      withDefaultFonts: false,
      telemetry: false,
      showDeveloperTools: "never",
      agent: { disabled: true },
    },
  });
}
