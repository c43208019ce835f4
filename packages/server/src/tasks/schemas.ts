/**
 * Zod schemas of the task routes' bodies (docs/api.md §3 submit, §4 the task object): they
 * validate, type and document them (http/route.ts).
 *
 * `SubmitBody` is deliberately loose (every compatibility form passes); the submit rules proper
 * live in catalog/validate.ts, which is what the API runs. The two agree on every documented field:
 * anything `normalizeSubmit` accepts, `SubmitBody` accepts too (test/catalog/validate.test.ts).
 */
import { z } from "zod";
import { FITS, RATIOS, RESOLUTIONS, SUBMIT_LIMITS } from "../catalog/models.ts";
import { listEnvelope, UnixSeconds } from "../http/schema.ts";

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

/** How an image is used (`ImageContent.role`); named so clients get one type for it. */
export const ImageRole = z.enum(["first_frame", "last_frame", "reference_image", "keyframe"]);

export const ImageContent = z
  .object({
    type: z.literal("image_url"),
    image_url: MediaUrl("image"),
    role: ImageRole.nullish().describe(
      "How the image is used. Frame roles (`first_frame`, `last_frame`) and reference roles cannot be mixed. " +
        "Omitted: `first_frame` when it is the request's only media, `reference_image` beside videos, audio or " +
        "other references; required when several images would otherwise be ambiguous. A single " +
        "`reference_image` on a model without reference mode is used as the first frame. `keyframe`: the " +
        "clip passes through the image at `at` seconds (models with `keyframes.max` > 0).",
    ),
    at: z
      .number()
      .nullish()
      .describe(
        "A `keyframe`'s time in seconds: strictly inside the clip, on a 1/3 s grid (docs/api.md §3.1).",
      ),
  })
  .meta({ title: "ImageContent" });

export const VideoContent = z
  .object({
    type: z.literal("video_url"),
    video_url: MediaUrl("video"),
    role: z
      .enum(["reference_video", "source_video"])
      .nullish()
      .describe(
        "`reference_video` (the default), or `source_video`: the video an edit or extension works on " +
          "(with `metadata.operation`; the default for the only video of such a request).",
      ),
  })
  .meta({ title: "VideoContent" });

export const AudioContent = z
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
    "be cited in the prompt as `@image1`, `@video1`, `@audio1`, ….",
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
      .describe("Absolute http(s) URL; the final task object is POSTed there (docs/api.md §5)."),
    content: z
      .array(ContentItem)
      .max(SUBMIT_LIMITS.entries)
      .nullish()
      .describe(
        "Input media, within the model's `references` (Seedance 2.0: 9 images, 3 videos ≤ 15 s in all, 3 " +
          "audio tracks ≤ 15 s, 12 entries; never more than 30, 10, 10 and 50).",
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
    fit: z
      .enum(FITS)
      .nullish()
      .describe(
        "How the first frame meets an asked `ratio` on a model whose output follows its image (see the " +
          "model's `parameters.fit`): `crop` (default) cuts out the centre, `pad` letterboxes with black " +
          'bars. Other models ignore `"crop"` and refuse `"pad"`.',
      ),
    priority: z
      .int()
      .min(0)
      .max(9)
      .nullish()
      .describe("Upstream scheduling priority, 0 (default) to 9. Passed to models that support it (Ark)."),
    operation: z
      .enum(["edit", "extend"])
      .nullish()
      .describe(
        "Work on an existing video (docs/api.md §3.2): `edit` changes it as the prompt says, `extend` adds " +
          "`seconds` to it. The source is `source_task_id` or a `source_video` content entry.",
      ),
    source_task_id: z
      .string()
      .nullish()
      .describe("The source of an edit or extension: a succeeded task of this account (`task_…`)."),
    deadline_seconds: z
      .int()
      .min(60)
      .max(259_200)
      .nullish()
      .describe(
        "Fail with `deadline_exceeded` (cancelled upstream where possible, never billed) if unfinished this " +
          "long after acceptance: 60 s to 72 h. Passed to providers that take a deadline.",
      ),
  })
  .meta({ title: "SubmitMetadata", description: "Vendor parameters, input media and operations." });

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
    fit: z.enum(FITS).optional().describe("When the first frame was conformed to the ratio."),
    priority: z.int().optional(),
    operation: z.enum(["edit", "extend"]).optional().describe("An edit or extension (docs/api.md §3.2)."),
    source_task_id: z.string().optional().describe("The task whose video it edits or extends."),
    source_seconds: z.number().optional().describe("The source's length, when the gateway could probe it."),
    deadline_seconds: z.int().optional().describe("The task's deadline (metadata.deadline_seconds)."),
    edits: z
      .array(z.string())
      .optional()
      .describe("A local-engine edit: the edits it recognised in the prompt, in the order it applies them."),
  })
  .meta({
    title: "TaskMetadata",
    description:
      "Echo of the request's vendor parameters, after defaults (ratio, resolution, generate_audio always; the " +
      "others when sent and supported by the model), without content and callback_url.",
  });

