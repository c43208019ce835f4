/** Shared helpers for the engine tests: requests, media paths, and decoding rendered frames. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp, { type Sharp } from "sharp";
import type { ContentRole, MediaKind, NormalizedRequest } from "../../src/domain/request.ts";
import type { LocalMedia } from "../../src/engine/types.ts";
import { ffmpegPath, type ProbeResult, probe, run } from "../../src/media/ffmpeg.ts";

export function sample(name: string): string {
  return fileURLToPath(new URL(`../../../../../shared/samples/${name}`, import.meta.url));
}

export function makeRequest(overrides: Partial<NormalizedRequest> = {}): NormalizedRequest {
  return {
    model: "local-test",
    mode: "text",
    prompt: "A quiet harbour at dawn",
    seconds: 2,
    ratio: "16:9",
    resolution: "480p",
    generateAudio: false,
    content: [],
    citations: [],
    ...overrides,
  };
}

export function media(
  path: string,
  kind: MediaKind,
  role: ContentRole,
  index: number,
  position = 0,
): LocalMedia {
  return { kind, role, index, position, url: `file://${path}`, path };
}

export async function withWorkDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "vidrelay-engine-test-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function probeStreams(path: string): Promise<{
  info: ProbeResult;
  video: ProbeResult["streams"][number] | undefined;
  audio: ProbeResult["streams"][number] | undefined;
}> {
  const info = await probe(path);
  return {
    info,
    video: info.streams.find((stream) => stream.codec_type === "video"),
    audio: info.streams.find((stream) => stream.codec_type === "audio"),
  };
}

export interface RgbFrame {
  data: Buffer;
  width: number;
  height: number;
}

/** Decode the frames with the given indices (0-based) as packed RGB. */
export async function decodeFrames(
  path: string,
  indices: number[],
  width: number,
  height: number,
): Promise<RgbFrame[]> {
  const select = indices.map((index) => `eq(n\\,${index})`).join("+");
  const { stdout } = await run(ffmpegPath, [
    "-v",
    "error",
    "-i",
    path,
    "-vf",
    `select='${select}',scale=in_color_matrix=bt709:in_range=tv:flags=accurate_rnd+full_chroma_int`,
    "-vsync",
    "0",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "pipe:1",
  ]);
  const frameBytes = width * height * 3;
  const frames: RgbFrame[] = [];
  for (let offset = 0; offset + frameBytes <= stdout.length; offset += frameBytes) {
    frames.push({ data: stdout.subarray(offset, offset + frameBytes), width, height });
  }
  return frames;
}

/** Every frame, downscaled to a small size (for motion analysis and segment matching). */
export async function decodeAllFramesSmall(path: string, width: number, height: number): Promise<RgbFrame[]> {
  const { stdout } = await run(ffmpegPath, [
    "-v",
    "error",
    "-i",
    path,
    "-vf",
    `scale=${width}:${height}:flags=area:in_color_matrix=bt709:in_range=tv`,
    "-f",
    "rawvideo",
    "-pix_fmt",
    "rgb24",
    "pipe:1",
  ]);
  const frameBytes = width * height * 3;
  const frames: RgbFrame[] = [];
  for (let offset = 0; offset + frameBytes <= stdout.length; offset += frameBytes) {
    frames.push({ data: stdout.subarray(offset, offset + frameBytes), width, height });
  }
  return frames;
}

/** Mean absolute difference per channel value (0..255) between two same-size RGB buffers. */
export function meanAbsDiff(a: Buffer, b: Buffer): number {
  if (a.length !== b.length) throw new Error(`size mismatch ${a.length} vs ${b.length}`);
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i]! - b[i]!);
  return sum / a.length;
}

export function meanColour(data: Buffer): [number, number, number] {
  const sums = [0, 0, 0];
  for (let i = 0; i < data.length; i += 3) {
    sums[0]! += data[i]!;
    sums[1]! += data[i + 1]!;
    sums[2]! += data[i + 2]!;
  }
  const pixels = data.length / 3;
  return [sums[0]! / pixels, sums[1]! / pixels, sums[2]! / pixels];
}

export function luminanceStdDev(data: Buffer): number {
  let sum = 0;
  let squares = 0;
  const pixels = data.length / 3;
  for (let i = 0; i < data.length; i += 3) {
    const y = 0.2126 * data[i]! + 0.7152 * data[i + 1]! + 0.0722 * data[i + 2]!;
    sum += y;
    squares += y * y;
  }
  const mean = sum / pixels;
  return Math.sqrt(Math.max(0, squares / pixels - mean * mean));
}

/** Resize a packed RGB frame (or any image sharp reads) to width x height raw RGB. */
export async function toRgb(
  input: Buffer | string | Sharp,
  width: number,
  height: number,
  raw?: { width: number; height: number },
): Promise<Buffer> {
  const pipeline =
    typeof input === "object" && "resize" in input && !(input instanceof Buffer)
      ? input
      : sharp(input as Buffer | string, raw ? { raw: { ...raw, channels: 3 } } : {});
  return pipeline.resize(width, height, { fit: "fill" }).removeAlpha().raw().toBuffer();
}
