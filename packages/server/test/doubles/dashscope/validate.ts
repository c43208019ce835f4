import sharp from "sharp";
import type { MediaMeta } from "../lib/double.ts";

/**
 * Create-request validation for the HappyHorse-on-DashScope double (docs/providers.md §2.1, §7.2):
 * the `{model, input, parameters}` envelope, per-model media counts, upper-case resolution,
 * integer duration in 3–15, no ratio on i2v/edit, no duration on edit, seed range, legacy `img_url`.
 */

export type HhTask = "t2v" | "i2v" | "r2v" | "edit";

export const MODELS: Record<string, HhTask> = {
  "happyhorse-1.0-t2v": "t2v",
  "happyhorse-1.0-i2v": "i2v",
  "happyhorse-1.0-r2v": "r2v",
  "happyhorse-1.0-video-edit": "edit",
  "happyhorse-1.1-t2v": "t2v",
  "happyhorse-1.1-i2v": "i2v",
  "happyhorse-1.1-r2v": "r2v",
};

export const RESOLUTIONS = ["720P", "1080P"] as const;
export const RATIOS = ["16:9", "9:16", "1:1", "4:3", "3:4"] as const;
const IMAGE_FORMATS = ["jpeg", "jpg", "png", "webp", "bmp"];
const MB = 1024 * 1024;

export class DsRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

const invalid = (message: string) => new DsRequestError("InvalidParameter", message);

export interface Markers {
  /** Sync input moderation: 400 DataInspectionFailed. */
  moderate?: boolean;
  /** Async failure code (e.g. DataInspectionFailed for output moderation). */
  fail?: string;
  stuck?: boolean;
  queueSec?: number;
  runSec?: number;
  /** The media "cannot be downloaded": async FAILED InvalidParameter. */
  badMedia?: boolean;
}

export interface MediaItem {
  type: "first_frame" | "reference_image" | "video";
  url: string;
  /** Facts known at submit (declared, or decoded from a data: URL). */
  meta?: MediaMeta;
}

export interface CreateParams {
  model: string;
  task: HhTask;
  prompt: string;
  /** What DashScope echoes as orig_prompt (truncated like the real service). */
  origPrompt: string;
  media: MediaItem[];
  resolution: (typeof RESOLUTIONS)[number];
  ratio?: string;
  duration: number;
  watermark: boolean;
  seed: number;
  audioSetting?: string;
  markers: Markers;
}

const MARKER_RE = /\[\[([a-z-]+)(?::([^\]]*))?\]\]/g;

