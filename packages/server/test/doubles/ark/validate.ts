import sharp from "sharp";
import type { MediaMeta } from "../lib/double.ts";
import type { Rng } from "../lib/random.ts";
import { ArkRequestError, invalid, missing } from "./errors.ts";
import {
  type FixedRatio,
  type ModelSpec,
  nearestRatio,
  type Profile,
  RATIOS,
  type Ratio,
  RESOLUTIONS,
  type Resolution,
} from "./models.ts";

/** Create-request validation for the Seedance double (docs/providers.md §1.3, §1.7, §7.1). */

export type Mode = "t2v" | "first_frame" | "first_last" | "reference";

export interface Markers {
  /** Sync moderation: "text" | "image" | "video". */
  moderate?: string;
  /** Async failure code. */
  fail?: string;
  stuck?: boolean;
  /** Never finishes; goes to `expired` once execution_expires_after passes. "queued" keeps it queued. */
  expire?: "running" | "queued";
  fakeStatus?: { status: string; polls: number };
  urlTtlSec?: number;
  queueSec?: number;
  runSec?: number;
  cbDuplicates?: number;
  cbOutOfOrder?: boolean;
  /** Statuses whose callbacks are dropped ("*" = all). */
  cbDrop?: string[];
}

export interface CreateParams {
  modelId: string;
  /** The `model` string as sent (a model id or an endpoint id); what filter.model matches. */
  modelField: string;
  spec: ModelSpec;
  prompt: string;
  markers: Markers;
  mode: Mode;
  hasVideoInput: boolean;
  resolution: Resolution;
  ratio: FixedRatio;
  duration: number;
  frames: number;
  /** `frames` was sent (1.0 only). */
  framesGiven: boolean;
  seed: number;
  cameraFixed: boolean;
  watermark: boolean;
  generateAudio: boolean;
  returnLastFrame: boolean;
  callbackUrl?: string;
  serviceTier: "default" | "flex";
  executionExpiresAfter: number;
  priority?: number;
  safetyIdentifier?: string;
  /** `omni_reference_task_type` as sent (2.x): auto, reference, edit or extend. */
  taskType?: TaskType;
  draft: boolean;
  draftTaskId?: string;
  tools?: Array<{ type: string }>;
}

export interface DraftSource {
  id: string;
  isDraft: boolean;
  succeeded: boolean;
  params: CreateParams;
}

/** `omni_reference_task_type` values (docs/providers.md §1.3). */
export const TASK_TYPES = ["auto", "reference", "edit", "extend"] as const;
export type TaskType = (typeof TASK_TYPES)[number];

export interface ValidateEnv {
  profile: Profile;
  /** 2.0, 2.0 fast and mini take `omni_reference_task_type` too ([I]; otherwise 2.5 only). */
  omniTaskTypeOn20: boolean;
  rng: Rng;
  legacyCommandsOn2x: "reject" | "ignore";
  media: (url: string, index: number) => MediaMeta | undefined;
  draft: (id: string) => DraftSource | undefined;
}

interface MediaItem {
  index: number;
  kind: "image" | "video" | "audio";
  url: string;
  role?: string;
  /** Position among all media items (for the indexed media-meta header). */
  order: number;
}

const IMAGE_FORMATS = ["jpeg", "jpg", "png", "webp", "bmp", "tiff", "gif"];
const HEIC_FORMATS = ["heic", "heif"];
const MB = 1024 * 1024;
const SEED_MAX = 2 ** 32 - 1;

const LEGACY: Record<string, string> = {
  resolution: "resolution",
  rs: "resolution",
  ratio: "ratio",
  rt: "ratio",
  duration: "duration",
  dur: "duration",
  framespersecond: "framespersecond",
  fps: "framespersecond",
  watermark: "watermark",
  wm: "watermark",
  seed: "seed",
  camerafixed: "camera_fixed",
  cf: "camera_fixed",
};

