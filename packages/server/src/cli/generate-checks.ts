/**
 * `vidrelay generate`'s flag checks, run before anything is uploaded: a bad flag is one line and
 * exit 2, with no file left on the server. `checkFlags` needs nothing but the command line and the
 * disk; `checkAgainstModel` then holds the flags and the images against the model's own
 * capabilities, as `GET /v1/models` describes them (the same rules the server applies at submit).
 */
import { open, stat } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import type { Fit, ImageRole, Model, Ratio, Resolution } from "@vidrelay/sdk";
import { didYouMean, nearestIds } from "../catalog/suggest.ts";
import { describeUnsupported } from "../media/describe-unsupported.ts";
import { SNIFF_BYTES, sniffMedia, typeLabel } from "../media/sniff.ts";
import { UsageError } from "./common.ts";

const RATIOS: readonly Ratio[] = ["21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "adaptive"];
const RESOLUTIONS: readonly Resolution[] = ["480p", "720p", "1080p"];
const FITS: readonly Fit[] = ["crop", "pad"];

export const isUrl = (value: string) => /^(https?:|data:)/i.test(value);

/** The flags as the command line gave them, after parsing (whole numbers already checked). */
export interface GenerateFlags {
  images: string[];
  firstFrame?: string;
  lastFrame?: string;
  prompt?: string;
  seconds?: number;
  ratio?: string;
  resolution?: string;
  fit?: string;
  audio?: boolean;
  seed?: number;
  output?: string;
}

/** An image that is a local file, with what a cheap look at it tells. */
export interface LocalImage {
  path: string;
  bytes: number;
  width?: number;
  height?: number;
}

/** Static checks: the flags' own values, the output folder, and every local image. */
export async function checkFlags(flags: GenerateFlags): Promise<Map<string, LocalImage>> {
  oneOf("--ratio", flags.ratio, RATIOS);
  oneOf("--resolution", flags.resolution, RESOLUTIONS);
  oneOf("--fit", flags.fit, FITS);
  if (flags.output !== undefined) await checkOutput(flags.output);
  const images = new Map<string, LocalImage>();
  for (const path of [flags.firstFrame, ...flags.images, flags.lastFrame]) {
    if (path === undefined || isUrl(path) || images.has(path)) continue;
    images.set(path, await readImage(path));
  }
  return images;
}

/** The model the flags name, from the models this key may use; an unknown id says what is close. */
export function findModel(models: readonly Model[], id: string): Model {
  const model = models.find((m) => m.id === id);
  if (model) return model;
  const ids = models.map((m) => m.id);
  throw new UsageError(
    `no model "${id}" for this key.${didYouMean(nearestIds(id, ids))} ` +
      "'vidrelay models' lists the models this key may use",
  );
}

/** The flags and images held against the model (after roles are assigned). */
export function checkAgainstModel(
  model: Model,
  flags: GenerateFlags,
  inputs: readonly { source: string; role: ImageRole }[],
  local: ReadonlyMap<string, LocalImage>,
): void {
  const id = model.id;
  if (flags.seconds !== undefined) {
    const { min, max } = model.seconds;
    if (flags.seconds < min || flags.seconds > max) {
      throw new UsageError(`--seconds ${flags.seconds}: ${id} makes clips of ${min} to ${max} seconds`);
    }
  }
  if (flags.ratio !== undefined && !(model.ratios.values as string[]).includes(flags.ratio)) {
    throw new UsageError(`--ratio ${flags.ratio}: ${id} takes ${model.ratios.values.join(", ")}`);
  }
  if (flags.resolution !== undefined && !(model.resolutions.values as string[]).includes(flags.resolution)) {
    throw new UsageError(
      `--resolution ${flags.resolution}: ${id} makes ${model.resolutions.values.join(", ")}`,
    );
  }
  if (flags.fit === "pad" && !model.parameters.fit.supported) {
    throw new UsageError(
      `--fit pad: ${id} crops to the ratio itself; --fit is for models that conform their first frame ` +
        "(e.g. happyhorse-1.0-i2v)",
    );
  }
  if (flags.audio === true && model.audio.mode === "never") {
    throw new UsageError(`--audio: ${id} makes no soundtrack`);
  }
  if (flags.audio === false && model.audio.mode === "always") {
    throw new UsageError(`--no-audio: ${id} always makes a soundtrack`);
  }
  const seed = model.parameters.seed;
  if (flags.seed !== undefined && seed.supported && (flags.seed < seed.min || flags.seed > seed.max)) {
    throw new UsageError(`--seed ${flags.seed}: ${id} takes ${seed.min} to ${seed.max}`);
  }
  if (flags.prompt !== undefined && flags.prompt.length > model.prompt.max_length) {
    throw new UsageError(
      `--prompt is ${flags.prompt.length} characters; ${id} takes at most ${model.prompt.max_length}`,
    );
  }
  if (flags.prompt === undefined && model.prompt.required === "always") {
    throw new UsageError(`${id} needs a prompt (-p)`);
  }
  checkImages(model, inputs, local);
}

function checkImages(
  model: Model,
  inputs: readonly { source: string; role: ImageRole }[],
  local: ReadonlyMap<string, LocalImage>,
): void {
  const id = model.id;
  const roles = inputs.map((i) => i.role);
  if (roles.length === 0) {
    if (!model.modes.includes("text")) throw new UsageError(`${id} needs an image: pass it with -i`);
    return;
  }
  const references = roles.filter((r) => r === "reference_image").length;
  if (references && references < roles.length) {
    throw new UsageError(
      `${id} uses -i images as references, which cannot be mixed with --first-frame/--last-frame`,
    );
  }
  if (references > model.references.images) {
    throw new UsageError(
      `${id} takes at most ${model.references.images} reference images, not ${references}`,
    );
  }
  if (roles.includes("last_frame")) {
    if (!model.modes.includes("first_last_frame"))
      throw new UsageError(`--last-frame: ${id} takes no last frame`);
    if (!roles.includes("first_frame")) {
      throw new UsageError("--last-frame needs a first frame too (-i or --first-frame)");
    }
  }
  const rules = model.input_image;
  if (!rules) return;
  for (const { source } of inputs) {
    const image = local.get(source);
    if (!image) continue;
    const name = basename(image.path);
    if (image.bytes > rules.max_bytes) {
      throw new UsageError(
        `${name} is ${megabytes(image.bytes)}; ${id} takes images up to ${megabytes(rules.max_bytes)}`,
      );
    }
    const { width, height } = image;
    if (!width || !height) continue;
    const size = `${name} is ${width}x${height} px`;
    const short = Math.min(width, height);
    const long = Math.max(width, height);
    if (short < rules.min_side)
      throw new UsageError(`${size}; ${id} needs at least ${rules.min_side} px on each side`);
    if (rules.max_side !== null && long > rules.max_side) {
      throw new UsageError(`${size}; ${id} takes at most ${rules.max_side} px per side`);
    }
    if (long / short > rules.max_aspect + 1e-9) {
      throw new UsageError(`${size}; ${id} needs an aspect ratio of at most ${rules.max_aspect}:1`);
    }
  }
}

function oneOf(flag: string, value: string | undefined, allowed: readonly string[]): void {
  if (value !== undefined && !allowed.includes(value)) {
    throw new UsageError(
      `${flag} must be ${allowed.slice(0, -1).join(", ")} or ${allowed.at(-1)} (got "${value}")`,
    );
  }
}

async function checkOutput(output: string): Promise<void> {
  const path = resolve(output);
  const here = await stat(path).catch(() => undefined);
  if (here?.isDirectory())
    throw new UsageError(`-o ${output} is a folder; give the file to save, e.g. ${output}/clip.mp4`);
  const folder = await stat(dirname(path)).catch(() => undefined);
  if (!folder?.isDirectory())
    throw new UsageError(`-o ${output}: the folder ${dirname(path)} does not exist`);
}

/** A local image: it exists, is a file, holds an image type the server accepts; its size if cheap. */
async function readImage(path: string): Promise<LocalImage> {
  const info = await stat(path).catch(() => undefined);
  if (!info) throw new UsageError(`cannot read ${path}: no such file`);
  if (!info.isFile()) throw new UsageError(`${path} is not a file`);
  if (info.size === 0) throw new UsageError(`${path} is empty`);
  const head = Buffer.alloc(Math.min(SNIFF_BYTES, info.size));
  try {
    const handle = await open(path, "r");
    try {
      await handle.read(head, 0, head.length, 0);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw new UsageError(`cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
  }
  const sniffed = sniffMedia(head);
  if (sniffed?.kind !== "image") {
    const what = sniffed ? typeLabel(sniffed.mime) : describeUnsupported(head);
    throw new UsageError(`${path} is ${what}; -i takes JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF or HEIC images`);
  }
  return { path, bytes: info.size, ...(await dimensions(path)) };
}

/** Width and height from the image's header (sharp reads no pixels for this); none when unknown. */
async function dimensions(path: string): Promise<{ width?: number; height?: number }> {
  try {
    const { default: sharp } = await import("sharp");
    const { width, height } = await sharp(path).metadata();
    return width && height ? { width, height } : {};
  } catch {
    return {}; // a format sharp cannot read here: the server decides
  }
}

function megabytes(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