// The task's parts, named (not inlined) so the SDK's generated types can name them too.
export const VideoInfo = z.object({
  width: z.int(),
  height: z.int(),
  duration: z.number(),
  fps: z.number(),
  has_audio: z.boolean(),
  bytes: z.int(),
});

export const TaskUsage = z.object({
  seconds: z.number(),
  resolution: z.enum(RESOLUTIONS),
  cost: z.string().describe("Decimal string, e.g. `0.3500`."),
  currency: z.string(),
});

export const TaskError = z.object({ code: z.string(), message: z.string() });

export const TaskObject = z
  .object({
    task_id: z.string(),
    id: z.string(),
    object: z.literal("video"),
    model: z.string(),
    status: TaskStatus,
    progress: z.int().min(0).max(100),
    cancellable: z
      .boolean()
      .describe(
        "Whether `POST …/cancel` can still stop the task. False once it has finished, and while it runs " +
          "at a provider that cannot stop started tasks (it then runs to its end and is settled as usual).",
      ),
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
    video: VideoInfo.optional().describe("Succeeded only: what was produced."),
    usage: TaskUsage.optional(),
    error: TaskError.optional().describe("Failed only. `cancelled` and `expired` are codes here."),
    created_at: UnixSeconds,
    started_at: UnixSeconds.nullish(),
    completed_at: UnixSeconds.nullish(),
    expires_at: UnixSeconds.nullish().describe("When `url` stops working."),
  })
  .meta({ title: "Task", description: "A video generation task (docs/api.md §4)." });

export type TaskObject = z.infer<typeof TaskObject>;

export const TaskList = listEnvelope(TaskObject, "TaskList");
export type VideoInfo = z.infer<typeof VideoInfo>;

// ---------------------------------------------------------------------------------------------
// §3.3 Estimate

export const TaskEstimate = z
  .object({
    object: z.literal("estimate"),
    model: z.string(),
    seconds: z.string().describe("The seconds the task would be held for (an edit: its longest source)."),
    resolution: z.enum(RESOLUTIONS),
    provider: z.string().describe("Who would serve it now: a provider (ark, xai, …) or local."),
    service_tier: z.enum(["default"]).describe("The upstream tier that would serve it."),
    currency: z.string(),
    amount: z.string().describe("What the submit would hold: its worst-case price (4 decimals)."),
    amount_micros: z.int().describe("The same in micro-units (exact)."),
    free: z.boolean().describe("A test key's task or a free local render: nothing held or charged."),
    price: z
      .object({
        version: z.int(),
        per_second: z.record(z.string(), z.string()),
        per_clip: z.string(),
      })
      .nullable()
      .describe("The price lines it would be held under (null: the model has no price)."),
    allowed: z.boolean().describe("Whether the submit would be accepted now (balance, limits, concurrency)."),
    refusal: z
      .object({ code: z.string(), type: z.string(), message: z.string(), status: z.int() })
      .nullable()
      .describe("The refusal the submit would get, when not allowed."),
  })
  .meta({
    title: "TaskEstimate",
    description:
      "What a submit with this body would cost and whether it would be accepted; nothing is created.",
  });
export type TaskEstimate = z.infer<typeof TaskEstimate>;