export async function validateCreate(
  body: Record<string, unknown>,
  modelField: string,
  spec: ModelSpec,
  modelId: string,
  env: ValidateEnv,
): Promise<CreateParams> {
  const content = body.content;
  if (content === undefined || content === null) throw missing("content");
  if (!Array.isArray(content) || content.length === 0) throw invalid("content", "must be a non-empty array");

  const texts: string[] = [];
  const media: MediaItem[] = [];
  let draftTaskId: string | undefined;
  content.forEach((raw, index) => {
    if (!raw || typeof raw !== "object") throw invalid(`content[${index}]`, "must be an object");
    const item = raw as Record<string, unknown>;
    const type = item.type;
    if (typeof type !== "string") throw missing(`content[${index}].type`);
    const role = item.role;
    if (role !== undefined && typeof role !== "string")
      throw invalid(`content[${index}].role`, "must be a string");
    switch (type) {
      case "text": {
        if (typeof item.text !== "string") throw missing(`content[${index}].text`);
        texts.push(item.text);
        if (texts.length > 1) throw invalid("content", "only one text item is allowed");
        break;
      }
      case "image_url":
      case "video_url":
      case "audio_url": {
        const kind = type === "image_url" ? "image" : type === "video_url" ? "video" : "audio";
        const payload = item[type] as { url?: unknown } | undefined;
        if (!payload || typeof payload !== "object") throw missing(`content[${index}].${type}`);
        if (typeof payload.url !== "string") throw missing(`content[${index}].${type}.url`);
        if (kind === "image") {
          if (payload.url.trim() === "")
            throw new ArkRequestError(
              "InvalidImageURL.EmptyURL",
              "The image URL is empty.",
              `content[${index}].image_url.url`,
            );
          if (role !== undefined && !["first_frame", "last_frame", "reference_image"].includes(role))
            throw invalid(`content[${index}].role`, "must be first_frame, last_frame or reference_image");
        } else {
          if (!spec.multimodal)
            throw invalid(
              `content[${index}].${type}`,
              `${kind} input is only supported by the Seedance 2.0 family`,
            );
          const want = kind === "video" ? "reference_video" : "reference_audio";
          if (role !== undefined && role !== want) throw invalid(`content[${index}].role`, `must be ${want}`);
          if (payload.url.trim() === "") throw invalid(`content[${index}].${type}.url`, "must not be empty");
        }
        media.push({ index, kind, url: payload.url, role: role as string | undefined, order: media.length });
        break;
      }
      case "draft_task": {
        if (!spec.draft)
          throw invalid(`content[${index}].draft_task`, "draft tasks are only supported by Seedance 1.5 pro");
        const payload = item.draft_task as { id?: unknown } | undefined;
        if (!payload || typeof payload.id !== "string" || payload.id === "")
          throw missing(`content[${index}].draft_task.id`);
        if (draftTaskId !== undefined) throw invalid("content", "only one draft_task item is allowed");
        draftTaskId = payload.id;
        break;
      }
      default:
        throw invalid(`content[${index}].type`, `unknown content type "${type}"`);
    }
  });

  const rawText = texts[0] ?? "";
  const markers = parseMarkers(rawText);
  let prompt = rawText.replace(MARKER_RE, "").trim();

  // Legacy `--param value` commands: parsed for 1.x, rejected or ignored for 2.x.
  const commands = parseLegacyCommands(prompt);
  const fields: Record<string, unknown> = { ...body };
  if (Object.keys(commands).length > 0) {
    if (spec.generation === 2) {
      if (env.legacyCommandsOn2x === "reject")
        throw invalid(
          "content.text",
          "inline text commands (--resolution, --ratio, --duration …) are not supported by this model; use the top-level fields",
        );
    } else {
      for (const [field, value] of Object.entries(commands))
        if (fields[field] === undefined) fields[field] = value;
      if (fields.framespersecond !== undefined && fields.framespersecond !== 24)
        throw invalid("framespersecond", "must be 24 for this model");
    }
    prompt = prompt.replace(LEGACY_RE, "").replace(/\s+/g, " ").trim();
  }

  // Draft → final video.
  let draftSource: DraftSource | undefined;
  if (draftTaskId !== undefined) {
    if (media.length > 0)
      throw invalid("content", "a draft_task item cannot be combined with image, video or audio items");
    draftSource = env.draft(draftTaskId);
    if (!draftSource) throw invalid("content.draft_task.id", `draft task ${draftTaskId} does not exist`);
    if (!draftSource.isDraft)
      throw invalid("content.draft_task.id", `task ${draftTaskId} is not a draft task`);
    if (!draftSource.succeeded)
      throw invalid("content.draft_task.id", `draft task ${draftTaskId} has not succeeded`);
    if (fields.draft === true) throw invalid("draft", "a draft cannot be made from a draft task");
  }

  // Image scenario, counts and roles.
  const images = media.filter((m) => m.kind === "image");
  const videos = media.filter((m) => m.kind === "video");
  const audios = media.filter((m) => m.kind === "audio");
  const refs = images.filter((m) => m.role === "reference_image");
  const frameImages = images.filter((m) => m.role !== "reference_image");
  let mode: Mode;
  if (refs.length > 0 && frameImages.length > 0)
    throw invalid(
      "content.role",
      "image scenarios are mutually exclusive: use first frame, first and last frame, or reference images",
    );
  if (videos.length > 0 || audios.length > 0) {
    if (frameImages.length > 0)
      throw invalid(
        "content.role",
        "with video or audio references every image must have role reference_image",
      );
    if (videos.length > 3) throw invalid("content.video_url", "at most 3 reference videos are allowed");
    if (audios.length > 3) throw invalid("content.audio_url", "at most 3 reference audios are allowed");
    if (audios.length > 0 && refs.length === 0 && videos.length === 0 && !spec.audioOnlyInput)
      throw invalid("content.audio_url", "reference audio must come with at least one image or video");
    mode = "reference";
  } else if (refs.length > 0) {
    mode = "reference";
  } else if (frameImages.length === 0) {
    mode = "t2v";
  } else if (frameImages.length === 1) {
    if (frameImages[0]?.role === "last_frame")
      throw invalid("content.role", "a last_frame image needs a first_frame image as well");
    mode = "first_frame";
  } else if (frameImages.length === 2) {
    const [a, b] = frameImages as [MediaItem, MediaItem];
    if (a.role === undefined) throw missing(`content[${a.index}].role`, "role is required with two images");
    if (b.role === undefined) throw missing(`content[${b.index}].role`, "role is required with two images");
    const roles = [a.role, b.role].sort().join(",");
    if (roles !== "first_frame,last_frame")
      throw invalid("content.role", "two images must be one first_frame and one last_frame");
    mode = "first_last";
  } else {
    throw invalid("content.image_url", `at most 2 frame images are allowed, got ${frameImages.length}`);
  }
  if (mode === "reference" && refs.length > 0) {
    const range = spec.referenceImages;
    if (!range) throw invalid("content.role", `reference images are not supported by ${modelId}`);
    if (refs.length < range[0] || refs.length > range[1])
      throw invalid(
        "content.image_url",
        `${range[0]}–${range[1]} reference images are allowed, got ${refs.length}`,
      );
  }
  if (mode === "first_frame" && !spec.firstFrame)
    throw invalid("content.image_url", `${modelId} does not accept images`);
  if (mode === "first_last" && !spec.firstLast)
    throw invalid("content.role", `first and last frame mode is not supported by ${modelId}`);
  if (mode === "t2v" && !spec.t2v && !draftSource)
    throw missing("content.image_url", `${modelId} is an image-to-video model and needs an image`);
  if (mode === "t2v" && prompt === "" && !draftSource)
    throw missing("content.text", "text-to-video needs a prompt");

  // Top-level fields.
  const bool = (name: string): boolean | undefined => {
    const v = fields[name];
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") throw invalid(name, "must be a boolean");
    return v;
  };
  const int = (name: string): number | undefined => {
    const v = fields[name];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) throw invalid(name, "must be an integer");
    return v;
  };
  const str = (name: string): string | undefined => {
    const v = fields[name];
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw invalid(name, "must be a string");
    return v;
  };

  const draft = bool("draft") ?? false;
  if (draft && !spec.draft) throw invalid("draft", `draft mode is not supported by ${modelId}`);

  const serviceTier = str("service_tier") ?? "default";
  if (serviceTier !== "default" && serviceTier !== "flex")
    throw invalid("service_tier", "must be default or flex");
  if (serviceTier === "flex" && !spec.flex)
    throw invalid("service_tier", `flex is not supported by ${modelId}`);

  let resolution = str("resolution") as Resolution | undefined;
  if (resolution !== undefined && !RESOLUTIONS.includes(resolution))
    throw invalid("resolution", "must be one of 480p, 720p, 1080p");
  if (resolution !== undefined && !(spec.resolutions[env.profile] ?? []).includes(resolution))
    throw invalid("resolution", `${resolution} is not supported by ${modelId}`);
  if (mode === "reference" && spec.family === "1.0-lite-i2v" && resolution === "1080p")
    throw invalid("resolution", "1080p is not supported with reference images");
  if (draft) {
    if (resolution !== undefined && resolution !== "480p")
      throw invalid("resolution", "draft mode only supports 480p");
    resolution = "480p";
  }
  resolution ??= mode === "reference" && spec.family === "1.0-lite-i2v" ? "720p" : spec.defaultResolution;

  const ratioField = str("ratio");
  if (ratioField !== undefined && !RATIOS.includes(ratioField as Ratio))
    throw invalid("ratio", `must be one of ${RATIOS.join(", ")}`);

  const durationField = int("duration");

  // `omni_reference_task_type` (docs/providers.md §1.3): explicit values are checked here, at
  // create time; `auto` (the default) leaves the model to decide from the prompt.
  const taskTypeField = str("omni_reference_task_type");
  let taskType: TaskType | undefined;
  if (taskTypeField !== undefined) {
    if (!TASK_TYPES.includes(taskTypeField as TaskType))
      throw invalid("omni_reference_task_type", `must be one of ${TASK_TYPES.join(", ")}`);
    if (!spec.multimodal || (spec.family !== "2.5" && !env.omniTaskTypeOn20))
      throw invalid("omni_reference_task_type", `task types are not supported by ${modelId}`);
    taskType = taskTypeField as TaskType;
    const constraint = (why: string) =>
      new ArkRequestError(
        "InvalidParameter.TaskTypeConstraint",
        `The request does not satisfy the constraints of omni_reference_task_type ${taskType}: ${why}.`,
        "omni_reference_task_type",
      );
    if ((taskType === "edit" || taskType === "extend") && videos.length === 0)
      throw constraint("it needs a video_url item with role reference_video");
    if (taskType === "reference" && mode !== "reference")
      throw constraint("it needs reference images, videos or audio");
    if (taskType === "edit" && durationField !== -1)
      throw constraint("an edit keeps the source's length, so duration must be -1");
    if ((taskType === "edit" || taskType === "extend") && ratioField !== "adaptive")
      throw constraint("the output keeps the source's shape, so ratio must be adaptive");
  }
  let duration = durationField ?? draftSource?.params.duration ?? 5;
  if (durationField !== undefined) {
    const { min, max, auto } = spec.duration;
    if (!(durationField === -1 && auto) && (durationField < min || durationField > max))
      throw invalid("duration", `must be in [${min}, ${max}]${auto ? " or -1" : ""} for ${modelId}`);
  }
  let editSource: MediaItem | undefined;
  if (duration === -1 && taskType === "edit") editSource = videos[0];
  else if (duration === -1) duration = env.rng.int(spec.duration.min, spec.duration.max);

  const framesField = int("frames");
  let frames = duration * 24 + 1;
  if (framesField !== undefined) {
    if (!spec.frames) throw invalid("frames", `frames is not supported by ${modelId}; use duration`);
    if (framesField < 29 || framesField > 289 || (framesField - 25) % 4 !== 0)
      throw invalid("frames", "must be 25+4n within [29, 289]");
    frames = framesField;
    duration = Math.max(1, Math.round((frames - 1) / 24));
  }

  const seedField = int("seed");
  if (seedField !== undefined && (seedField < -1 || seedField > SEED_MAX))
    throw invalid("seed", `must be in [-1, ${SEED_MAX}]`);
  let seed = seedField ?? draftSource?.params.seed ?? -1;
  if (seed === -1) seed = env.rng.uint32();

  const cameraFixed = bool("camera_fixed") ?? false;
  if (cameraFixed && (!spec.cameraFixed || mode === "reference"))
    throw invalid("camera_fixed", "camera_fixed is not supported with reference images or on this model");

  const watermark = bool("watermark") ?? false;

  const generateAudioField = bool("generate_audio");
  if (generateAudioField === true && !spec.audio)
    throw invalid("generate_audio", `${modelId} cannot generate audio`);
  const generateAudio = spec.audio
    ? (generateAudioField ?? draftSource?.params.generateAudio ?? true)
    : false;

  const returnLastFrame = bool("return_last_frame") ?? false;
  if (draft && returnLastFrame) throw invalid("return_last_frame", "cannot be combined with draft");
  if (draft && serviceTier === "flex") throw invalid("service_tier", "flex cannot be combined with draft");

  const callbackUrl = str("callback_url");
  if (callbackUrl !== undefined && !/^https?:\/\/[^\s/]+/i.test(callbackUrl))
    throw invalid("callback_url", "must be an http(s) URL");

  const executionExpiresAfter = int("execution_expires_after") ?? 172800;
  if (executionExpiresAfter < 3600 || executionExpiresAfter > 259200)
    throw invalid("execution_expires_after", "must be in [3600, 259200]");

  // docs/providers.md §1.3: an integer 0–9; a hashed end-user id of at most 64 characters.
  const priority = int("priority");
  if (priority !== undefined && (priority < 0 || priority > 9))
    throw invalid("priority", "must be in [0, 9]");
  const safetyIdentifier = str("safety_identifier");
  if (safetyIdentifier !== undefined && safetyIdentifier.length > 64)
    throw invalid("safety_identifier", "must be at most 64 characters");

  let tools: Array<{ type: string }> | undefined;
  if (fields.tools !== undefined) {
    if (!spec.multimodal) throw invalid("tools", `tools are not supported by ${modelId}`);
    if (!Array.isArray(fields.tools)) throw invalid("tools", "must be an array");
    tools = fields.tools.map((t, i) => {
      if (!t || typeof t !== "object" || (t as { type?: unknown }).type !== "web_search")
        throw invalid(`tools[${i}].type`, 'the only tool is {"type":"web_search"}');
      return { type: "web_search" };
    });
  }

  // Media facts: data URLs are decoded; other URLs use declared metadata when a test supplies it.
  const metas = new Map<MediaItem, MediaMeta | undefined>();
  for (const m of media) metas.set(m, await checkMedia(m, spec, env));
  const totals = { video: 0, audio: 0 };
  for (const m of [...videos, ...audios]) {
    const meta = metas.get(m);
    if (meta?.durationSec !== undefined) totals[m.kind as "video" | "audio"] += meta.durationSec;
  }
  if (totals.video > 15) throw invalid("content.video_url", "reference videos may total at most 15 s");
  // An edit is as long as its source (declared, or a whole number in the model's range if unknown).
  if (editSource) {
    const seconds = metas.get(editSource)?.durationSec;
    duration =
      seconds !== undefined
        ? Math.max(1, Math.round(seconds))
        : env.rng.int(spec.duration.min, spec.duration.max);
    frames = duration * 24 + 1;
  }
  if (totals.audio > 15) throw invalid("content.audio_url", "reference audios may total at most 15 s");

  // Resolve `adaptive` (and the default ratio).
  const requested =
    (ratioField as Ratio | undefined) ??
    draftSource?.params.ratio ??
    (mode === "t2v" || mode === "reference" ? "16:9" : "adaptive");
  let ratio: FixedRatio;
  if (requested !== "adaptive") ratio = requested;
  else if (mode === "t2v") ratio = ratioFromPrompt(prompt);
  else {
    const first = mode === "reference" ? media[0] : frameImages.find((m) => m.role !== "last_frame");
    const meta = first ? metas.get(first) : undefined;
    ratio = meta?.width && meta.height ? nearestRatio(meta.width, meta.height) : "16:9";
  }

  if (draftSource && !prompt) prompt = draftSource.params.prompt;

  return {
    modelId,
    modelField,
    spec,
    prompt,
    markers,
    mode,
    hasVideoInput: videos.length > 0,
    resolution,
    ratio,
    duration,
    frames,
    framesGiven: framesField !== undefined,
    seed,
    cameraFixed,
    watermark,
    generateAudio,
    returnLastFrame,
    callbackUrl,
    serviceTier,
    executionExpiresAfter,
    priority,
    safetyIdentifier,
    taskType,
    draft,
    draftTaskId,
    tools,
  };
}

