/**
 * The local engine's `extend`: the source video continued by `seconds` and joined into one mp4.
 * The continuation is the engine's own camera motion (shot-plan.ts poses, plate.ts, the frame
 * kernel, encoder.ts) over the source's last frame, at the source's size and frame rate, so the
 * picture carries on from where the source stops. Nothing new appears in it: it is a camera move
 * over a still, not a generated scene.
 *
 * The continuation starts where the source ends: its frame 0 would be the source's last frame
 * itself, so it is not repeated and the first new frame is the move's first step. Only moves that
 * start on the whole picture can do that without a jump: a push-in (default; slow/fast words apply)
 * or a static hold (`cameraFixed`, "static", "locked"). Other camera words are read as a push-in.
 *
 * Sound: the source's audio carries on to the seam (a 50 ms fade so the cut does not click), then
 * silence over the extension, so audio and video end together. A source without audio gives a
 * result without audio.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { invalid } from "../domain/errors.ts";
import { UNTRUSTED_INPUT } from "../media/ffmpeg.ts";
import { startEncoder } from "./encoder.ts";
import { type FrameWorkerPool, frameWorkers } from "./frame-workers.ts";
import { picturePlate, plateSize } from "./plate.ts";
import { type FrameSource, framesInOrder, OUTPUT_NAMES } from "./render.ts";
import { type CameraDirection, directCamera, poseAt, type Timeline, zoomRange } from "./shot-plan.ts";
import type { RenderResult } from "./types.ts";
import {
  abortError,
  finishRender,
  frameRgb,
  inspectSource,
  normalizedAudio,
  normalizedVideo,
  outputArgs,
  runFfmpeg,
  runTimeoutMs,
  SAMPLE_RATE,
  type SourceVideo,
  sourceInput,
} from "./video-file.ts";

export interface ExtendInput {
  /** The source video (the request's `source_video` entry, as a local file). */
  sourcePath: string;
  /** Seconds to add (whole or not; at least one frame, at most MAX_EXTEND_SECONDS). */
  seconds: number;
  /** An existing, private directory: the outputs are written here under OUTPUT_NAMES. */
  outDir: string;
  signal?: AbortSignal;
  /** The request's prompt, seed and cameraFixed: speed words and a static hold (see above). */
  prompt?: string;
  seed?: number;
  cameraFixed?: boolean;
  returnLastFrame?: boolean;
  onProgress?: (percent: number) => void;
}

export const MAX_EXTEND_SECONDS = 60;
/** Fade of the source's audio at the seam, seconds. */
const SEAM_FADE = 0.05;
/** The continuation before the join, beside the outputs; removed when the render ends. */
const CONTINUATION = "extend-continuation.mp4";

/** The move that continues a clip: push-in (at the prompt's speed) or static; see the file comment. */
export function continuationDirection(request: {
  prompt?: string;
  seed?: number;
  cameraFixed?: boolean;
}): CameraDirection {
  const named = directCamera({
    prompt: request.prompt ?? "",
    seed: request.seed,
    cameraFixed: request.cameraFixed,
  });
  if (named.move === "static") return { move: "static", speed: 1, fromPrompt: true };
  return { move: "push_in", speed: named.speed, fromPrompt: named.fromPrompt && named.move === "push_in" };
}

/**
 * The continuation's frames over `still` (packed RGB at the source's size): frame i is the move at
 * (i + 1) / count, so frame -1 is the still itself.
 */
async function continuationFrames(
  source: SourceVideo,
  still: Buffer,
  direction: CameraDirection,
  frameCount: number,
  workers: FrameWorkerPool,
): Promise<FrameSource> {
  const { width, height, fps } = source;
  const aspect = width / height;
  const seconds = frameCount / fps;
  const [zoomMin, zoomMax] = zoomRange(direction, seconds, aspect);
  const size = plateSize(width, height, zoomMin, zoomMax, false);
  // The plate is the still stretched to the plate's size (its even rounding differs from the
  // frame's shape by < 0.2 %), not cover-cropped: a crop of a plate pixel would shift the whole
  // continuation against the source's last frame.
  const picture = await sharp(still, { raw: { width, height, channels: 3 } })
    .resize(size.width, size.height, { fit: "fill", kernel: "lanczos3" })
    .png({ compressionLevel: 1 })
    .toBuffer();
  const plate = await picturePlate(picture, size.width, size.height, workers);
  const timeline: Timeline = {
    fps,
    frameCount,
    shots: [
      { source: { kind: "image", mediaIndex: 0 }, direction, firstFrame: 0, lastFrame: frameCount - 1 },
    ],
  };
  return {
    width,
    height,
    seed: 0,
    timeline,
    close() {},
    async frame(index) {
      const pose = poseAt(direction, seconds, (index + 1) / frameCount, aspect);
      const result = await workers.run({ op: "frame", layers: [{ plate, pose }], weight: 0, width, height });
      if (!("frame" in result)) throw new Error("frame worker returned no frame");
      return result.frame;
    },
    async toRgb(frame) {
      const result = await workers.run({ op: "rgb", frame, width, height });
      if (!("rgb" in result)) throw new Error("frame worker returned no picture");
      return result.rgb;
    },
  };
}

