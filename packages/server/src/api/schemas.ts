/**
 * Zod schemas of the RelayDance v1 request and response bodies (docs/api.md), written for
 * two uses: validating/typing bodies, and generating the OpenAPI 3.1 document (`toJsonSchema`).
 *
 * `SubmitBody` is deliberately loose (every compatibility form passes); the submit rules proper
 * live in catalog/validate.ts, which is what the API runs. The two agree on every documented field:
 * anything `normalizeSubmit` accepts, `SubmitBody` accepts too (test/catalog/validate.test.ts).
 */
import { z } from "zod";
import {
  AUDIO_POLICIES,
  MODEL_FAMILIES,
  MODES,
  RATIOS,
  RESOLUTIONS,
  SUBMIT_LIMITS,
} from "../catalog/models.ts";

const UnixSeconds = z.int().min(0).describe("Unix time, seconds.");

// ---------------------------------------------------------------------------------------------
// §1 Errors

export const ErrorType = z
  .enum([
    "invalid_request_error",
    "authentication_error",
    "permission_error",
    "insufficient_quota",
    "not_found_error",
    "idempotency_error",
    "rate_limit_error",
    "server_error",
    "upstream_error",
  ])
  .describe("Error class; the HTTP status follows from it (spec §1).");

export const ErrorBody = z
  .object({
    error: z.object({
      message: z.string().describe("What went wrong and what to do about it, for a person."),
      type: ErrorType,
      code: z
        .string()
        .describe(
          "Stable machine-readable code, e.g. `model_not_found`, `unsupported_by_model`, `invalid_url`.",
        ),
      param: z
        .string()
        .nullable()
        .describe(
          "JSON path of the offending request field, e.g. `metadata.content[2].role`; null when none.",
        ),
    }),
  })
  .meta({
    title: "Error",
    description: "Every error response has this body.",
    examples: [
      {
        error: {
          message: "seconds must be a whole number from 4 to 12 for seedance-1-5-pro-with-audio; got 15.",
          type: "invalid_request_error",
          code: "unsupported_by_model",
          param: "seconds",
        },
      },
    ],
  });

// ---------------------------------------------------------------------------------------------
// §3 Submit

const MediaUrl = (kind: "image" | "video" | "audio") =>
  z
    .object({
      url: z
        .string()
        .min(1)
        .describe(
          kind === "video"
            ? "An `https://` or `http://` URL (e.g. the `url` of an uploaded file). `data:` URLs are not accepted for video."
            : `An \`https://\` or \`http://\` URL (e.g. the \`url\` of an uploaded file), or a \`data:${kind}/…;base64,…\` URL.`,
        ),
    })
    .describe(`The ${kind}'s location.`);

const ImageContent = z
  .object({
    type: z.literal("image_url"),
    image_url: MediaUrl("image"),
    role: z
      .enum(["first_frame", "last_frame", "reference_image"])
      .nullish()
      .describe(
        "How the image is used. Frame roles (`first_frame`, `last_frame`) and reference roles cannot be mixed. " +
          "Omitted: `first_frame` when it is the request's only media, `reference_image` beside videos, audio or " +
          "other references; required when several images would otherwise be ambiguous. A single " +
          "`reference_image` on a model without reference mode is used as the first frame.",
      ),
  })
  .meta({ title: "ImageContent" });

const VideoContent = z
  .object({
    type: z.literal("video_url"),
    video_url: MediaUrl("video"),
    role: z.literal("reference_video").nullish().describe("Always `reference_video` (the default)."),
  })
  .meta({ title: "VideoContent" });

const AudioContent = z
  .object({
    type: z.literal("audio_url"),
    audio_url: MediaUrl("audio"),
    role: z.literal("reference_audio").nullish().describe("Always `reference_audio` (the default)."),
  })
  .meta({ title: "AudioContent" });

export const ContentItem = z.discriminatedUnion("type", [ImageContent, VideoContent, AudioContent]).meta({
  title: "ContentItem",
  description:
    "One input medium. Images, videos and audio tracks are numbered per kind in content[] order and can " +
    "be cited in the prompt as `@image1…@image9`, `@video1…@video3`, `@audio1…@audio3`.",
  examples: [{ type: "image_url", image_url: { url: "https://example.com/cat.jpg" }, role: "first_frame" }],
});

const Seconds = z
  .union([z.string().regex(/^\s*[+-]?\d+(\.0+)?\s*$/), z.int()])
  .describe('Whole seconds, as a string (documented form, e.g. `"5"`) or a number; range per model.');

const RatioField = z.enum(RATIOS).describe("Aspect ratio; `adaptive` follows the first image. Per model.");
const ResolutionField = z.enum(RESOLUTIONS).describe("Output resolution (lower case). Per model.");

