/**
 * Plates: source pictures decoded once by sharp (upright, sRGB, alpha flattened, cover-cropped
 * around the most salient region) and converted to padded YUV 4:2:0 for the frame kernel.
 */
import sharp, { type Sharp } from "sharp";
import type { YuvPlate } from "./frame-kernel.ts";
import type { FrameWorkerPool } from "./frame-workers.ts";

/** Transparent areas are flattened onto this neutral mid grey. */
export const FLATTEN_BACKGROUND = { r: 128, g: 128, b: 128 } as const;

/**
 * Edge pixels replicated around a plate, so the resampler's taps never read outside the picture
 * (which would bleed black into the frame border). A multiple of 4, so chroma keeps 4 as well.
 */
const PLATE_PAD = 8;

/** Plate pixels per output pixel at an unrolled shot's tightest framing (see plateSize). */
const PLATE_OVERSAMPLE = 1.1;

/** Displayed size of an image file, after its EXIF orientation. */
export async function displaySize(path: string): Promise<{ width: number; height: number }> {
  const meta = await sharp(path).metadata();
  if (meta.autoOrient) return { width: meta.autoOrient.width, height: meta.autoOrient.height };
  const sideways = (meta.orientation ?? 1) >= 5;
  const width = meta.width ?? 1;
  const height = meta.height ?? 1;
  return sideways ? { width: height, height: width } : { width, height };
}

/**
 * The upright, sRGB, alpha-flattened picture, cover-cropped to the given size around its most
 * salient region. Tests use the same pipeline as the reference for "what the image should look like".
 */
export function uprightCover(input: string | Buffer, width: number, height: number): Sharp {
  return sharp(input, { pages: 1 })
    .rotate()
    .toColourspace("srgb")
    .flatten({ background: FLATTEN_BACKGROUND })
    .resize(width, height, { fit: "cover", position: "attention", kernel: "lanczos3" })
    .removeAlpha();
}

async function toPlate(
  pipeline: Sharp,
  width: number,
  height: number,
  workers: FrameWorkerPool,
): Promise<YuvPlate> {
  const { data, info } = await pipeline
    .extend({ top: PLATE_PAD, bottom: PLATE_PAD, left: PLATE_PAD, right: PLATE_PAD, extendWith: "copy" })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const stride = width + 2 * PLATE_PAD;
  const rows = height + 2 * PLATE_PAD;
  if (info.channels !== 3 || info.width !== stride || info.height !== rows) {
    throw new Error(`unexpected plate layout ${info.width}x${info.height}x${info.channels}`);
  }
  const rgb = new SharedArrayBuffer(data.length);
  new Uint8Array(rgb).set(data);
  const result = await workers.run({ op: "plate", rgb, stride, rows, pad: PLATE_PAD, width, height });
  if (!("plate" in result)) throw new Error("frame worker returned no plate");
  return result.plate;
}

/** An image file as a plate of exactly width x height (both even). */
export function loadImagePlate(
  path: string,
  width: number,
  height: number,
  workers: FrameWorkerPool,
): Promise<YuvPlate> {
  return toPlate(uprightCover(path, width, height), width, height, workers);
}

/** A plate from an already-rendered picture of the right shape (the title card). */
export function picturePlate(
  picture: Buffer,
  width: number,
  height: number,
  workers: FrameWorkerPool,
): Promise<YuvPlate> {
  const pipeline = sharp(picture)
    .toColourspace("srgb")
    .flatten({ background: FLATTEN_BACKGROUND })
    .resize(width, height, { fit: "cover" })
    .removeAlpha();
  return toPlate(pipeline, width, height, workers);
}

/**
 * Plate size for an output frame and the zoom range of its shot (both even, for 4:2:0).
 *
 * Unrolled shots: every frame shrinks the plate by at least 1.1x, so the kernel area-averages. At a
 * scale of exactly 1 any interpolation blurs by an amount that follows the sub-pixel phase, which
 * is then the same over the whole frame: a pan at 1:1 visibly "breathes" (measured with bilinear:
 * detail energy swinging 18 % between frames). Away from 1 the phase varies across the frame and
 * detail stays constant (measured: < 0.5 %).
 *
 * Rolled shots (orbit) use the bilinear warp, which only stays smooth while magnifying, so their
 * plate is sized for every frame to enlarge it by at least 1.15x.
 */
export function plateSize(
  outWidth: number,
  outHeight: number,
  zoomMin: number,
  zoomMax: number,
  rolls: boolean,
): { width: number; height: number } {
  const factor = rolls ? zoomMin / 1.15 : Math.min(2, PLATE_OVERSAMPLE * zoomMax);
  const even = (value: number) => 2 * Math.round(value / 2);
  return { width: even(outWidth * factor), height: even(outHeight * factor) };
}
