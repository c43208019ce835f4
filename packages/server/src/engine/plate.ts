/**
 * Plates: source pictures decoded once into raw sRGB pixels at the resolution a shot needs, plus
 * the camera view renderer that samples one output frame out of a plate.
 */
import sharp, { type Sharp } from "sharp";

/** Transparent areas are flattened onto this neutral mid grey. */
export const FLATTEN_BACKGROUND = { r: 128, g: 128, b: 128 } as const;

/**
 * Edge pixels replicated around a plate, so the bilinear sampler never reads outside the picture
 * (which would bleed black into the frame border).
 */
const PLATE_PAD = 3;

export interface Plate {
  /** Packed RGB, (width + 2 * pad) x (height + 2 * pad). */
  data: Buffer;
  /** The picture's size without the padding; the camera moves over this area. */
  width: number;
  height: number;
  pad: number;
}

export interface ViewPose {
  cx: number;
  cy: number;
  zoom: number;
  angle: number;
}

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

async function padPlate(pipeline: Sharp, width: number, height: number): Promise<Plate> {
  const { data, info } = await pipeline
    .extend({
      top: PLATE_PAD,
      bottom: PLATE_PAD,
      left: PLATE_PAD,
      right: PLATE_PAD,
      extendWith: "copy",
    })
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3 || info.width !== width + 2 * PLATE_PAD || info.height !== height + 2 * PLATE_PAD) {
    throw new Error(`unexpected plate layout ${info.width}x${info.height}x${info.channels}`);
  }
  return { data, width, height, pad: PLATE_PAD };
}

/** Load an image file into a plate of exactly width x height (the output shape times an oversampling factor). */
export function loadImagePlate(path: string, width: number, height: number): Promise<Plate> {
  return padPlate(uprightCover(path, width, height), width, height);
}

/** A plate from an already-rendered picture (e.g. the title card PNG). */
export function bufferPlate(picture: Buffer, width: number, height: number): Promise<Plate> {
  return padPlate(
    sharp(picture).toColourspace("srgb").flatten({ background: FLATTEN_BACKGROUND }).resize(width, height, {
      fit: "cover",
    }),
    width,
    height,
  );
}

/** Plate size for an output frame and a zoom range: the geometric middle of the range maps 1:1. */
export function plateSize(
  outWidth: number,
  outHeight: number,
  zoomMin: number,
  zoomMax: number,
): { width: number; height: number } {
  const factor = Math.min(2, Math.sqrt(zoomMin * zoomMax));
  return { width: Math.round(outWidth * factor), height: Math.round(outHeight * factor) };
}

/**
 * One output frame: the part of the plate the camera sees at `pose`, resampled bilinearly at
 * sub-pixel precision (libvips affine with fractional offsets), so slow moves glide instead of
 * stepping a whole pixel at a time. Only the needed window of the plate is read.
 */
export async function renderView(
  plate: Plate,
  pose: ViewPose,
  width: number,
  height: number,
): Promise<Buffer> {
  const stride = plate.width + 2 * plate.pad;
  const rows = plate.height + 2 * plate.pad;
  // The view in plate pixels: its centre and its size.
  const viewWidth = plate.width / pose.zoom;
  const viewHeight = plate.height / pose.zoom;
  const centreX = plate.pad + pose.cx * plate.width;
  const centreY = plate.pad + pose.cy * plate.height;
  const scaleX = width / viewWidth;
  const scaleY = height / viewHeight;
  const cos = Math.cos(pose.angle);
  const sin = Math.sin(pose.angle);
  // Bounding box of the (possibly rolled) view, with a pixel of slack for the interpolator.
  const halfX = (Math.abs(cos) * viewWidth + Math.abs(sin) * viewHeight) / 2;
  const halfY = (Math.abs(sin) * viewWidth + Math.abs(cos) * viewHeight) / 2;
  const left = Math.max(0, Math.floor(centreX - halfX) - 1);
  const top = Math.max(0, Math.floor(centreY - halfY) - 1);
  const right = Math.min(stride, Math.ceil(centreX + halfX) + 2);
  const bottom = Math.min(rows, Math.ceil(centreY + halfY) + 2);
  const region = { left, top, width: right - left, height: bottom - top };

  const source = sharp(plate.data, { raw: { width: stride, height: rows, channels: 3 } }).extract(region);
  if (pose.angle === 0) {
    // Output pixel X samples region x = X / scaleX - idx, so idx places the view's left edge at X = 0.
    const { data, info } = await source
      .affine([scaleX, 0, 0, scaleY], {
        idx: left - (centreX - viewWidth / 2),
        idy: top - (centreY - viewHeight / 2),
        interpolator: "bilinear",
      })
      .raw()
      .toBuffer({ resolveWithObject: true });
    return cropTopLeft(data, info.width, info.height, width, height);
  }
  return renderRolledView(source, region, { centreX, centreY, scaleX, scaleY, cos, sin }, width, height);
}

/**
 * A rolled view. libvips places the output origin at the top-left of the transformed region's
 * bounding box, rounded to a whole pixel (measured: an offset of round(min) reproduces a reference
 * bilinear sampler to within rounding); odx/ody shift the content so the view's centre lands on
 * the frame's centre.
 */
async function renderRolledView(
  source: Sharp,
  region: { left: number; top: number; width: number; height: number },
  view: { centreX: number; centreY: number; scaleX: number; scaleY: number; cos: number; sin: number },
  width: number,
  height: number,
): Promise<Buffer> {
  const { centreX, centreY, scaleX, scaleY, cos, sin } = view;
  // Forward map (region pixel -> frame pixel): scale after rotating by -angle about the view centre.
  const matrix: [number, number, number, number] = [scaleX * cos, scaleX * sin, -scaleY * sin, scaleY * cos];
  const corners = [
    [0, 0],
    [region.width, 0],
    [0, region.height],
    [region.width, region.height],
  ] as const;
  let minX = Number.POSITIVE_INFINITY;
  let minY = Number.POSITIVE_INFINITY;
  for (const [x, y] of corners) {
    minX = Math.min(minX, matrix[0] * x + matrix[1] * y);
    minY = Math.min(minY, matrix[2] * x + matrix[3] * y);
  }
  const cx = centreX - region.left;
  const cy = centreY - region.top;
  // Where the view centre lands without offsets, relative to the output origin.
  const landX = matrix[0] * cx + matrix[1] * cy - Math.round(minX);
  const landY = matrix[2] * cx + matrix[3] * cy - Math.round(minY);
  const { data, info } = await source
    .affine(matrix, {
      odx: width / 2 - landX,
      ody: height / 2 - landY,
      interpolator: "bilinear",
    })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return cropTopLeft(data, info.width, info.height, width, height);
}

/** The top-left width x height of a packed RGB image, copied only when the layout differs. */
export function cropTopLeft(
  data: Buffer,
  fromWidth: number,
  fromHeight: number,
  width: number,
  height: number,
): Buffer {
  if (fromWidth < width || fromHeight < height) {
    throw new Error(`view rendered ${fromWidth}x${fromHeight}, smaller than the ${width}x${height} frame`);
  }
  if (fromWidth === width) return data.subarray(0, width * height * 3);
  const out = Buffer.allocUnsafe(width * height * 3);
  const rowBytes = width * 3;
  for (let y = 0; y < height; y++) {
    data.copy(out, y * rowBytes, y * fromWidth * 3, y * fromWidth * 3 + rowBytes);
  }
  return out;
}