export const SubmitMetadata = z
  .looseObject({
    ratio: RatioField.nullish(),
    resolution: ResolutionField.nullish(),
    generate_audio: z
      .boolean()
      .nullish()
      .describe(
        "Soundtrack on or off where the model makes it optional; must agree with always/never-audio models.",
      ),
    callback_url: z
      .string()
      .nullish()
      .describe("Absolute http(s) URL; the final task object is POSTed there (spec §5)."),
    content: z
      .array(ContentItem)
      .max(SUBMIT_LIMITS.entries)
      .nullish()
      .describe(
        "Input media: at most 9 images, 3 videos (≤ 15 s in all), 3 audio tracks (≤ 15 s), 12 entries.",
      ),
    seed: z
      .int()
      .min(SUBMIT_LIMITS.seedMin)
      .max(SUBMIT_LIMITS.seedMax)
      .nullish()
      .describe("-1 for random. Passed to models that support it (see the model's `parameters`)."),
    watermark: z.boolean().nullish().describe("Passed to models that support it."),
    camera_fixed: z.boolean().nullish().describe("Passed to models that support it."),
    return_last_frame: z
      .boolean()
      .nullish()
      .describe("Ask for `last_frame_url` on the task. Passed to models that support it."),
  })
  .meta({ title: "SubmitMetadata", description: "Vendor parameters and input media." });

export const SubmitBody = z
  .looseObject({
    model: z.string().min(1).describe("A model id from GET /v1/models."),
    prompt: z
      .string()
      .max(SUBMIT_LIMITS.promptMaxLength)
      .nullish()
      .describe("What to generate. Required without media; optional when metadata.content has media."),
    seconds: Seconds.nullish(),
    metadata: z
      .union([SubmitMetadata, z.string().describe("The same object, JSON-encoded.")])
      .nullish()
      .describe("An object, or a JSON string holding one."),
    duration: Seconds.nullish().describe(
      "Compatibility alias of `seconds`; must agree with it when both are sent.",
    ),
    ratio: RatioField.nullish().describe(
      "Compatibility alias of `metadata.ratio`; must agree when both are sent.",
    ),
    resolution: ResolutionField.nullish().describe(
      "Compatibility alias of `metadata.resolution`; must agree when both are sent.",
    ),
  })
  .meta({
    title: "SubmitBody",
    description:
      "Create a video task. Unknown top-level fields are ignored. `callback_url` belongs in `metadata`; a " +
      "top-level one is refused.",
    examples: [
      {
        model: "seedance-1-5-pro-with-audio",
        prompt: "@image1 the cat slowly turns its head and meows",
        seconds: "5",
        metadata: {
          ratio: "16:9",
          resolution: "720p",
          content: [
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg" }, role: "reference_image" },
          ],
        },
      },
    ],
  });

export type SubmitBody = z.infer<typeof SubmitBody>;
export type ContentItem = z.infer<typeof ContentItem>;

export const TaskStatus = z
  .enum(["submitted", "running", "succeeded", "failed"])
  .describe(
    "Exactly four statuses; cancelled and expired tasks are `failed` with error.code `cancelled`/`expired`.",
  );

export const TaskCreated = z
  .object({
    task_id: z.string().describe("`task_` plus 32 alphanumerics."),
    id: z.string().describe("Same as task_id."),
    object: z.literal("video"),
    model: z.string(),
    status: z.literal("submitted"),
    progress: z.literal(0),
    created_at: UnixSeconds,
  })
  .meta({ title: "TaskCreated", description: "Response to a submit." });

// ---------------------------------------------------------------------------------------------
// §4 Task object

export const TaskMetadataEcho = z
  .looseObject({
    ratio: z.enum(RATIOS),
    resolution: z.enum(RESOLUTIONS),
    generate_audio: z.boolean(),
    seed: z.int().optional(),
    watermark: z.boolean().optional(),
    camera_fixed: z.boolean().optional(),
    return_last_frame: z.boolean().optional(),
  })
  .meta({
    title: "TaskMetadata",
    description:
      "Echo of the request's vendor parameters, after defaults (ratio, resolution, generate_audio always; the " +
      "others when sent and supported by the model), without content and callback_url.",
  });

