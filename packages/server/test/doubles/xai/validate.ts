import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { probe } from "../../../src/media/ffmpeg.ts";
import type { MediaMeta } from "../lib/double.ts";

/**
 * Request checks of the xAI double (docs/providers.md §3): what `POST /v1/videos/generations`,
 * `/edits` and `/extensions` accept, per model. A refusal is an `XaiRefusal` (status and message);
 * the double answers it in xAI's `{code, error}` shape.
 */

export interface XaiModelSpec {
  resolutions: readonly string[];
  ratios: readonly string[];
  /** `last_frame` and `keyframes` (the 1.5 models). */
  frames: boolean;
  /** `reference_images` (reference-to-video). */
  references: boolean;
  /** `/v1/videos/edits` and `/v1/videos/extensions` run on this model. */
  operations: boolean;
}

const RATIOS = ["1:1", "16:9", "9:16", "4:3", "3:4", "3:2", "2:3"] as const;
/** The 1.5 models add 21:9 and 5:2 (docs/providers.md §3). */
const WIDE_RATIOS = [...RATIOS, "21:9", "5:2"] as const;

export const XAI_MODELS: Record<string, XaiModelSpec> = {
  // Edits and extensions run only on the first model (docs/providers.md §3).
  "grok-imagine-video": {
    resolutions: ["480p", "720p"],
    ratios: RATIOS,
    frames: false,
    references: true,
    operations: true,
  },
  "grok-imagine-video-1.5": {
    resolutions: ["480p", "720p", "1080p"],
    ratios: WIDE_RATIOS,
    frames: true,
    references: true,
    operations: false,
  },
  // An alias of grok-imagine-video-1.5 since SDK v1.19.
  "grok-imagine-video-1.5-preview": {
    resolutions: ["480p", "720p", "1080p"],
    ratios: WIDE_RATIOS,
    frames: true,
    references: true,
    operations: false,
  },
  // 1080p by upscaling; no last frame, keyframes or reference images ([I] integrators; the SDK
  // says the frame fields are "only supported for grok-imagine-video-1.5"). Setting `liteTakesFrames`.
  "grok-imagine-video-1.5-lite": {
    resolutions: ["480p", "720p", "1080p"],
    ratios: RATIOS,
    frames: false,
    references: false,
    operations: false,
  },
};

export const PROMPT_MAX = 4096;
/** Keyframes per request, strictly inside the clip, on a 1/3 s grid (docs/providers.md §3). */
export const MAX_KEYFRAMES = 4;
/** Longest edit source and the extension source range, in seconds (docs.x.ai). */
export const EDIT_MAX_SOURCE_SECONDS = 8.7;
export const EXTEND_SOURCE_SECONDS = { min: 2, max: 15 } as const;
export const EXTEND_SECONDS = { min: 2, max: 10, default: 6 } as const;

export class XaiRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const bad = (message: string) => new XaiRefusal(400, message);

export interface Generation {
  kind: "generation";
  model: string;
  prompt: string;
  duration: number;
  aspectRatio?: string;
  resolution: string;
  image?: string;
  lastFrame?: string;
  keyframes?: Array<{ url: string; timestampS: number }>;
  referenceImages?: string[];
  generateAudio: boolean;
  user?: string;
  seed?: number;
}

export interface Operation {
  kind: "edit" | "extension";
  model: string;
  prompt: string;
  video: string;
  /** The source clip's length, as probed (or declared by the test). */
  sourceSeconds: number;
  /** The source's height in pixels when known (decides the output's 480p/720p). */
  sourceHeight?: number;
  /** Extension only: seconds added. */
  duration?: number;
}

export interface ValidateEnv {
  /** `last_frame`/`keyframes` accepted on 1.5-lite ([I] setting; default false). */
  liteTakesFrames: boolean;
  /** Declared facts for a media URL (the `x-double-media-meta` header or `/__control/media-meta`). */
  declared(url: string): MediaMeta | undefined;
}

type Body = Record<string, unknown>;

export function modelOf(b: Body): { id: string; spec: XaiModelSpec } {
  const id = b.model ?? "grok-imagine-video";
  const spec = typeof id === "string" ? XAI_MODELS[id] : undefined;
  if (typeof id !== "string" || !spec)
    throw new XaiRefusal(
      404,
      `The model ${String(id)} does not exist or your team does not have access to it.`,
    );
  return { id, spec };
}

