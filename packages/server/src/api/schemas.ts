/**
 * The model object (docs/api.md §6) and the named schemas `/openapi.json` lists under
 * `components.schemas` (routes that answer with one of these refer to it by name).
 */
import { z } from "zod";
import { AUDIO_POLICIES, FITS, MODES, ModelFamilySchema, RATIOS, RESOLUTIONS } from "../catalog/models.ts";
import { FileList, FileObject } from "../files/schemas.ts";
import { ErrorBody, type JsonSchema, listEnvelope, toJsonSchema, UnixSeconds } from "../http/schema.ts";
import { ContentItem, SubmitBody, TaskCreated, TaskList, TaskObject } from "../tasks/schemas.ts";

export type { JsonSchema };

// ---------------------------------------------------------------------------------------------
// §6 Models

const Unsupported = z.object({ supported: z.literal(false) });

/** A vendor parameter a model takes with a default, or ignores (named for the SDK's generated types). */
export const ParameterSupport = z.union([
  z.object({ supported: z.literal(true), default: z.boolean() }),
  Unsupported,
]);

export const ModelObject = z
  .looseObject({
    id: z.string(),
    object: z.literal("model"),
    created: UnixSeconds,
    owned_by: z.literal("vidrelay"),
    name: z.string(),
    description: z.string(),
    family: ModelFamilySchema,
    modes: z
      .array(z.enum(MODES))
      .describe(
        "`text`: prompt only; `first_frame`: one image; `first_last_frame`: two images; `reference`: reference " +
          "images/videos/audio.",
      ),
    seconds: z.object({ min: z.int(), max: z.int(), default: z.int() }).describe("Whole seconds."),
    resolutions: z.object({ values: z.array(z.enum(RESOLUTIONS)), default: z.enum(RESOLUTIONS) }),
    ratios: z.object({
      values: z.array(z.enum(RATIOS)),
      default: z.enum(RATIOS).describe("Without media."),
      default_with_media: z.enum(RATIOS).describe("When metadata.content has media."),
    }),
    audio: z
      .object({ mode: z.enum(AUDIO_POLICIES), default: z.boolean() })
      .describe("`always`/`never`: generate_audio is fixed; `optional`: default applies when not sent."),
    references: z
      .object({
        images: z.int(),
        videos: z.int(),
        audios: z.int(),
        video_total_seconds: z.number(),
        audio_total_seconds: z.number(),
        total: z.int().describe("Media entries a request may carry in all."),
        audio_only: z.boolean().describe("Reference audio may come without an image or a video."),
      })
      .describe("Reference-mode limits; zero when the model has no reference mode."),
    input_image: z
      .object({
        min_side: z.int(),
        max_side: z.int().nullable(),
        max_aspect: z.number().describe("Longer side over shorter side."),
        max_bytes: z.int(),
      })
      .nullable()
      .describe("Constraints on every input image; null when none."),
    input_video: z.object({ max_seconds: z.number().nullable(), max_bytes: z.int().nullable() }).nullable(),
    input_audio: z.object({ max_seconds: z.number().nullable(), max_bytes: z.int().nullable() }).nullable(),
    parameters: z
      .object({
        seed: z.union([z.object({ supported: z.literal(true), min: z.int(), max: z.int() }), Unsupported]),
        watermark: ParameterSupport,
        camera_fixed: ParameterSupport,
        return_last_frame: ParameterSupport,
        fit: z
          .union([
            z.object({
              supported: z.literal(true),
              values: z.array(z.enum(FITS)),
              default: z.enum(FITS),
            }),
            Unsupported,
          ])
          .describe(
            "`metadata.fit`: supported where the output follows the first frame and the gateway conforms that " +
              'image to an asked ratio; elsewhere `"crop"` is ignored and `"pad"` refused.',
          ),
        priority: z
          .object({ supported: z.boolean() })
          .describe("`metadata.priority` (0–9): the upstream's scheduling priority (Ark / ModelArk)."),
      })
      .describe("Vendor parameters in metadata; unsupported ones are accepted and ignored."),
    keyframes: z
      .object({ max: z.int() })
      .describe("How many `keyframe` images a request may carry (0: none)."),
    operations: z
      .object({
        edit: z.object({ max_source_seconds: z.number() }).nullable(),
        extend: z
          .object({
            seconds: z.object({ min: z.int(), max: z.int(), default: z.int() }),
            max_source_seconds: z.number(),
          })
          .nullable(),
      })
      .describe(
        "Edit and extend (metadata.operation, /v1/videos/edits|extensions); null when the model cannot.",
      ),
    prompt: z.object({
      max_length: z.int(),
      required: z
        .enum(["always", "without_media", "never"])
        .describe("`without_media`: required when metadata.content is empty."),
    }),
    pricing: z.record(z.string(), z.unknown()).optional().describe("Price, when the gateway bills."),
    providers: z.array(z.string()).optional().describe("Provider channels that can serve the model."),
  })
  .meta({
    title: "Model",
    description: "A model and its capabilities: enough for a client to build its form.",
  });

export type ModelObject = z.infer<typeof ModelObject>;

export const ModelList = listEnvelope(ModelObject, "ModelList", false).describe(
  "The models this key may use (OpenAI list shape; not paginated: has_more, when present, is false).",
);

/** Named schemas for `components.schemas`, with the `io` each is used in. */
export const API_SCHEMAS: Record<string, { schema: z.ZodType; io: "input" | "output" }> = {
  SubmitBody: { schema: SubmitBody, io: "input" },
  ContentItem: { schema: ContentItem, io: "input" },
  TaskCreated: { schema: TaskCreated, io: "output" },
  Task: { schema: TaskObject, io: "output" },
  TaskList: { schema: TaskList, io: "output" },
  File: { schema: FileObject, io: "output" },
  FileList: { schema: FileList, io: "output" },
  Model: { schema: ModelObject, io: "output" },
  ModelList: { schema: ModelList, io: "output" },
  Error: { schema: ErrorBody, io: "output" },
};

/** `components.schemas` for the OpenAPI document: every schema above, self-contained. */

/** `components.schemas` for the OpenAPI document: every schema above, self-contained. */
export function openApiComponents(): Record<string, JsonSchema> {
  return Object.fromEntries(
    Object.entries(API_SCHEMAS).map(([name, s]) => [name, toJsonSchema(s.schema, s)]),
  );
}
