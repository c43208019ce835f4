/** Source videos for the edit, extend and spritesheet tests, and frame/audio readers for checking their outputs. */
import { join } from "node:path";
import { renderClip } from "../../src/engine/render.ts";
import { ffmpegPath, run } from "../../src/media/ffmpeg.ts";
import { sample } from "../helpers/paths.ts";
import { makeRequest, media } from "./helpers.ts";

/** The engine's size for 480p 16:9. */
export const SOURCE_SIZE = { width: 864, height: 496 } as const;

/**
 * A real photo (landscape-600x450.jpg: red flowers bottom left, "left"/"right" labels) rendered by
 * the engine: 480p 16:9, 24 fps, `seconds` long, a pan (so frames differ), with the ambient bed
 * when `audio`.
 */
export async function renderedSource(dir: string, options: { seconds?: number; audio?: boolean } = {}) {
  const result = await renderClip({
    request: makeRequest({
      mode: "first_frame",
      prompt: "pan left",
      seconds: options.seconds ?? 2,
      ratio: "16:9",
      resolution: "480p",
      generateAudio: options.audio ?? true,
    }),
    media: [media(sample("landscape-600x450.jpg"), "image", "first_frame", 1)],
    workDir: dir,
  });
  return result.videoPath;
}

/** An mp4 made by ffmpeg from a lavfi source (`video` is the lavfi graph), with a 440 Hz tone when `audio`. */
export async function lavfiSource(
  path: string,
  video: string,
  options: { seconds: number; audio?: boolean },
): Promise<string> {
  const audio = options.audio ? ["-f", "lavfi", "-i", `sine=f=440:r=48000:d=${options.seconds}`] : [];
  await run(ffmpegPath, [
    ...["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", video, ...audio],
    ...[
      "-t",
      String(options.seconds),
      "-c:v",
      "libx264",
      "-preset",
      "ultrafast",
      "-crf",
      "12",
      "-pix_fmt",
      "yuv420p",
    ],
    ...(options.audio ? ["-c:a", "aac", "-shortest"] : ["-an"]),
    path,
  ]);
  return path;
}

/** testsrc2 (colour bars and a moving pattern) at the given size and rate. */
export function testPattern(
  dir: string,
  name: string,
  options: { width: number; height: number; fps: number; seconds: number; audio?: boolean },
) {
  return lavfiSource(
    join(dir, name),
    `testsrc2=s=${options.width}x${options.height}:r=${options.fps}:d=${options.seconds}`,
    options,
  );
}

export interface YuvFrame {
  y: Buffer;
  u: Buffer;
  v: Buffer;
}

/** Frame `index` of a video as yuv420p planes. */
export async function yuvFrame(
  path: string,
  index: number,
  width: number,
  height: number,
): Promise<YuvFrame> {
  const { stdout } = await run(ffmpegPath, [
    ...["-v", "error", "-nostdin", "-i", path, "-vf", `select=eq(n\\,${index})`, "-vsync", "0"],
    ...["-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p", "pipe:1"],
  ]);
  const luma = width * height;
  const chroma = (width / 2) * (height / 2);
  if (stdout.length < luma + 2 * chroma) throw new Error(`no frame ${index} in ${path}`);
  return {
    y: stdout.subarray(0, luma),
    u: stdout.subarray(luma, luma + chroma),
    v: stdout.subarray(luma + chroma, luma + 2 * chroma),
  };
}

/** Mean distance of a chroma plane from neutral (128): 0 for a grey picture. */
export function chromaSpread(plane: Buffer): number {
  let sum = 0;
  for (const value of plane) sum += Math.abs(value - 128);
  return sum / plane.length;
}

export function mean(plane: Buffer): number {
  let sum = 0;
  for (const value of plane) sum += value;
  return sum / plane.length;
}

/** Packed RGB mirrored left-right (`horizontal`) or upside down. */
export function flipped(rgb: Buffer, width: number, height: number, horizontal: boolean): Buffer {
  const out = Buffer.alloc(rgb.length);
  for (let row = 0; row < height; row++)
    for (let col = 0; col < width; col++) {
      const from = horizontal ? row * width + (width - 1 - col) : (height - 1 - row) * width + col;
      rgb.copy(out, (row * width + col) * 3, from * 3, from * 3 + 3);
    }
  return out;
}

/** Mean absolute difference between horizontally adjacent luma-ish values: falls when a picture is blurred. */
export function sharpness(rgb: Buffer, width: number): number {
  let sum = 0;
  let count = 0;
  for (let i = 3; i < rgb.length; i += 3) {
    if ((i / 3) % width === 0) continue;
    sum += Math.abs(rgb[i + 1]! - rgb[i - 2]!);
    count++;
  }
  return sum / count;
}

/** Mono samples of a file's audio at `rate`. */
export async function decodeAudio(path: string, rate = 8000): Promise<Float32Array> {
  const { stdout } = await run(ffmpegPath, [
    ...[
      "-v",
      "error",
      "-nostdin",
      "-i",
      path,
      "-vn",
      "-ac",
      "1",
      "-ar",
      String(rate),
      "-f",
      "f32le",
      "pipe:1",
    ],
  ]);
  return new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.byteLength));
}

export function rms(samples: Float32Array): number {
  let sum = 0;
  for (const value of samples) sum += value * value;
  return Math.sqrt(sum / Math.max(1, samples.length));
}
