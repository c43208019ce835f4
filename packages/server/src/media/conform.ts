/**
 * Conform a picture to an aspect ratio: the first frame of a model whose output follows its image
 * (HappyHorse i2v) is reshaped before it goes upstream, so an asked `ratio` is honoured.
 *
 * - `crop`: the centre of the picture at the ratio (nothing is stretched);
 * - `pad`: the whole picture, letterboxed or pillarboxed with black bars.
 *
 * The result stays within the provider's image limits (`ImageBounds`): it is scaled up when a side
 * would fall under `minSide`, down when one would pass `maxSide` or `MAX_OUTPUT_SIDE`, and re-encoded
 * smaller when the bytes would pass `maxBytes`. EXIF orientation is applied, alpha is flattened onto
 * black, and the output is a baseline JPEG. Decoding is bounded (`limitInputPixels`, a timeout), reads
 * only the given bytes, and BMP (which the bundled libvips cannot read) is decoded by ffmpeg.
 */
import sharp, { type Sharp } from "sharp";
import type { Fit, Ratio } from "../domain/request.ts";
import { ffmpegPath, run } from "./ffmpeg.ts";

export type FixedRatio = Exclude<Ratio, "adaptive">;

/** The provider's image limits, as the catalog's `inputImage`. */
export interface ImageBounds {
  minSide: number;
  maxSide: number | null;
  /** Longer side over shorter side. */
  maxAspect: number;
  maxBytes: number;
}

export interface ConformOptions {
  ratio: FixedRatio;
  fit: Fit;
  bounds: ImageBounds | null;
  /** Largest decoded picture accepted (width × height), as for uploads. */
  maxInputPixels: number;
  timeoutSeconds?: number;
}

export interface ConformedImage {
  bytes: Buffer;
  mime: "image/jpeg";
  width: number;
  height: number;
}

/** The longest side we produce, whatever the input: enough for 1080p, and bytes stay modest. */
export const MAX_OUTPUT_SIDE = 4096;
/** Shapes within this (relative) distance of the ratio are already conformed and are sent as they are. */
export const RATIO_TOLERANCE = 0.01;
const JPEG_QUALITIES = [92, 85, 75];

export function ratioValue(ratio: FixedRatio): number {
  const [w, h] = ratio.split(":").map(Number) as [number, number];
  return w / h;
}

/** True when a width × height picture already has the ratio's shape (within RATIO_TOLERANCE). */
export function hasRatio(width: number, height: number, ratio: FixedRatio): boolean {
  return Math.abs(Math.log(width / height / ratioValue(ratio))) <= Math.log1p(RATIO_TOLERANCE);
}

/**
 * The output size for an upright `width` × `height` picture: the crop (or the padded canvas) at
 * the ratio, then scaled into the bounds. Pure, exported for tests.
 */
export function conformedSize(
  width: number,
  height: number,
  ratio: FixedRatio,
  fit: Fit,
  bounds: ImageBounds | null,
): { width: number; height: number } {
  const r = ratioValue(ratio);
  const wider = width / height > r;
  // crop keeps the short dimension of the picture relative to the ratio; pad keeps the long one.
  let w: number;
  let h: number;
  if (wider === (fit === "crop")) {
    h = height;
    w = height * r;
  } else {
    w = width;
    h = width / r;
  }
  const maxSide = Math.min(bounds?.maxSide ?? Number.POSITIVE_INFINITY, MAX_OUTPUT_SIDE);
  let scale = 1;
  if (Math.max(w, h) > maxSide) scale = maxSide / Math.max(w, h);
  if (bounds && Math.min(w, h) * scale < bounds.minSide) scale = bounds.minSide / Math.min(w, h);
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(h * scale)) };
}

/**
 * Reshape a picture to the ratio, or null when it already has that shape (send the original).
 * @throws Error when the bytes cannot be decoded, pass the pixel limit, or cannot fit the bounds.
 */
export async function conformImage(input: Buffer, options: ConformOptions): Promise<ConformedImage | null> {
  const decodable = isBmp(input) ? await bmpToPng(input, options) : input;
  const source = () =>
    sharp(decodable, { limitInputPixels: options.maxInputPixels, failOn: "error", pages: 1 }).timeout({
      seconds: options.timeoutSeconds ?? 30,
    });
  const meta = await source().metadata();
  if (!meta.width || !meta.height) throw new Error("the image has no width or height");
  if (meta.width * meta.height > options.maxInputPixels) {
    throw new Error(`the image is ${meta.width}x${meta.height}, above ${options.maxInputPixels} pixels`);
  }
  const upright = meta.autoOrient ?? {
    width: (meta.orientation ?? 1) >= 5 ? meta.height : meta.width,
    height: (meta.orientation ?? 1) >= 5 ? meta.width : meta.height,
  };
  if (hasRatio(upright.width, upright.height, options.ratio)) return null;

  const bounds = options.bounds;
  let size = conformedSize(upright.width, upright.height, options.ratio, options.fit, bounds);
  for (let attempt = 0; attempt < 6; attempt++) {
    for (const quality of JPEG_QUALITIES) {
      const bytes = await encode(source(), size, options.fit, quality);
      if (!bounds || bytes.length <= bounds.maxBytes) return { bytes, mime: "image/jpeg", ...size };
    }
    // Still too many bytes at the lowest quality: smaller, while the short side allows it.
    const next = { width: Math.round(size.width * 0.75), height: Math.round(size.height * 0.75) };
    if (bounds && Math.min(next.width, next.height) < bounds.minSide) break;
    size = next;
  }
  throw new Error(
    `the conformed image does not fit in ${bounds?.maxBytes ?? 0} bytes at ${bounds?.minSide ?? 0} px or more`,
  );
}

function encode(
  pipeline: Sharp,
  size: { width: number; height: number },
  fit: Fit,
  quality: number,
): Promise<Buffer> {
  return pipeline
    .rotate()
    .toColourspace("srgb")
    .flatten({ background: "#000000" })
    .resize(size.width, size.height, {
      fit: fit === "crop" ? "cover" : "contain",
      position: "centre",
      background: { r: 0, g: 0, b: 0, alpha: 1 },
      kernel: "lanczos3",
    })
    .removeAlpha()
    .jpeg({ quality, chromaSubsampling: "4:2:0", mozjpeg: false })
    .toBuffer();
}

function isBmp(bytes: Buffer): boolean {
  return bytes.length > 26 && bytes[0] === 0x42 && bytes[1] === 0x4d;
}

/** BMP through ffmpeg (the bundled libvips has no BMP loader): header-checked, then one PNG frame. */
async function bmpToPng(bytes: Buffer, options: ConformOptions): Promise<Buffer> {
  const headerSize = bytes.readUInt32LE(14);
  const width = headerSize === 12 ? bytes.readUInt16LE(18) : bytes.readInt32LE(18);
  const height = Math.abs(headerSize === 12 ? bytes.readUInt16LE(20) : bytes.readInt32LE(22));
  if (width <= 0 || height <= 0 || width * height > options.maxInputPixels) {
    throw new Error(`the BMP is ${width}x${height}, outside 1..${options.maxInputPixels} pixels`);
  }
  const { stdout } = await run(
    ffmpegPath,
    [
      ...["-v", "error", "-nostdin", "-protocol_whitelist", "pipe", "-f", "bmp_pipe", "-i", "pipe:0"],
      ...["-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "pipe:1"],
    ],
    { input: bytes, signal: AbortSignal.timeout((options.timeoutSeconds ?? 30) * 1000) },
  );
  return stdout;
}
