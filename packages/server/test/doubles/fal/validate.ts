import sharp from "sharp";
import type { MediaMeta } from "../lib/double.ts";

/**
 * Input validation of the HappyHorse apps on fal, the way fal's runners report it: a list of
 * pydantic-style `{loc, msg, type}` details that become a 422 result (docs/providers.md §2.2, §4.1).
 * fal validates when the runner picks the request up, not at submit.
 */

export interface Detail {
  loc: Array<string | number>;
  msg: string;
  type: string;
  ctx?: Record<string, unknown>;
}

export type Endpoint = "text-to-video" | "image-to-video" | "reference-to-video" | "video-edit";

export const APPS: Record<string, Endpoint> = {
  "alibaba/happy-horse/text-to-video": "text-to-video",
  "alibaba/happy-horse/image-to-video": "image-to-video",
  "alibaba/happy-horse/reference-to-video": "reference-to-video",
  "alibaba/happy-horse/video-edit": "video-edit",
  "alibaba/happy-horse/v1.1/text-to-video": "text-to-video",
  "alibaba/happy-horse/v1.1/image-to-video": "image-to-video",
  "alibaba/happy-horse/v1.1/reference-to-video": "reference-to-video",
};

const ASPECT_RATIOS = ["16:9", "9:16", "1:1", "4:3", "3:4", "21:9", "9:21", "5:4", "4:5"];
const RESOLUTIONS = ["720p", "1080p"];
const MB = 1024 * 1024;

export interface ValidInput {
  prompt: string;
  resolution: string;
  duration: number;
  seed?: number;
  aspectRatio?: string;
  media: string[];
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Validate an app's input; details are empty when it is fine. */
export async function validateInput(
  endpoint: Endpoint,
  input: unknown,
  media: (url: string) => MediaMeta | undefined,
  fetchMedia: boolean,
): Promise<{ details: Detail[]; value?: ValidInput }> {
  const details: Detail[] = [];
  const add = (
    field: string | Array<string | number>,
    msg: string,
    type: string,
    ctx?: Record<string, unknown>,
  ) =>
    details.push({
      loc: ["body", ...(Array.isArray(field) ? field : [field])],
      msg,
      type,
      ...(ctx ? { ctx } : {}),
    });
  if (!isObject(input)) {
    add([], "Input should be a valid dictionary", "dict_type");
    return { details };
  }
  const str = (field: string, required: boolean, max?: number): string | undefined => {
    const v = input[field];
    if (v === undefined || v === null) {
      if (required) add(field, "Field required", "missing");
      return undefined;
    }
    if (typeof v !== "string") {
      add(field, "Input should be a valid string", "string_type");
      return undefined;
    }
    if (max !== undefined && v.length > max)
      add(field, `String should have at most ${max} characters`, "string_too_long", { max_length: max });
    return v;
  };
  const literal = (field: string, allowed: string[]): string | undefined => {
    const v = input[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || !allowed.includes(v)) {
      add(field, `Input should be ${allowed.map((a) => `'${a}'`).join(", ")}`, "literal_error", {
        expected: allowed.join(", "),
      });
      return undefined;
    }
    return v;
  };
  const int = (field: string, min: number, max: number): number | undefined => {
    const v = input[field];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) {
      add(field, "Input should be a valid integer", "int_type");
      return undefined;
    }
    if (v < min)
      add(field, `Input should be greater than or equal to ${min}`, "greater_than_equal", { ge: min });
    else if (v > max)
      add(field, `Input should be less than or equal to ${max}`, "less_than_equal", { le: max });
    return v;
  };
  const urls = (field: string, min: number, max: number): string[] => {
    const v = input[field];
    if (v === undefined || v === null) {
      if (min > 0) add(field, "Field required", "missing");
      return [];
    }
    if (!Array.isArray(v) || v.some((u) => typeof u !== "string")) {
      add(field, "Input should be a valid list of URLs", "list_type");
      return [];
    }
    if (v.length < min) add(field, `List should have at least ${min} item`, "too_short", { min_length: min });
    if (v.length > max) add(field, `List should have at most ${max} items`, "too_long", { max_length: max });
    return v as string[];
  };

  const prompt = str("prompt", endpoint !== "image-to-video", 2500) ?? "";
  const resolution = literal("resolution", RESOLUTIONS) ?? "1080p";
  const duration = endpoint === "video-edit" ? 5 : (int("duration", 3, 15) ?? 5);
  const seed = int("seed", 0, 2147483647);
  const aspectRatio =
    endpoint === "text-to-video" || endpoint === "reference-to-video"
      ? literal("aspect_ratio", ASPECT_RATIOS)
      : undefined;
  const images: Array<{ field: Array<string | number>; url: string; min: number }> = [];
  if (endpoint === "image-to-video") {
    const url = str("image_url", true);
    if (url) images.push({ field: ["image_url"], url, min: 300 });
  }
  if (endpoint === "reference-to-video")
    for (const [i, url] of urls("image_urls", 1, 9).entries())
      images.push({ field: ["image_urls", i], url, min: 400 });
  if (endpoint === "video-edit") {
    str("video_url", true);
    for (const [i, url] of urls("image_urls", 0, 5).entries())
      images.push({ field: ["image_urls", i], url, min: 300 });
  }
  for (const image of images) {
    const problem = await imageProblem(image.url, image.min, media, fetchMedia);
    if (problem) add(image.field, problem.msg, problem.type, problem.ctx);
  }
  if (details.length > 0) return { details };
  return {
    details,
    value: { prompt, resolution, duration, seed, aspectRatio, media: images.map((i) => i.url) },
  };
}

async function imageProblem(
  url: string,
  minSide: number,
  declared: (url: string) => MediaMeta | undefined,
  fetchMedia: boolean,
): Promise<{ msg: string; type: string; ctx?: Record<string, unknown> } | undefined> {
  let meta = declared(url);
  if (!meta) {
    let bytes: Buffer | undefined;
    const m = /^data:image\/[a-z0-9.+-]+;base64,(.*)$/is.exec(url);
    if (m) bytes = Buffer.from(m[1] ?? "", "base64");
    else if (/^https?:\/\//i.test(url)) {
      if (!fetchMedia) return undefined;
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        bytes = Buffer.from(await res.arrayBuffer());
      } catch {
        return {
          msg: "Failed to download the file. Please check if the URL is accessible.",
          type: "file_download_error",
        };
      }
    } else return { msg: "Input should be a valid URL", type: "url_parsing" };
    try {
      const info = await sharp(bytes).metadata();
      meta = { width: info.width, height: info.height, bytes: bytes.length };
    } catch {
      return {
        msg: "Failed to load the image. Please ensure the image file is not corrupted.",
        type: "image_load_error",
      };
    }
  }
  if (meta.bytes !== undefined && meta.bytes > 20 * MB)
    return {
      msg: "File size exceeds the maximum allowed size of 20MB.",
      type: "file_too_large",
      ctx: { max_size: 20 * MB },
    };
  const { width, height } = meta;
  if (width !== undefined && height !== undefined) {
    if (Math.min(width, height) < minSide)
      return {
        msg: `Image dimensions are too small. Minimum dimensions are ${minSide}x${minSide} pixels.`,
        type: "image_too_small",
        ctx: { min_height: minSide, min_width: minSide },
      };
    if (Math.max(width, height) / Math.min(width, height) > 2.5)
      return { msg: "Image aspect ratio must be between 1:2.5 and 2.5:1.", type: "value_error" };
  }
  return undefined;
}
