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
      cached = { url: config.publicUrl, doc: inReadingOrder(buildOpenApiDocument(config.publicUrl, routes)) };
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

/**
 * The sections of the reference in the order a newcomer reads them: submitting and polling a task
 * first (paths alone sort `/files/…` downloads to the top), then what a task cites and which models
 * there are, the other doors onto tasks, and administration last. The reference page follows the
 * document's `tags` list and, within a section, the order of `paths`.
 */
export const READING_ORDER: readonly { name: string; description?: string }[] = [
  {
    name: "Tasks",
    description:
      "Start here. Submit a task with `POST /v1/video/generations` (a model id from `GET /v1/models`, a " +
      "prompt, and images uploaded with `POST /v1/files` cited as `@image1`…), then poll " +
      "`GET /v1/video/generations/{task_id}` every few seconds, or follow its Server-Sent Events at " +
      "`…/events`, until `status` is `succeeded` or `failed`. A succeeded task's `url` is the mp4: a " +
      "capability URL that needs no key.",
  },
  { name: "Files", description: "Upload the images, videos and audio a task cites in `metadata.content`." },
  { name: "Models", description: "The models this key may use, and what each accepts." },
  {
    name: "OpenAI-compatible",
    description: "OpenAI's Videos API (`client.videos` of the `openai` package) over the same tasks.",
  },
  { name: "Webhooks", description: "Signed callbacks when a task finishes, and their deliveries." },
  {
    name: "Media",
    description:
      "The public `url`s of files and finished tasks: their unguessable names are the authorisation.",
  },
  { name: "Billing" },
  { name: "Administration" },
  { name: "Channels" },
  { name: "Upstream callbacks" },
  { name: "Operations" },
];

/** Within Tasks: submit, poll, follow, download, cancel (then the rest, as they were). */
const TASK_PATHS = [
  "/v1/video/generations",
  "/v1/video/generations/{task_id}",
  "/v1/video/generations/{task_id}/events",
  "/v1/video/generations/{task_id}/content",
  "/v1/video/generations/{task_id}/cancel",
];
/** Within a path: create before read (submit before list). */
const METHODS = ["post", "get", "put", "patch", "delete", "head"];

/** The document with `tags` in READING_ORDER (tags it does not name follow) and `paths` to match. */
export function inReadingOrder(doc: Record<string, unknown>): Record<string, unknown> {
  const paths = doc.paths as Record<string, Record<string, { tags?: string[] }>>;
  const tagOf = (item: Record<string, { tags?: string[] }>) =>
    Object.values(item).find((op) => op?.tags?.length)?.tags?.[0] ?? "";
  const tags = READING_ORDER.map((t) => ({ ...t }));
  for (const item of Object.values(paths)) {
    for (const op of Object.values(item)) {
      for (const name of op?.tags ?? []) if (!tags.some((t) => t.name === name)) tags.push({ name });
    }
  }
  const used = new Set(
    Object.values(paths).flatMap((item) => Object.values(item).flatMap((op) => op?.tags ?? [])),
  );
  const rank = (name: string) => {
    const index = tags.findIndex((t) => t.name === name);
    return index < 0 ? tags.length : index;
  };
  const within = (path: string) => (TASK_PATHS.includes(path) ? TASK_PATHS.indexOf(path) : TASK_PATHS.length);
  const method = (m: string) => (METHODS.includes(m) ? METHODS.indexOf(m) : METHODS.length);
  const ordered = Object.entries(paths)
    .map(([path, item], index) => ({ path, item, index, tag: rank(tagOf(item)) }))
    .sort((a, b) => a.tag - b.tag || within(a.path) - within(b.path) || a.index - b.index)
    .map(({ path, item }) => [
      path,
      Object.fromEntries(Object.entries(item).sort(([a], [b]) => method(a) - method(b))),
    ]);
  return { ...doc, tags: tags.filter((t) => used.has(t.name)), paths: Object.fromEntries(ordered) };
}
