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
    .describe("`video` (mp4) or `thumbnail` (JPEG); `spritesheet` is not made here (400)."),
});
