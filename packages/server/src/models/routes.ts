/** Model administration (admin keys): models as data, versioned, without a release (docs/models.md). */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { invalid } from "../domain/errors.ts";
import { route } from "../http/route.ts";
import { unixSeconds } from "../util/ids.ts";
import type { ModelEntry, ModelRegistry } from "./registry.ts";
import {
  ModelEntryList,
  ModelEntryObject,
  ModelPatchBody,
  ModelPutBody,
  ModelVersionList,
} from "./schemas.ts";

const ModelParams = z.object({ model_id: z.string().max(100).describe("a catalog model id") });
const common = { tag: "Models", auth: "admin" } as const;

const toApi = (entry: ModelEntry) => ({
  object: "model_declaration" as const,
  ...entry,
  updated_at: unixSeconds(entry.updated_at) ?? null,
});

export async function modelAdminRoutes(
  app: FastifyInstance,
  { models }: { models: ModelRegistry },
): Promise<void> {
  route(app, {
    ...common,
    method: "GET",
    url: "/v1/admin/models",
    operationId: "listModelDeclarations",
    summary: "Every model the gateway knows, disabled ones included, with its declaration",
    response: ModelEntryList,
    errors: [401, 403],
  })(async () => ({ object: "list", data: (await models.list()).map(toApi), has_more: false }));

  route(app, {
    ...common,
    method: "GET",
    url: "/v1/admin/models/:model_id",
    operationId: "getModelDeclaration",
    summary: "One model's declaration, state and upstream ids",
    params: ModelParams,
    response: ModelEntryObject,
    errors: [401, 403, 404],
  })(async ({ params }) => toApi(await models.get(params.model_id)));

  route(app, {
    ...common,
    method: "GET",
    url: "/v1/admin/models/:model_id/versions",
    operationId: "listModelVersions",
    summary: "Every version the operator wrote of a model, newest first",
    params: ModelParams,
    response: ModelVersionList,
    errors: [401, 403, 404],
  })(async ({ params }) => ({
    object: "list",
    data: (await models.versions(params.model_id)).map((v) => ({
      version: v.version,
      enabled: v.enabled === 1,
      note: v.note,
      created_by: v.created_by,
      created_at: unixSeconds(Number(v.created_at))!,
      declaration: JSON.parse(v.declaration_json) as unknown,
    })),
    has_more: false,
  }));

  route(app, {
    ...common,
    method: "PUT",
    url: "/v1/admin/models/:model_id",
    operationId: "putModelDeclaration",
    summary: "Add a model, or write a new version of one (built-in or not); takes effect on every process",
    params: ModelParams,
    body: ModelPutBody,
    response: ModelEntryObject,
    errors: [400, 401, 403],
  })(async ({ request, params, body }) => {
    const { enabled, note, upstream_models, pricing, ...declaration } = body;
    if (declaration.id !== undefined && declaration.id !== params.model_id) {
      throw invalid(
        "conflicting_parameters",
        `id says ${declaration.id} but the path says ${params.model_id}`,
        "id",
      );
    }
    const entry = await models.declare(
      { ...declaration, id: params.model_id },
      { enabled, note, upstreamModels: upstream_models, pricing, by: request.principal.key.id },
    );
    return toApi(entry);
  });

  route(app, {
    ...common,
    method: "PATCH",
    url: "/v1/admin/models/:model_id",
    operationId: "updateModelDeclaration",
    summary: "Change some fields of a model (or enable/disable it) as a new version",
    params: ModelParams,
    body: ModelPatchBody,
    response: ModelEntryObject,
    errors: [400, 401, 403, 404],
  })(async ({ request, params, body }) => {
    const { enabled, note, upstream_models, pricing, ...fields } = body;
    const entry = await models.update(params.model_id, fields, {
      enabled,
      note,
      upstreamModels: upstream_models,
      pricing,
      by: request.principal.key.id,
    });
    return toApi(entry);
  });
}