export const TaskObject = z
  .object({
    task_id: z.string(),
    id: z.string(),
    object: z.literal("video"),
    model: z.string(),
    status: TaskStatus,
    progress: z.int().min(0).max(100),
    prompt: z.string(),
    seconds: z.string().describe("Requested whole seconds, as a string."),
    metadata: TaskMetadataEcho,
    provider: z
      .string()
      .optional()
      .describe(
        'Who serves the task: an upstream provider such as "ark", or "local" (the built-in engine; not AI).',
      ),
    url: z.string().optional().describe("Succeeded only: the re-hosted mp4, public until expires_at."),
    thumbnail_url: z.string().optional().describe("Succeeded only: a JPEG poster frame."),
    format: z.literal("mp4").optional(),
    last_frame_url: z.string().optional().describe("PNG of the last frame, when asked for or returned."),
    video: z
      .object({
        width: z.int(),
        height: z.int(),
        duration: z.number(),
        fps: z.number(),
        has_audio: z.boolean(),
        bytes: z.int(),
      })
      .optional()
      .describe("Succeeded only: what was produced."),
    usage: z
      .object({
        seconds: z.number(),
        resolution: z.enum(RESOLUTIONS),
        cost: z.string().describe("Decimal string, e.g. `0.3500`."),
        currency: z.string(),
      })
      .optional(),
    error: z
      .object({ code: z.string(), message: z.string() })
      .optional()
      .describe("Failed only. `cancelled` and `expired` are codes here."),
    created_at: UnixSeconds,
    started_at: UnixSeconds.nullish(),
    completed_at: UnixSeconds.nullish(),
    expires_at: UnixSeconds.nullish().describe("When `url` stops working."),
  })
  .meta({ title: "Task", description: "A video generation task (spec §4)." });

export type TaskObject = z.infer<typeof TaskObject>;

// ---------------------------------------------------------------------------------------------
// §2 Files

export const FileObject = z
  .object({
    id: z.string().describe("`file_…`"),
    object: z.literal("file"),
    url: z
      .string()
      .describe("Unguessable capability URL: anyone may GET it (Range supported) until expires_at."),
    filename: z.string(),
    bytes: z.int().min(0),
    content_type: z.string().describe("Sniffed from the bytes."),
    kind: z.enum(["image", "video", "audio"]).optional(),
    width: z.int().nullish(),
    height: z.int().nullish(),
    duration: z.number().nullish().describe("Seconds, for video and audio."),
    created_at: UnixSeconds,
    expires_at: UnixSeconds,
  })
  .meta({ title: "File", description: "An uploaded reference medium (spec §2)." });

// ---------------------------------------------------------------------------------------------
// §6 Models

const Unsupported = z.object({ supported: z.literal(false) });

export const ModelObject = z
  .looseObject({
    id: z.string(),
    object: z.literal("model"),
    created: UnixSeconds,
    owned_by: z.literal("vidrelay"),
    name: z.string(),
    description: z.string(),
    family: z.enum(MODEL_FAMILIES),
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
        watermark: z.union([z.object({ supported: z.literal(true), default: z.boolean() }), Unsupported]),
        camera_fixed: z.union([z.object({ supported: z.literal(true), default: z.boolean() }), Unsupported]),
        return_last_frame: z.union([
          z.object({ supported: z.literal(true), default: z.boolean() }),
          Unsupported,
        ]),
      })
      .describe("Vendor parameters in metadata; unsupported ones are accepted and ignored."),
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

// ---------------------------------------------------------------------------------------------
// Lists

export function listEnvelope<T extends z.ZodType>(item: T, title: string, paginated = true) {
  return z
    .object({
      object: z.literal("list"),
      data: z.array(item),
      has_more: paginated ? z.boolean() : z.boolean().optional(),
      next_cursor: z
        .string()
        .nullish()
        .describe("Pass as `after` to get the next page; null or absent on the last."),
    })
    .meta({ title });
}

export const ModelList = listEnvelope(ModelObject, "ModelList", false).describe(
  "The models this key may use (OpenAI list shape; not paginated: has_more, when present, is false).",
);
export const TaskList = listEnvelope(TaskObject, "TaskList");
export const FileList = listEnvelope(FileObject, "FileList");

// ---------------------------------------------------------------------------------------------
// OpenAPI

export type JsonSchema = Record<string, unknown>;

/**
 * A self-contained JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1 Schema Objects) for
 * embedding in an OpenAPI 3.1 document: no `$schema`, no `$defs`/`$ref` (everything inlined), and
 * no `additionalProperties` (clients must tolerate new fields; unknown request fields are ignored).
 * Use `io: "input"` for request bodies, `"output"` (default) for responses.
 */
export function toJsonSchema(schema: z.ZodType, options: { io?: "input" | "output" } = {}): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: options.io ?? "output",
    unrepresentable: "any",
    reused: "inline",
    cycles: "throw",
    override: ({ jsonSchema }) => {
      const node = jsonSchema as JsonSchema;
      delete node.additionalProperties;
      // z.int() bounds itself to the safe-integer range; that is noise in the document.
      if (node.maximum === Number.MAX_SAFE_INTEGER) delete node.maximum;
      if (node.minimum === Number.MIN_SAFE_INTEGER) delete node.minimum;
    },
  }) as JsonSchema;
  delete json.$schema;
  return json;
}

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
export function openApiComponents(): Record<string, JsonSchema> {
  return Object.fromEntries(
    Object.entries(API_SCHEMAS).map(([name, s]) => [name, toJsonSchema(s.schema, s)]),
  );
}