function urlOf(value: unknown, field: string, kind: "image" | "video"): string {
  const url = (value as { url?: unknown } | null)?.url;
  const inline =
    kind === "image" ? /^data:image\/[a-z0-9.+-]+;base64,/i : /^data:video\/[a-z0-9.+-]+;base64,/i;
  if (
    typeof value !== "object" ||
    value === null ||
    typeof url !== "string" ||
    !(/^https?:\/\//i.test(url) || inline.test(url))
  )
    throw bad(`${field}.url must be an http(s) URL or a base64 data:${kind} URL.`);
  return url;
}

function promptOf(b: Body, required: boolean): string {
  if (b.prompt === undefined || b.prompt === null || b.prompt === "") {
    if (required) throw bad("prompt is required.");
    return "";
  }
  if (typeof b.prompt !== "string") throw bad("prompt must be a string.");
  if (required && b.prompt.trim() === "") throw bad("prompt is required.");
  if (b.prompt.length > PROMPT_MAX) throw bad(`prompt must be at most ${PROMPT_MAX} characters.`);
  return b.prompt;
}

const isInt = (v: unknown): v is number => typeof v === "number" && Number.isInteger(v);

/** `POST /v1/videos/generations`. */
export function validateGeneration(b: Body, env: ValidateEnv): Generation {
  const { id: model, spec } = modelOf(b);
  const frames = spec.frames || (model === "grok-imagine-video-1.5-lite" && env.liteTakesFrames);

  const image = b.image === undefined ? undefined : urlOf(b.image, "image", "image");
  let lastFrame: string | undefined;
  if (b.last_frame !== undefined) {
    if (!frames) throw bad(`last_frame is not supported by ${model}.`);
    lastFrame = urlOf(b.last_frame, "last_frame", "image");
  }
  let referenceImages: string[] | undefined;
  if (b.reference_images !== undefined) {
    if (!spec.references) throw bad(`reference_images is not supported by ${model}.`);
    if (!Array.isArray(b.reference_images) || b.reference_images.length < 1 || b.reference_images.length > 7)
      throw bad("reference_images must be an array of 1 to 7 images.");
    if (image !== undefined || lastFrame !== undefined)
      throw bad("reference_images cannot be combined with image or last_frame.");
    referenceImages = b.reference_images.map((r, i) => urlOf(r, `reference_images[${i}]`, "image"));
  }

  const duration = b.duration ?? 8;
  if (!isInt(duration) || duration < 1 || duration > 15)
    throw bad(`duration must be an integer between 1 and 15 seconds; got ${JSON.stringify(duration)}.`);
  if (referenceImages && duration > 10)
    throw bad("duration must be at most 10 seconds with reference_images.");

  if (b.aspect_ratio !== undefined && !spec.ratios.includes(String(b.aspect_ratio)))
    throw bad(
      `aspect_ratio must be one of ${spec.ratios.join(", ")}; got ${JSON.stringify(b.aspect_ratio)}.`,
    );

  // docs/providers.md §3: the default resolution is 480p.
  const resolution = b.resolution ?? "480p";
  if (typeof resolution !== "string" || !spec.resolutions.includes(resolution))
    throw bad(
      `resolution must be one of ${spec.resolutions.join(", ")} for ${model}; got ${JSON.stringify(resolution)}.`,
    );
  if (referenceImages && resolution === "1080p")
    throw bad("resolution must be at most 720p with reference_images.");

  let keyframes: Generation["keyframes"];
  if (b.keyframes !== undefined) {
    if (!frames) throw bad(`keyframes is not supported by ${model}.`);
    if (!Array.isArray(b.keyframes) || b.keyframes.length === 0)
      throw bad("keyframes must be a non-empty array.");
    if (b.keyframes.length > MAX_KEYFRAMES)
      throw bad(`at most ${MAX_KEYFRAMES} keyframes are allowed; got ${b.keyframes.length}.`);
    const seen = new Set<number>();
    keyframes = b.keyframes.map((k, i) => {
      const entry = (k ?? {}) as { image?: unknown; timestamp_s?: unknown };
      const url = urlOf(entry.image, `keyframes[${i}].image`, "image");
      const t = entry.timestamp_s;
      if (typeof t !== "number" || !Number.isFinite(t))
        throw bad(`keyframes[${i}].timestamp_s must be a number of seconds.`);
      if (!(t > 0 && t < duration))
        throw bad(`keyframes[${i}].timestamp_s must be strictly inside the clip (0, ${duration}); got ${t}.`);
      if (Math.abs(t * 3 - Math.round(t * 3)) > 1e-6)
        throw bad(`keyframes[${i}].timestamp_s must be a multiple of 1/3 second; got ${t}.`);
      const slot = Math.round(t * 3);
      if (seen.has(slot)) throw bad(`keyframes[${i}].timestamp_s repeats another keyframe's time.`);
      seen.add(slot);
      return { url, timestampS: t };
    });
  }

  // docs/providers.md §3: the prompt may be left out when a frame or a reference is given.
  const prompt = promptOf(b, !image && !lastFrame && !keyframes && !referenceImages);

  if (b.generate_audio !== undefined && typeof b.generate_audio !== "boolean")
    throw bad("generate_audio must be a boolean.");
  if (b.user !== undefined && typeof b.user !== "string") throw bad("user must be a string.");
  if (b.seed !== undefined && (!isInt(b.seed) || b.seed < 0))
    throw bad("seed must be a non-negative integer.");

  return {
    kind: "generation",
    model,
    prompt,
    duration,
    aspectRatio: b.aspect_ratio as string | undefined,
    resolution,
    image,
    lastFrame,
    keyframes,
    referenceImages,
    generateAudio: (b.generate_audio as boolean | undefined) ?? true,
    user: b.user as string | undefined,
    seed: b.seed as number | undefined,
  };
}

/** `POST /v1/videos/edits` (`kind` edit) and `/v1/videos/extensions` (`kind` extension). */
export async function validateOperation(
  kind: "edit" | "extension",
  b: Body,
  env: ValidateEnv,
): Promise<Operation> {
  const { id: model, spec } = modelOf(b);
  const verb = kind === "edit" ? "video editing" : "video extension";
  if (!spec.operations) throw bad(`${model} does not support ${verb}; use grok-imagine-video.`);
  // The output keeps the source's shape and size (docs/providers.md §3): these are not parameters.
  for (const field of kind === "edit"
    ? ["duration", "aspect_ratio", "resolution"]
    : ["aspect_ratio", "resolution"])
    if (b[field] !== undefined) throw bad(`${field} is not supported for ${verb}.`);
  const prompt = promptOf(b, true);
  if (b.video === undefined) throw bad("video is required.");
  const video = urlOf(b.video, "video", "video");

  let duration: number | undefined;
  if (kind === "extension") {
    duration = (b.duration as number | undefined) ?? EXTEND_SECONDS.default;
    if (!isInt(duration) || duration < EXTEND_SECONDS.min || duration > EXTEND_SECONDS.max)
      throw bad(
        `duration must be an integer between ${EXTEND_SECONDS.min} and ${EXTEND_SECONDS.max} seconds; got ${JSON.stringify(b.duration)}.`,
      );
  }

  const facts = await sourceFacts(video, env);
  if (kind === "edit" && facts.seconds > EDIT_MAX_SOURCE_SECONDS)
    throw bad(
      `The input video must be at most ${EDIT_MAX_SOURCE_SECONDS} seconds long; got ${facts.seconds.toFixed(2)} s.`,
    );
  if (
    kind === "extension" &&
    (facts.seconds < EXTEND_SOURCE_SECONDS.min - 0.05 || facts.seconds > EXTEND_SOURCE_SECONDS.max + 0.05)
  )
    throw bad(
      `The input video must be between ${EXTEND_SOURCE_SECONDS.min} and ${EXTEND_SOURCE_SECONDS.max} seconds long; got ${facts.seconds.toFixed(2)} s.`,
    );
  return { kind, model, prompt, video, sourceSeconds: facts.seconds, sourceHeight: facts.height, duration };
}

/**
 * The source clip's length and height: declared facts first; otherwise the bytes (a data: URL, or
 * the URL fetched as xAI would) are probed. A clip that cannot be read is refused.
 */
async function sourceFacts(url: string, env: ValidateEnv): Promise<{ seconds: number; height?: number }> {
  const declared = env.declared(url);
  if (declared?.durationSec !== undefined) return { seconds: declared.durationSec, height: declared.height };
  let bytes: Buffer;
  if (url.startsWith("data:")) {
    bytes = Buffer.from(url.slice(url.indexOf(",") + 1), "base64");
  } else {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      bytes = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      throw bad(`Could not download the video at video.url (${(err as Error).message}).`);
    }
  }
  const dir = await mkdtemp(join(tmpdir(), "xai-double-"));
  try {
    const path = join(dir, "source.mp4");
    await writeFile(path, bytes);
    const result = await probe(path, undefined, { timeoutMs: 10_000 });
    const stream = result.streams.find((s) => s.codec_type === "video");
    const seconds = Number(result.format.duration);
    if (!stream || !Number.isFinite(seconds)) throw new Error("no video stream");
    return { seconds, height: stream.height };
  } catch {
    throw bad("The input video must be an MP4 (H.264, H.265 or AV1).");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