/** Render the continuation to an mp4 in outDir (no sound), reporting progress 8 → 70. */
async function renderContinuation(
  source: SourceVideo,
  input: ExtendInput,
  frameCount: number,
  progress: (percent: number) => void,
  signal: AbortSignal,
): Promise<string> {
  const { outDir } = input;
  const workers = frameWorkers();
  workers.warm();
  // The source's last frame exactly as the join will show it (BT.709, as the kernel converts back).
  const last = await frameRgb(
    sourceInput(source),
    `${normalizedVideo(source)},trim=start_frame=${source.frames - 1}`,
    { width: source.width, height: source.height, colour: {} },
    signal,
  );
  progress(8);

  const frames = await continuationFrames(source, last, continuationDirection(input), frameCount, workers);
  const outputPath = join(outDir, CONTINUATION);
  const encoder = startEncoder({
    outputPath,
    width: source.width,
    height: source.height,
    fps: source.fps,
    frameCount,
    soundtrack: { kind: "none" },
    signal,
  });
  try {
    let index = 0;
    for await (const pixels of framesInOrder(frames)) {
      if (signal.aborted) throw abortError(signal);
      await encoder.write(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength));
      index++;
      progress(8 + (62 * index) / frameCount);
    }
    await encoder.finish();
  } catch (error) {
    encoder.kill();
    throw signal.aborted ? abortError(signal) : error;
  }
  return outputPath;
}

/** The join: the normalised source, then the continuation; the source's audio, then silence. */
export function joinGraph(source: SourceVideo, frameCount: number): { graph: string; seconds: number } {
  const sourceSeconds = source.frames / source.fps;
  const seconds = (source.frames + frameCount) / source.fps;
  const chains = [
    `${normalizedVideo(source, "0:v")}[head]`,
    `[1:v]setpts=PTS-STARTPTS,setsar=1,format=yuv420p[tail]`,
    `[head][tail]concat=n=2:v=1:a=0,format=yuv420p[vout]`,
  ];
  if (source.hasAudio) {
    const fade = Math.min(SEAM_FADE, sourceSeconds / 4);
    chains.push(
      `${normalizedAudio(sourceSeconds, "0:a")},afade=t=out:st=${(sourceSeconds - fade).toFixed(6)}:d=${fade.toFixed(3)},` +
        `apad,atrim=end_sample=${Math.round(seconds * SAMPLE_RATE)}[aout]`,
    );
  }
  return { graph: chains.join(";"), seconds };
}

/** Continue a source video by `seconds` and join the two into one mp4 (OUTPUT_NAMES in outDir). */
export async function renderExtension(input: ExtendInput): Promise<RenderResult> {
  const { outDir } = input;
  if (!Number.isFinite(input.seconds) || input.seconds <= 0 || input.seconds > MAX_EXTEND_SECONDS)
    throw invalid("out_of_range", `an extension adds 1 to ${MAX_EXTEND_SECONDS} seconds`, "seconds");
  let lastProgress = -1;
  const progress = (percent: number) => {
    const value = Math.min(100, Math.floor(percent));
    if (value <= lastProgress) return;
    lastProgress = value;
    input.onProgress?.(value);
  };
  if (input.signal?.aborted) throw abortError(input.signal);
  progress(0);
  const source = await inspectSource(input.sourcePath, input.signal).catch((error: unknown) => {
    throw input.signal?.aborted ? abortError(input.signal) : error;
  });
  const frameCount = Math.max(1, Math.round(input.seconds * source.fps));
  const join_ = joinGraph(source, frameCount);
  const pixels = source.width * source.height;
  // The whole render is bounded in time, the continuation's frame loop included.
  const timeout = AbortSignal.timeout(2 * runTimeoutMs(join_.seconds, pixels));
  const signal = input.signal ? AbortSignal.any([input.signal, timeout]) : timeout;
  if (signal.aborted) throw abortError(signal);
  progress(2);

  try {
    const continuation = await renderContinuation(source, input, frameCount, progress, signal);
    const videoPath = join(outDir, OUTPUT_NAMES.video);
    await runFfmpeg(
      [
        ...sourceInput(source),
        ...[...UNTRUSTED_INPUT, "-f", "mov", "-i", `file:${continuation}`],
        ...["-filter_complex", join_.graph, "-map", "[vout]"],
        ...(source.hasAudio ? ["-map", "[aout]"] : []),
        ...outputArgs({
          fps: source.fps,
          colour: source.colour,
          audio: source.hasAudio,
          seconds: join_.seconds,
          outputPath: videoPath,
        }),
      ],
      signal,
      runTimeoutMs(join_.seconds, pixels),
    );
    progress(92);
    const result = await finishRender({
      videoPath,
      outDir,
      width: source.width,
      height: source.height,
      frames: source.frames + frameCount,
      colour: source.colour,
      returnLastFrame: input.returnLastFrame,
      signal,
    });
    progress(100);
    return result;
  } catch (error) {
    throw signal.aborted ? abortError(signal) : error;
  } finally {
    await rm(join(outDir, CONTINUATION), { force: true });
  }
}
