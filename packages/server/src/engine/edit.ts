/**
 * The local engine's `edit`: the source video changed as its prompt's edits say (edit-plan.ts), in
 * one ffmpeg run over one filter graph, written as the same outputs a render leaves (clip.mp4,
 * poster.jpg, last-frame.png) so the render job stores it unchanged. Classic video filters, not a
 * generative model: the picture is recoloured, retimed, flipped or cropped, never re-imagined.
 *
 * The source is untrusted (an upload or a provider's output): its demuxer is forced from its
 * sniffed bytes, ffmpeg reads only that file (`-protocol_whitelist file,pipe`, no stdin), runs under
 * a memory cap and a wall-time kill, and stops writing at MAX_OUTPUT_BYTES.
 */
import { join } from "node:path";
import { invalid } from "../domain/errors.ts";
import type { EditPlan, EditStep } from "./edit-plan.ts";
import { OUTPUT_NAMES } from "./render.ts";
import type { RenderResult } from "./types.ts";
import {
  abortError,
  finishRender,
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

export interface EditInput {
  /** The source video (the request's `source_video` entry, as a local file). */
  sourcePath: string;
  plan: EditPlan;
  /** An existing, private directory: the outputs are written here under OUTPUT_NAMES. */
  outDir: string;
  signal?: AbortSignal;
  /** Also write last-frame.png (the request's `returnLastFrame`). */
  returnLastFrame?: boolean;
  onProgress?: (percent: number) => void;
  /** Wall time of the ffmpeg run; default from the output's length and size (runTimeoutMs). */
  timeoutMs?: number;
}

/** Reversing holds every frame of the (cropped) clip in memory: at most this many bytes of frames. */
export const REVERSE_MAX_BYTES = 768 * 1024 * 1024;
/** Brightness shift of `brighter` / `darker` (ffmpeg eq, on a -1..1 scale). */
export const BRIGHTNESS_STEP = 0.1;
export const CONTRAST_FACTOR = 1.3;
/** Longest fade; a short clip fades over a quarter of its length. */
export const FADE_SECONDS = 1;

/** Classic sepia matrix (rows: output R, G, B from input R, G, B). */
const SEPIA = "colorchannelmixer=.393:.769:.189:0:.349:.686:.168:0:.272:.534:.131:0";

export interface EditGraph {
  /** The -filter_complex graph: [vout], and [aout] when `audio`. */
  graph: string;
  width: number;
  height: number;
  /** Frames and seconds of the result. */
  frames: number;
  /** The first frame past a fade-in: the poster. */
  posterFrame: number;
  seconds: number;
  audio: boolean;
}

const has = (plan: EditPlan, name: EditStep["name"]) => plan.operations.some((step) => step.name === name);

/** The centre of a width x height frame at `ratio`, both sides even. */
export function cropToRatio(width: number, height: number, ratio: string): { width: number; height: number } {
  const [a, b] = ratio.split(":").map(Number) as [number, number];
  const even = (value: number) => Math.max(2, 2 * Math.round(value / 2));
  if (width * b > height * a) return { width: Math.min(width, even((height * a) / b)), height };
  return { width, height: Math.min(height, even((width * b) / a)) };
}

/** Speed factor of the plan: 2 (speed up), 0.5 (slow motion) or 1. */
export function speedOf(plan: EditPlan): number {
  return has(plan, "speed_up") ? 2 : has(plan, "slow_motion") ? 0.5 : 1;
}

/**
 * The filter graph for a plan over a source. Order: crop and flips first (less to carry), reverse
 * (holds the clip), retiming, colour, brightness/contrast, blur, fades last (on the final timeline).
 * Pure, so the graph is testable without running ffmpeg.
 * @throws ApiError `unsupported_edit` when reversing would hold more than REVERSE_MAX_BYTES.
 */
export function editGraph(plan: EditPlan, source: SourceVideo): EditGraph {
  const crop = plan.operations.find((step) => step.name === "crop");
  const size = crop?.ratio
    ? cropToRatio(source.width, source.height, crop.ratio)
    : { width: source.width, height: source.height };
  const speed = speedOf(plan);
  const frames = Math.max(1, Math.round(source.frames / speed));
  const seconds = frames / source.fps;
  const fade = Math.min(FADE_SECONDS, seconds / 4);

  const video: string[] = [];
  if (size.width !== source.width || size.height !== source.height)
    video.push(`crop=${size.width}:${size.height}`);
  if (has(plan, "mirror")) video.push("hflip");
  if (has(plan, "flip_vertical")) video.push("vflip");
  if (has(plan, "reverse")) {
    const bytes = source.frames * size.width * size.height * 1.5;
    if (bytes > REVERSE_MAX_BYTES) {
      const most = Math.floor(REVERSE_MAX_BYTES / (size.width * size.height * 1.5) / source.fps);
      throw invalid(
        "unsupported_edit",
        `reverse holds the whole clip in memory: at ${size.width}x${size.height} the local engine reverses at most ${most} s`,
        "prompt",
      );
    }
    video.push("reverse");
  }
  if (speed !== 1) {
    // Double speed keeps the even frames (fps= alone would pick between frames landing on half
    // slots by rounding); half speed shows every frame twice.
    if (speed > 1) video.push(`select=not(mod(n\\,${speed}))`);
    video.push(
      "settb=AVTB",
      `setpts=PTS/${speed}`,
      `fps=fps=${source.rate}`,
      // fps= stops at the last input timestamp, a frame or two short of the retimed length.
      `tpad=stop_mode=clone:stop=${Math.ceil(1 / speed) + 1}`,
      `trim=end_frame=${frames}`,
    );
  }
  if (has(plan, "grayscale")) video.push("hue=s=0");
  if (has(plan, "sepia")) video.push(SEPIA, "format=yuv420p");
  const brightness = has(plan, "brighter") ? BRIGHTNESS_STEP : has(plan, "darker") ? -BRIGHTNESS_STEP : 0;
  const contrast = has(plan, "more_contrast") ? CONTRAST_FACTOR : 1;
  if (brightness !== 0 || contrast !== 1) video.push(`eq=brightness=${brightness}:contrast=${contrast}`);
  if (has(plan, "blur")) {
    const radius = Math.max(2, Math.round(Math.min(size.width, size.height) / 90));
    video.push(
      `boxblur=luma_radius=${radius}:luma_power=2:chroma_radius=${Math.max(1, Math.floor(radius / 2))}:chroma_power=2`,
    );
  }
  if (has(plan, "fade_in")) video.push(`fade=t=in:st=0:d=${fade.toFixed(3)}`);
  if (has(plan, "fade_out")) video.push(`fade=t=out:st=${(seconds - fade).toFixed(6)}:d=${fade.toFixed(3)}`);
  video.push("format=yuv420p");
  const chains = [`${normalizedVideo(source)},${video.join(",")}[vout]`];

  if (source.hasAudio) {
    const audio: string[] = [];
    if (has(plan, "reverse")) audio.push("areverse");
    if (speed !== 1) audio.push(`atempo=${speed}`, "asetpts=N/SR/TB");
    if (has(plan, "fade_in")) audio.push(`afade=t=in:st=0:d=${fade.toFixed(3)}`);
    if (has(plan, "fade_out"))
      audio.push(`afade=t=out:st=${(seconds - fade).toFixed(6)}:d=${fade.toFixed(3)}`);
    // Padded after retiming too: atempo may end a few samples short, and both streams end together.
    audio.push("apad", `atrim=end_sample=${Math.round(seconds * SAMPLE_RATE)}`);
    chains.push(`${normalizedAudio(source.frames / source.fps)},${audio.join(",")}[aout]`);
  }
  const posterFrame = has(plan, "fade_in") ? Math.min(frames - 1, Math.ceil(fade * source.fps)) : 0;
  return { graph: chains.join(";"), ...size, frames, seconds, posterFrame, audio: source.hasAudio };
}

/** Apply an edit plan to a source video: one ffmpeg run, then the stills. */
export async function renderEdit(input: EditInput): Promise<RenderResult> {
  const { signal, outDir } = input;
  if (signal?.aborted) throw abortError(signal);
  input.onProgress?.(0);
  try {
    const source = await inspectSource(input.sourcePath, signal);
    const edit = editGraph(input.plan, source);
    input.onProgress?.(5);
    const videoPath = join(outDir, OUTPUT_NAMES.video);
    await runFfmpeg(
      [
        ...sourceInput(source),
        ...["-filter_complex", edit.graph, "-map", "[vout]"],
        ...(edit.audio ? ["-map", "[aout]"] : []),
        ...outputArgs({
          fps: source.fps,
          colour: source.colour,
          audio: edit.audio,
          seconds: edit.seconds,
          outputPath: videoPath,
        }),
      ],
      signal,
      input.timeoutMs ?? runTimeoutMs(edit.seconds, edit.width * edit.height),
    );
    input.onProgress?.(90);
    const result = await finishRender({
      videoPath,
      outDir,
      width: edit.width,
      height: edit.height,
      frames: edit.frames,
      posterFrame: edit.posterFrame,
      colour: source.colour,
      returnLastFrame: input.returnLastFrame,
      signal,
    });
    input.onProgress?.(100);
    return result;
  } catch (error) {
    throw signal?.aborted ? abortError(signal) : error;
  }
}
