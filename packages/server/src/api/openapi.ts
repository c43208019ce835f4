/**
 * The OpenAPI 3.1 document, built from the routes as registered: each route's declaration
 * (http/route.ts) carries the zod schemas that validate it, and this file only arranges them.
 * A route registered without a declaration is listed in `undocumented` — the suite fails on it
 * (test/api/openapi.test.ts) — so the document cannot fall behind the server.
 */

import type { FastifyInstance, RouteOptions } from "fastify";
import type { z } from "zod";
import { codesWithStatus } from "../domain/error-codes.ts";
import type { RawResponse, RouteSpec } from "../http/route.ts";
import { type JsonSchema, toJsonSchema } from "../http/schema.ts";
import { VERSION_STRING } from "../version.ts";
import { API_SCHEMAS, openApiComponents } from "./schemas.ts";

type AnySpec = RouteSpec<z.ZodType | undefined, z.ZodType | undefined, z.ZodType | undefined>;

export interface RegisteredRoute {
  method: string;
  url: string;
  spec?: AnySpec;
}

/**
 * Record every route registered on `app` from now on (call before registering plugins: the hook
 * is inherited by every child scope). HEAD twins of GET routes are Fastify's own and skipped.
 */
export function recordRoutes(app: FastifyInstance): RegisteredRoute[] {
  const routes: RegisteredRoute[] = [];
  app.addHook("onRoute", (options: RouteOptions) => {
    const methods = Array.isArray(options.method) ? options.method : [options.method];
    const spec = options.config?.spec as AnySpec | undefined;
    for (const method of methods) {
      // Fastify's automatic HEAD twin of a GET carries the GET's config; it is not a route of ours.
      if (
        method === "HEAD" &&
        spec?.method !== "HEAD" &&
        (spec || /^\/(docs|console)(\/|$)/.test(options.url))
      )
        continue;
      routes.push({ method, url: options.url, spec });
    }
  });
  return routes;
}

/** Routes that are not part of the API and so not in the document: the reference page and the console. */
const NOT_API = [/^\/docs(\/|$)/, /^\/console(\/|$)/];

export function undocumented(routes: RegisteredRoute[]): RegisteredRoute[] {
  return routes.filter((r) => !r.spec && !NOT_API.some((re) => re.test(r.url)));
}

const ERROR_TEXT: Record<number, string> = {
  400: "Invalid request; `param` names the offending field",
  401: "Missing, invalid or revoked API key",
  403: "The key may not do this (admin only, or no balance)",
  404: "Unknown, or owned by another account",
  409: "Conflict (Idempotency-Key reused with another body, or the task is not in a state that allows this)",
  413: "Upload too large",
  415: "Media type not accepted",
  416: "Range not satisfiable",
  429: "Rate limit; `Retry-After` says when to try again",
  503: "Not ready (draining or the store is unreachable)",
};

const SECURITY: Record<RouteSpec["auth"], unknown[] | undefined> = {
  key: [{ bearer: [] }],
  admin: [{ bearer: [] }],
  public: [],
  capability: [],
  // The metrics token or an admin key, as a bearer credential.
  operator: [{ bearer: [] }],
};

/** Component name of a schema object, when it is one of the named ones. */
function componentName(schema: z.ZodType): string | undefined {
  for (const [name, entry] of Object.entries(API_SCHEMAS)) if (entry.schema === schema) return name;
  return undefined;
}

function schemaOf(schema: z.ZodType, io: "input" | "output"): JsonSchema {
  const name = componentName(schema);
  return name ? { $ref: `#/components/schemas/${name}` } : toJsonSchema(schema, { io });
}

function isRaw(response: z.ZodType | RawResponse): response is RawResponse {
  return typeof (response as RawResponse).description === "string" && !("_zod" in response);
}

/** `/v1/files/:id` → `/v1/files/{id}` */
const openApiPath = (url: string) => url.replace(/:([A-Za-z_][\w]*)/g, "{$1}");

function parameters(spec: AnySpec): unknown[] {
  const out: unknown[] = [];
  const fields = (schema: z.ZodType | undefined, where: "path" | "query") => {
    if (!schema) return;
    const json = toJsonSchema(schema, { io: "input" });
    const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((json.required ?? []) as string[]);
    for (const [name, property] of Object.entries(properties)) {
      const { description, ...rest } = property;
      out.push({
        name,
        in: where,
        required: where === "path" || required.has(name),
        schema: rest,
        ...(description ? { description } : {}),
      });
    }
  };
  fields(spec.params, "path");
  fields(spec.query, "query");
  if (spec.headers) {
    for (const [name, property] of Object.entries(spec.headers.shape)) {
      const { description, ...schema } = toJsonSchema(property as z.ZodType, { io: "input" });
      out.push({ name, in: "header", schema, ...(description ? { description } : {}) });
    }
  }
  return out;
}

function operation(spec: AnySpec): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  if (isRaw(spec.response)) {
    responses["200"] = { description: spec.response.description, content: spec.response.content };
    for (const [status, text] of Object.entries(spec.response.alsoStatuses ?? {})) {
      responses[status] = { description: text };
    }
  } else {
    responses["200"] = {
      description: "OK",
      content: { "application/json": { schema: schemaOf(spec.response, "output") } },
    };
  }
  for (const [status, text] of Object.entries(spec.alsoStatuses ?? {})) {
    responses[status] = { description: text };
  }
  for (const status of spec.errors) {
    const codes = codesWithStatus(status);
    responses[String(status)] = {
      description: `${ERROR_TEXT[status] ?? "error"}. Codes: ${codes.map((c) => `\`${c}\``).join(", ")}`,
      content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
      // The registered codes this status carries (domain/error-codes.ts), for generated clients.
      "x-error-codes": codes,
    };
  }
  const op: Record<string, unknown> = {
    operationId: spec.operationId,
    summary: spec.summary,
    tags: [spec.tag],
    security: SECURITY[spec.auth],
    responses,
  };
  if (spec.description) op.description = spec.description;
  if (spec.auth === "admin") op.description = `${spec.description ?? ""}\n\nAdmin keys only.`.trim();
  const params = parameters(spec);
  if (params.length) op.parameters = params;
  if (spec.body) {
    const contentType = spec.bodyMode === "multipart" ? "multipart/form-data" : "application/json";
    op.requestBody = {
      required: spec.method !== "PATCH",
      content: { [contentType]: { schema: schemaOf(spec.body, "input") } },
    };
  }
  return op;
}

/** The document for the routes registered so far. */
export function buildOpenApiDocument(publicUrl: string, routes: RegisteredRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const { spec } of routes) {
    if (!spec) continue;
    const path = openApiPath(spec.url);
    paths[path] ??= {};
    paths[path][spec.method.toLowerCase()] = operation(spec);
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "vidrelay — RelayDance v1 API",
      version: VERSION_STRING,
      description:
        "Upload reference media, submit a video generation task, poll it (or receive a webhook), download the mp4. " +
        'Every error is `{"error": {message, type, code, param}}`.',
      license: { name: "Apache-2.0" },
    },
    servers: [{ url: publicUrl }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "An API key: sk-…" } },
      schemas: openApiComponents(),
    },
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
  };
}