/** Test markers in the prompt: `[[moderate]]`, `[[moderate:output]]`, `[[fail:CODE]]`, `[[stuck]]`, `[[queue:s]]`, `[[run:s]]`, `[[bad-media]]`. */
export function parseMarkers(text: string): Markers {
  const markers: Markers = {};
  for (const m of text.matchAll(MARKER_RE)) {
    const args = m[2]?.split(":") ?? [];
    const num = Number(args[0]);
    switch (m[1]) {
      case "moderate":
        if (args[0] === "output") markers.fail = "DataInspectionFailed";
        else markers.moderate = true;
        break;
      case "fail":
        markers.fail = args[0] || "InternalError";
        break;
      case "stuck":
        markers.stuck = true;
        break;
      case "queue":
        if (Number.isFinite(num)) markers.queueSec = num;
        break;
      case "run":
        if (Number.isFinite(num)) markers.runSec = num;
        break;
      case "bad-media":
        markers.badMedia = true;
        break;
    }
  }
  return markers;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Prompt limit: 5,000 non-CJK or 2,500 CJK characters; longer prompts are truncated, not refused. */
function truncatePrompt(prompt: string): string {
  const cjk = /[\u3400-\u9fff\uf900-\ufaff]/.test(prompt);
  const max = cjk ? 2500 : 5000;
  return [...prompt].slice(0, max).join("");
}

export interface ValidateOptions {
  dataUrls: "accept" | "reject";
  media: (url: string, index: number) => MediaMeta | undefined;
  rng: { int(min: number, max: number): number };
}

export async function validateCreate(body: unknown, options: ValidateOptions): Promise<CreateParams> {
  if (!isObject(body)) throw invalid("The request body must be a JSON object.");
  const model = body.model;
  if (typeof model !== "string" || model === "") throw invalid("Model not specified.");
  const task = MODELS[model];
  if (!task) throw new DsRequestError("Model.NotFound", `Model not exist: ${model}.`, 404);
  const input = body.input;
  if (!isObject(input)) throw invalid("Field required: input.");
  const parameters = body.parameters === undefined ? {} : body.parameters;
  if (!isObject(parameters)) throw invalid("parameters must be an object.");

  if ("img_url" in input)
    throw invalid(
      "The legacy field input.img_url is not supported by this model; send input.media with type first_frame.",
    );
  if (task === "i2v") {
    for (const field of ["negative_prompt", "last_frame_url", "driving_audio", "audio_url"])
      if (field in input) throw invalid(`input.${field} is not supported by ${model}.`);
    if ("prompt_extend" in parameters)
      throw invalid(`parameters.prompt_extend is not supported by ${model}.`);
  }

  // prompt
  let prompt = "";
  if (input.prompt !== undefined) {
    if (typeof input.prompt !== "string") throw invalid("input.prompt must be a string.");
    prompt = input.prompt;
  }
  if (task !== "i2v" && prompt.trim() === "") throw invalid(`input.prompt is required for ${model}.`);
  const markers = parseMarkers(prompt);

  // media
  const rawMedia = input.media === undefined ? [] : input.media;
  if (!Array.isArray(rawMedia)) throw invalid("input.media must be an array.");
  const media: MediaItem[] = [];
  for (const [i, item] of rawMedia.entries()) {
    if (!isObject(item)) throw invalid(`input.media[${i}] must be an object {type, url}.`);
    const type = item.type;
    if (type !== "first_frame" && type !== "reference_image" && type !== "video")
      throw invalid(
        `input.media[${i}].type must be one of first_frame, reference_image, video; got ${String(type)}.`,
      );
    if (typeof item.url !== "string" || item.url === "") throw invalid(`input.media[${i}].url is required.`);
    media.push({ type, url: item.url });
  }
  const count = (type: MediaItem["type"]) => media.filter((m) => m.type === type).length;
  switch (task) {
    case "t2v":
      if (media.length > 0) throw invalid(`${model} takes no input.media.`);
      break;
    case "i2v":
      if (media.length !== 1 || count("first_frame") !== 1)
        throw invalid(
          `${model} needs exactly one input.media item of type first_frame; got ${media.length} item(s).`,
        );
      break;
    case "r2v":
      if (count("reference_image") !== media.length || media.length < 1 || media.length > 9)
        throw invalid(
          `${model} needs 1 to 9 input.media items of type reference_image; got ${media.length}.`,
        );
      break;
    case "edit":
      if (count("video") !== 1 || count("reference_image") !== media.length - 1 || media.length > 6)
        throw invalid(`${model} needs exactly one video and 0 to 5 reference_image items.`);
      break;
  }
  for (const [i, item] of media.entries()) item.meta = await checkMediaUrl(item, i, task, options);

  // parameters
  const resolution = parameters.resolution ?? "1080P";
  if (typeof resolution !== "string" || !(RESOLUTIONS as readonly string[]).includes(resolution)) {
    const hint =
      typeof resolution === "string" && (RESOLUTIONS as readonly string[]).includes(resolution.toUpperCase())
        ? ` (upper case: "${resolution.toUpperCase()}")`
        : "";
    throw invalid(
      `parameters.resolution must be one of 720P, 1080P${hint}; got ${JSON.stringify(resolution)}.`,
    );
  }
  let ratio: string | undefined;
  if (parameters.ratio !== undefined) {
    if (task === "i2v" || task === "edit")
      throw invalid(
        `parameters.ratio is not supported by ${model}: the output follows the input ${task === "i2v" ? "image" : "video"}.`,
      );
    if (typeof parameters.ratio !== "string" || !(RATIOS as readonly string[]).includes(parameters.ratio))
      throw invalid(
        `parameters.ratio must be one of ${RATIOS.join(", ")}; got ${JSON.stringify(parameters.ratio)}.`,
      );
    ratio = parameters.ratio;
  } else if (task === "t2v" || task === "r2v") ratio = "16:9";
  let duration = 5;
  if (parameters.duration !== undefined) {
    if (task === "edit")
      throw invalid(`parameters.duration is not supported by ${model}: the output keeps the input's length.`);
    if (typeof parameters.duration !== "number" || !Number.isInteger(parameters.duration))
      throw invalid(
        `parameters.duration must be an integer number of seconds; got ${JSON.stringify(parameters.duration)}.`,
      );
    if (parameters.duration < 3 || parameters.duration > 15)
      throw invalid(`parameters.duration must be between 3 and 15; got ${parameters.duration}.`);
    duration = parameters.duration;
  }
  if (task === "edit") {
    const video = media.find((m) => m.type === "video");
    duration = Math.min(15, Math.round(video?.meta?.durationSec ?? 5));
  }
  let watermark = true;
  if (parameters.watermark !== undefined) {
    if (typeof parameters.watermark !== "boolean")
      throw invalid("parameters.watermark must be true or false.");
    watermark = parameters.watermark;
  }
  let seed = options.rng.int(0, 2147483647);
  if (parameters.seed !== undefined) {
    if (
      typeof parameters.seed !== "number" ||
      !Number.isInteger(parameters.seed) ||
      parameters.seed < 0 ||
      parameters.seed > 2147483647
    )
      throw invalid(
        `parameters.seed must be an integer in [0, 2147483647]; got ${JSON.stringify(parameters.seed)}.`,
      );
    seed = parameters.seed;
  }
  let audioSetting: string | undefined;
  if (parameters.audio_setting !== undefined) {
    if (task !== "edit") throw invalid(`parameters.audio_setting is only supported by the video-edit model.`);
    if (parameters.audio_setting !== "auto" && parameters.audio_setting !== "origin")
      throw invalid("parameters.audio_setting must be auto or origin.");
    audioSetting = parameters.audio_setting;
  } else if (task === "edit") audioSetting = "auto";

  return {
    model,
    task,
    prompt,
    origPrompt: truncatePrompt(prompt),
    media,
    resolution: resolution as CreateParams["resolution"],
    ratio,
    duration,
    watermark,
    seed,
    audioSetting,
    markers,
  };
}

/** URL shape and (for data: URLs, or declared facts) the image limits of docs/providers.md §2.1. */
async function checkMediaUrl(
  item: MediaItem,
  index: number,
  task: HhTask,
  options: ValidateOptions,
): Promise<MediaMeta | undefined> {
  const where = `input.media[${index}]`;
  let meta = options.media(item.url, index);
  if (item.url.startsWith("data:")) {
    if (options.dataUrls === "reject")
      throw invalid(
        `${where}.url: base64 data URLs are not accepted; use a public http(s) URL or an OSS temporary URL.`,
      );
    if (item.type === "video") throw invalid(`${where}.url: a video must be a public http(s) URL.`);
    const m = /^data:image\/([a-z0-9.+-]+);base64,([A-Za-z0-9+/=\s]+)$/i.exec(item.url);
    if (!m)
      throw invalid(`${where}.url is not a valid base64 image data URL (data:image/<format>;base64,...).`);
    const format = (m[1] ?? "").toLowerCase();
    if (!IMAGE_FORMATS.includes(format))
      throw invalid(`${where}: image format ${format} is not supported; use JPEG, PNG, WEBP or BMP.`);
    if (!meta) {
      const bytes = Buffer.from(m[2] ?? "", "base64");
      try {
        const info = await sharp(bytes).metadata();
        meta = { width: info.width, height: info.height, format: info.format, bytes: bytes.length };
      } catch {
        throw invalid(`${where}: the image data cannot be decoded.`);
      }
    }
  } else if (!/^(https?|oss):\/\//i.test(item.url)) {
    throw invalid(`${where}.url must be a public http(s) URL or an OSS temporary URL.`);
  }
  if (meta) {
    const problem = imageProblem(item.type, task, meta);
    if (problem) throw invalid(`${where}: ${problem}`);
  }
  return meta;
}

/** The image limits; undefined when the image is fine (or the facts are unknown). */
export function imageProblem(type: MediaItem["type"], task: HhTask, meta: MediaMeta): string | undefined {
  if (type === "video") {
    if (meta.durationSec !== undefined && (meta.durationSec < 3 || meta.durationSec > 60))
      return `the video must last 3 to 60 s; it lasts ${meta.durationSec} s.`;
    if (meta.bytes !== undefined && meta.bytes > 100 * MB) return "the video must be at most 100 MB.";
    return undefined;
  }
  const { width, height, bytes } = meta;
  if (bytes !== undefined && bytes > 10 * MB) return `the image must be at most 10 MB; it is ${bytes} bytes.`;
  if (width === undefined || height === undefined) return undefined;
  const min = type === "reference_image" && task === "r2v" ? 400 : 300;
  const short = Math.min(width, height);
  if (short < min)
    return `the image is ${width}x${height}; ${min === 400 ? "its short side" : "each side"} must be at least ${min} px.`;
  const aspect = Math.max(width, height) / Math.min(width, height);
  if (aspect > 2.5)
    return `the image is ${width}x${height}; its aspect ratio must lie between 1:2.5 and 2.5:1.`;
  return undefined;
}