async function checkMedia(m: MediaItem, spec: ModelSpec, env: ValidateEnv): Promise<MediaMeta | undefined> {
  const param = `content[${m.index}].${m.kind}_url`;
  let decoded: MediaMeta | undefined;
  if (m.url.startsWith("data:")) {
    const match = /^data:([^;,]*)((?:;[^;,]*)*),(.*)$/s.exec(m.url);
    const mime = match?.[1] ?? "";
    const [top, fmt = ""] = mime.split("/");
    if (!match || !/;base64$/i.test(match[2] ?? "") || top?.toLowerCase() !== m.kind || !fmt)
      throw new ArkRequestError(
        m.kind === "image" ? "InvalidImageURL.InvalidFormat" : "InvalidParameter",
        `The ${m.kind} data URL must look like data:${m.kind}/<format>;base64,<data>.`,
        param,
      );
    if (fmt !== fmt.toLowerCase() || top !== m.kind)
      throw new ArkRequestError(
        m.kind === "image" ? "InvalidImageURL.InvalidFormat" : "InvalidParameter",
        `The format in the data URL must be lower case, got "${mime}".`,
        param,
      );
    const bytes = Buffer.from(match[3] ?? "", "base64");
    decoded = { format: fmt, bytes: bytes.length };
    if (m.kind === "image") {
      checkImageFormat(fmt, spec, param);
      try {
        const info = await sharp(bytes).metadata();
        decoded.width = info.width;
        decoded.height = info.height;
      } catch {
        if (fmt !== "bmp") throw invalid(param, "the image could not be decoded");
      }
    }
  } else if (!/^https?:\/\//i.test(m.url) && !m.url.startsWith("asset://")) {
    throw new ArkRequestError(
      m.kind === "image" ? "InvalidImageURL.InvalidFormat" : "InvalidParameter",
      `The ${m.kind} URL must be an http(s) URL, a data URL or an asset:// id.`,
      param,
    );
  }
  const declared = env.media(m.url, m.order);
  const meta = declared || decoded ? { ...(decoded ?? {}), ...(declared ?? {}) } : undefined;
  if (!meta) return undefined;
  const isAsset = m.url.startsWith("asset://");
  if (m.kind === "image") {
    if (meta.format) checkImageFormat(meta.format.toLowerCase(), spec, param);
    if (meta.bytes !== undefined && meta.bytes >= 30 * MB)
      throw new ArkRequestError(
        "InvalidParameter.OversizedImage",
        "The image must be smaller than 30 MB.",
        param,
      );
    if (meta.width !== undefined && meta.height !== undefined) {
      const { width: w, height: h } = meta;
      if (!(w > 300 && w < 6000 && h > 300 && h < 6000))
        throw invalid(param, `image width and height must be between 300 and 6000 px, got ${w}x${h}`);
      const r = w / h;
      if (!(r > 0.4 && r < 2.5))
        throw invalid(param, `image aspect ratio must be between 0.4 and 2.5, got ${r.toFixed(3)}`);
    }
    if (meta.face && spec.generation === 2 && !isAsset)
      throw new ArkRequestError(
        "InputImageSensitiveContentDetected.PrivacyInformation",
        "The request failed because the input image may contain real-person privacy information.",
        param,
      );
  } else if (m.kind === "video") {
    if (meta.format && !["mp4", "mov"].includes(meta.format.toLowerCase()))
      throw invalid(param, "video must be mp4 or mov");
    if (meta.durationSec !== undefined && (meta.durationSec < 2 || meta.durationSec > 15))
      throw invalid(param, "each reference video must be 2–15 s long");
    if (meta.bytes !== undefined && meta.bytes > 50 * MB)
      throw invalid(param, "each reference video must be at most 50 MB");
    if (meta.fps !== undefined && (meta.fps < 24 || meta.fps > 60))
      throw invalid(param, "reference video fps must be 24–60");
    if (meta.face && !isAsset)
      throw new ArkRequestError(
        "InputVideoSensitiveContentDetected.PrivacyInformation",
        "The request failed because the input video may contain real-person privacy information.",
        param,
      );
  } else {
    if (meta.format && !["wav", "mp3"].includes(meta.format.toLowerCase()))
      throw invalid(param, "audio must be wav or mp3");
    if (meta.durationSec !== undefined && (meta.durationSec < 2 || meta.durationSec > 15))
      throw invalid(param, "each reference audio must be 2–15 s long");
    if (meta.bytes !== undefined && meta.bytes > 15 * MB)
      throw invalid(param, "each reference audio must be at most 15 MB");
  }
  return meta;
}

