/**
 * OpenAI's Videos API shapes (the `openai` SDK's `client.videos`): the second door into the same
 * tasks. One zod schema per shape validates, types and documents it, as everywhere else.
 */
import { z } from "zod";
import { SUBMIT_LIMITS } from "../catalog/models.ts";
import { withErrorCode } from "../http/route.ts";

export const VideoStatus = z.enum(["queued", "in_progress", "completed", "failed"]);

export const InputReferenceJson = z
  .union([
    z.strictObject({ image_url: z.string().min(1).describe("An https URL or a data: URL of the image.") }),
    z.strictObject({ file_id: z.string().min(1).describe("A file uploaded with POST /v1/files.") }),
  ])
  .describe(
    "The first frame (or, for a model without first frames, a reference image). In a multipart " +
      "request it is the file part named `input_reference`.",
  );

export const VideoCreateBody = z
  .object({
    model: z
      .string({ error: "model is required: one of the ids GET /v1/models lists (there is no default model)" })
      .min(1)
      .describe("A model id from GET /v1/models (required: there is no default model)."),
    prompt: z
      .string({ error: "prompt is required: describe the video to make" })
      .min(1)
      .max(SUBMIT_LIMITS.promptMaxLength)
      .describe("What to generate."),
    seconds: z
      .union([z.string(), z.number()])
      .optional()
      .describe('Clip length in whole seconds, e.g. "4" (the model\'s range is in GET /v1/models).'),
    size: withErrorCode(z.string(), "invalid_size")
      .optional()
      .describe(
        "WIDTHxHEIGHT, one of the frames the model makes (e.g. 1280x720 for 720p 16:9). Default: the " +
          "model's default resolution, shaped like the input image or the model's default ratio.",
      ),
    input_reference: InputReferenceJson.optional(),
  })
  .meta({
    title: "OpenAiVideoCreate",
    description:
      "JSON, or multipart/form-data with the same fields and `input_reference` as a file part. Unknown " +
      "fields are refused.",
  });
export type VideoCreateBody = z.infer<typeof VideoCreateBody>;

/** The source of an edit or extension: a completed video's id (the file form is a multipart part). */
export const VideoReferenceJson = z
  .strictObject({ id: z.string().min(1).describe("The id of a completed video (task_…).") })
  .describe(
    "The video to edit or extend: {id} of a completed video, or in multipart a file part named `video`.",
  );

const operationFields = {
  prompt: z
    .string({ error: "prompt is required: say what the edit changes or what the extension shows" })
    .min(1)
    .max(SUBMIT_LIMITS.promptMaxLength),
  model: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Optional (OpenAI's API has none): the model that edits or extends. Default: the source video's " +
        "model, else the first model this gateway serves that can.",
    ),
  size: withErrorCode(z.string(), "invalid_size")
    .optional()
    .describe("Only the resolution is read (the shape follows the source video); default the model's."),
  video: VideoReferenceJson.optional(),
};

export const VideoEditBody = z.object(operationFields).meta({
  title: "OpenAiVideoEdit",
  description: "JSON with `video: {id}`, or multipart/form-data with the video as a file part named `video`.",
});

export const VideoExtendBody = z
  .object({
    ...operationFields,
    seconds: z
      .union([z.string(), z.number()])
      .describe("Seconds to add (the model's range is operations.extend.seconds in GET /v1/models)."),
  })
  .meta({
    title: "OpenAiVideoExtend",
    description:
      "JSON with `video: {id}`, or multipart/form-data with the video as a file part named `video`. The " +
      "result's `seconds` is the stitched total.",
  });
export type VideoOperationBody = Omit<z.output<typeof VideoExtendBody>, "video" | "seconds"> & {
  seconds?: string | number;
};

export const VideoRemixBody = z
  .object({ prompt: z.string().min(1).max(SUBMIT_LIMITS.promptMaxLength).describe("The new prompt.") })
  .meta({ title: "OpenAiVideoRemix" });

export const OpenAiVideo = z
  .object({
    id: z.string(),
    object: z.literal("video"),
    model: z.string(),
    status: VideoStatus,
    progress: z.int().min(0).max(100),
    prompt: z.string().nullable(),
    seconds: z.string(),
    size: z.string().describe('WIDTHxHEIGHT; "auto" while a task that follows its image has not finished.'),
    created_at: z.int(),
    completed_at: z.int().nullable(),
    expires_at: z.int().nullable(),
    remixed_from_video_id: z.string().nullable(),
    error: z.object({ code: z.string(), message: z.string() }).nullable(),
  })
  .meta({
    title: "OpenAiVideo",
    description:
      "A task in OpenAI's video shape; the same task is `GET /v1/video/generations/{id}` in the RelayDance shape.",
  });
export type OpenAiVideo = z.infer<typeof OpenAiVideo>;

export const OpenAiVideoList = z
  .object({
    object: z.literal("list"),
    data: z.array(OpenAiVideo),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  })
  .meta({ title: "OpenAiVideoList" });

export const OpenAiVideoDeleted = z
  .object({ id: z.string(), object: z.literal("video.deleted"), deleted: z.literal(true) })
  .meta({ title: "OpenAiVideoDeleted" });

export const VideoListQuery = z.object({
  after: z.string().optional().describe("The id of the last video of the previous page."),
  limit: withErrorCode(z.coerce.number().int().min(1).max(100), "invalid_limit")
    .default(20)
    .describe("1 to 100, default 20."),
  order: z.enum(["asc", "desc"]).default("desc").describe("By creation time; newest first by default."),
});

export const VideoContentQuery = z.object({
  variant: z
    .enum(["video", "thumbnail", "spritesheet"])
    .default("video")
    .describe(
      "`video` (mp4), `thumbnail` (JPEG, the first frame) or `spritesheet` (JPEG, 5×5 tiles 256 px wide, " +
        "tile k showing the middle of the k-th 25th of the clip, left to right, top to bottom).",
    ),
});
