/** Request and response bodies of the model administration routes (`/v1/admin/models`). */
import { z } from "zod";
import { DeclaredPricing, ModelDeclarationSchema } from "../catalog/declaration.ts";
import { UnixSeconds } from "../http/schema.ts";

const UpstreamModels = z
  .record(z.string().max(64), z.string().max(200))
  .describe(
    'channel id → the upstream model id on that channel, e.g. {"ch_ark": "doubao-seedance-2-0-260128"}',
  );

const Controls = {
  enabled: z
    .boolean()
    .optional()
    .describe("false disables the model: not listed, new submits refused, its tasks still settle"),
  note: z.string().max(500).nullable().optional().describe("why (kept with the version)"),
  upstream_models: UpstreamModels.optional(),
  pricing: DeclaredPricing.optional().describe(
    "price lines; a new price version when they differ from the current price",
  ),
};

/** `PUT /v1/admin/models/{id}`: the whole declaration (its `id` may be left out: the path says it). */
export const ModelPutBody = ModelDeclarationSchema.omit({ pricing: true })
  .extend({ id: ModelDeclarationSchema.shape.id.optional(), ...Controls })
  .meta({ title: "ModelPutInput" });
export type ModelPutBody = z.output<typeof ModelPutBody>;

/** `PATCH /v1/admin/models/{id}`: the top-level declaration fields to replace, and the controls. */
export const ModelPatchBody = z
  .looseObject(Controls)
  .describe(
    "Any top-level field of a declaration replaces the current one; the result is validated as a whole.",
  )
  .meta({ title: "ModelPatchInput" });
export type ModelPatchBody = z.output<typeof ModelPatchBody>;

export const ModelEntryObject = z
  .object({
    object: z.literal("model_declaration"),
    id: z.string(),
    enabled: z.boolean(),
    builtin: z
      .boolean()
      .describe("shipped in the built-in catalog (version 0 until the operator changes it)"),
    version: z.int(),
    note: z.string().nullable(),
    updated_by: z.string().nullable(),
    updated_at: UnixSeconds.nullable(),
    upstream_models: UpstreamModels,
    declaration: ModelDeclarationSchema,
  })
  .meta({ title: "ModelDeclarationEntry" });

export const ModelEntryList = z
  .object({ object: z.literal("list"), data: z.array(ModelEntryObject), has_more: z.boolean() })
  .meta({ title: "ModelDeclarationList" });

export const ModelVersionList = z
  .object({
    object: z.literal("list"),
    data: z.array(
      z.object({
        version: z.int(),
        enabled: z.boolean(),
        note: z.string().nullable(),
        created_by: z.string().nullable(),
        created_at: UnixSeconds,
        declaration: z.unknown(),
      }),
    ),
    has_more: z.boolean(),
  })
  .meta({ title: "ModelVersionList" });