function checkImageFormat(fmt: string, spec: ModelSpec, param: string): void {
  const allowed = spec.heic ? [...IMAGE_FORMATS, ...HEIC_FORMATS] : IMAGE_FORMATS;
  if (!allowed.includes(fmt))
    throw new ArkRequestError(
      "InvalidParameter.UnsupportedImageFormat",
      `The image format "${fmt}" is not supported; use ${allowed.join(", ")}.`,
      param,
    );
}

function ratioFromPrompt(prompt: string): FixedRatio {
  if (/\b(vertical|portrait)\b|竖屏/i.test(prompt)) return "9:16";
  if (/\bsquare\b/i.test(prompt)) return "1:1";
  if (/\b(cinemascope|ultra-?wide)\b/i.test(prompt)) return "21:9";
  return "16:9";
}

const MARKER_RE = /\[\[([a-z-]+)(?::([^\]]*))?\]\]/g;

/** Test markers in the prompt, e.g. `[[stuck]]`, `[[fail:InternalServiceError]]`, `[[status:paused:3]]`. */
export function parseMarkers(text: string): Markers {
  const markers: Markers = {};
  for (const m of text.matchAll(MARKER_RE)) {
    const name = m[1];
    const args = m[2]?.split(":") ?? [];
    const num = (i: number, fallback: number) => {
      const n = Number(args[i]);
      return args[i] !== undefined && Number.isFinite(n) ? n : fallback;
    };
    switch (name) {
      case "moderate":
        if (args[0] === "output") markers.fail = "OutputVideoSensitiveContentDetected";
        else if (args[0] === "audio") markers.fail = "OutputAudioSensitiveContentDetected";
        else markers.moderate = args[0] ?? "text";
        break;
      case "fail":
        markers.fail = args[0] || "InternalServiceError";
        break;
      case "stuck":
        markers.stuck = true;
        break;
      case "expire":
        markers.expire = args[0] === "queued" ? "queued" : "running";
        break;
      case "paused":
        markers.fakeStatus = { status: "paused", polls: num(0, 3) };
        break;
      case "status":
        markers.fakeStatus = { status: args[0] || "paused", polls: num(1, 3) };
        break;
      case "url-ttl":
        markers.urlTtlSec = num(0, 60);
        break;
      case "queue":
        markers.queueSec = num(0, 0);
        break;
      case "run":
        markers.runSec = num(0, 0);
        break;
      case "cb-dup":
        markers.cbDuplicates = num(0, 1);
        break;
      case "cb-ooo":
        markers.cbOutOfOrder = true;
        break;
      case "cb-drop":
        markers.cbDrop = args.length > 0 ? args : ["*"];
        break;
    }
  }
  return markers;
}

const LEGACY_RE = /(?:^|\s)--([a-z]+)\s+(\S+)/gi;

function parseLegacyCommands(text: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of text.matchAll(LEGACY_RE)) {
    const field = LEGACY[(m[1] ?? "").toLowerCase()];
    if (!field) continue;
    const raw = m[2] ?? "";
    let value: unknown = raw;
    if (field === "duration" || field === "seed" || field === "framespersecond")
      value = /^-?\d+$/.test(raw) ? Number(raw) : raw;
    else if (field === "watermark" || field === "camera_fixed")
      value = raw === "true" ? true : raw === "false" ? false : raw;
    out[field] = value;
  }
  return out;
}
