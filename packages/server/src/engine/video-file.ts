/**
 * What edit.ts and extend.ts share: reading a source video we did not make (sniffed demuxer,
 * `-protocol_whitelist file,pipe`, bounded probe), the source normalised to a constant frame rate
 * and an even size, the H.264/AAC output options of the engine (encoder.ts's settings), the stills
 * every render leaves beside its mp4 (OUTPUT_NAMES) and the RenderResult read back from the file.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { ApiError } from "../domain/errors.ts";
import {
  DEFAULT_TOOL_LIMITS,
  demuxerOf,
  ffmpegPath,
  type ProbeStream,
  parseRate,
  probe,
  run,
  UNTRUSTED_INPUT,
} from "../media/ffmpeg.ts";
import { OUTPUT_NAMES } from "./render.ts";
import type { RenderResult } from "./types.ts";

/** Longest source the engine edits or extends, in seconds (the upload limit's default). */
export const MAX_SOURCE_SECONDS = 60;
/** Largest source frame (2560x1440): the engine works at the source's size. */
export const MAX_SOURCE_PIXELS = 2560 * 1440;
/** Largest mp4 an edit or extension may write; ffmpeg stops at this size (`-fs`) and the render fails. */
export const MAX_OUTPUT_BYTES = 1024 * 1024 * 1024;
export const SAMPLE_RATE = 48000;
/** x264 threads pinned as in encoder.ts, so the same input gives the same bytes. */
const X264_THREADS = 4;

export interface SourceVideo {
  path: string;
  demuxer: string;
  /** Even frame size the output uses (the source's, rounded down to even). */
  width: number;
  height: number;
  /** The frame rate as ffmpeg takes it ("30000/1001", "24/1"), and its value. */
  rate: string;
  fps: number;
  /** Seconds of video. */
  duration: number;
  /** Frames of the source at `rate` (its duration × fps, at least 1). */
  frames: number;
  hasAudio: boolean;
  /** The source's colour tags, carried to the output (its pixel values are kept as they are). */
  colour: { space?: string; primaries?: string; transfer?: string };
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error("render aborted");
  error.name = "AbortError";
  return error;
}

const even = (value: number) => Math.max(2, 2 * Math.floor(value / 2));

/** A usable frame rate: the average rate when sane, else the stream's base rate, else 24. */
function rateOf(stream: ProbeStream): string {
  for (const candidate of [stream.avg_frame_rate, stream.r_frame_rate]) {
    const value = parseRate(candidate);
    if (value >= 1 && value <= 120) return candidate!;
  }
  return "24/1";
}

/** Degrees a player turns the picture: the `rotate` tag or the display matrix's rotation. */
function rotationOf(stream: ProbeStream): number {
  const tagged = Number(stream.tags?.rotate);
  if (Number.isFinite(tagged) && tagged !== 0) return Math.round(tagged);
  const matrix = stream.side_data_list?.find((data) => typeof data.rotation === "number");
  return matrix ? Math.round(matrix.rotation as number) : 0;
}

function tag(value: unknown): string | undefined {
  return typeof value === "string" && value !== "unknown" && value !== "" ? value : undefined;
}

/**
 * Probe a source video (an upload or a provider's output: untrusted) and check it is one the
 * engine can work on.
 * @throws ApiError when it has no video, is longer than MAX_SOURCE_SECONDS or larger than MAX_SOURCE_PIXELS.
 */
export async function inspectSource(path: string, signal?: AbortSignal): Promise<SourceVideo> {
  const demuxer = await demuxerOf(path);
  const info = await probe(path, signal, { demuxer });
  const video = info.streams.find((stream) => stream.codec_type === "video");
  if (!video?.width || !video.height)
    throw new ApiError(
      400,
      "invalid_request_error",
      "no_video_stream",
      "the source video has no video stream",
      "source_video",
    );
  const duration = Number(video.duration ?? info.format.duration);
  if (!Number.isFinite(duration) || duration <= 0)
    throw new ApiError(
      400,
      "invalid_request_error",
      "invalid_file",
      "the source video has no readable duration",
      "source_video",
    );
  if (duration > MAX_SOURCE_SECONDS + 0.5)
    throw new ApiError(
      413,
      "invalid_request_error",
      "duration_too_long",
      `the source video lasts ${duration.toFixed(1)} s; the local engine edits and extends at most ${MAX_SOURCE_SECONDS} s`,
      "source_video",
    );
  if (video.width * video.height > MAX_SOURCE_PIXELS)
    throw new ApiError(
      413,
      "invalid_request_error",
      "video_resolution_too_large",
      `the source video is ${video.width}x${video.height}; the local engine edits and extends at most 2560x1440 pixels`,
      "source_video",
    );
  const rate = rateOf(video);
  const fps = parseRate(rate);
  const raw = video as ProbeStream & Record<string, unknown>;
  // ffmpeg applies a phone video's rotation when decoding: the frames are the displayed way up.
  const sideways = Math.abs(rotationOf(video)) % 180 === 90;
  return {
    path,
    demuxer,
    width: even(sideways ? video.height : video.width),
    height: even(sideways ? video.width : video.height),
    rate,
    fps,
    duration,
    frames: Math.max(1, Math.round(duration * fps)),
    hasAudio: info.streams.some((stream) => stream.codec_type === "audio"),
    colour: {
      space: tag(raw.color_space),
      primaries: tag(raw.color_primaries),
      transfer: tag(raw.color_transfer),
    },
  };
}

/** ffmpeg input options for the source: local file only, its sniffed demuxer. */
export function sourceInput(source: SourceVideo): string[] {
  return [...UNTRUSTED_INPUT, "-f", source.demuxer, "-i", `file:${source.path}`];
}

/**
 * The source's video as the engine works on it: timestamps from 0, a constant `rate`, an even
 * size, square pixels, yuv420p limited range, exactly `frames` frames.
 */
export function normalizedVideo(source: SourceVideo, input = "0:v"): string {
  return (
    `[${input}]setpts=PTS-STARTPTS,fps=fps=${source.rate},` +
    `scale=${source.width}:${source.height}:out_range=tv,setsar=1,format=yuv420p,` +
    // fps= may end a frame early (it stops at the last input timestamp): clone the last frame, then cut.
    `tpad=stop_mode=clone:stop=2,trim=end_frame=${source.frames},setpts=PTS-STARTPTS`
  );
}

/** The source's audio at 48 kHz stereo, padded with silence or cut to exactly `seconds`. */
export function normalizedAudio(seconds: number, input = "0:a"): string {
  return (
    `[${input}]asetpts=PTS-STARTPTS,aresample=${SAMPLE_RATE},` +
    `aformat=sample_fmts=fltp:sample_rates=${SAMPLE_RATE}:channel_layouts=stereo,` +
    `apad,atrim=end_sample=${Math.round(seconds * SAMPLE_RATE)},asetpts=N/SR/TB`
  );
}

/** Output options: H.264 yuv420p (x264 veryfast CRF 18, as encoder.ts), AAC when there is sound, +faststart, no metadata. */
export function outputArgs(options: {
  fps: number;
  colour: SourceVideo["colour"];
  audio: boolean;
  seconds: number;
  outputPath: string;
}): string[] {
  const { colour } = options;
  const args = [
    ...["-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-threads", String(X264_THREADS)],
    ...["-g", String(Math.max(1, Math.round(options.fps * 2))), "-pix_fmt", "yuv420p", "-color_range", "tv"],
  ];
  if (colour.space) args.push("-colorspace", colour.space);
  if (colour.primaries) args.push("-color_primaries", colour.primaries);
  if (colour.transfer) args.push("-color_trc", colour.transfer);
  if (options.audio) args.push("-c:a", "aac", "-b:a", "128k", "-ar", String(SAMPLE_RATE), "-ac", "2");
  else args.push("-an");
  args.push(
    // A bound, not the cut: the filter graph already ends both streams at the right sample.
    ...["-t", (options.seconds + 1).toFixed(3), "-fs", String(MAX_OUTPUT_BYTES)],
    ...["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"],
    ...["-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact"],
    ...["-movflags", "+faststart", "-y", options.outputPath],
  );
  return args;
}

/** Wall time for one ffmpeg run over `seconds` of output at `pixels` per frame, on a small machine. */
export function runTimeoutMs(seconds: number, pixels: number): number {
  return Math.round(60_000 + seconds * 4_000 * Math.max(1, pixels / (1280 * 720)));
}

/** Run ffmpeg over a source we did not make: no stdin, memory-capped, killed on timeout or abort. */
export async function runFfmpeg(
  args: string[],
  signal: AbortSignal | undefined,
  timeoutMs: number,
): Promise<void> {
  await run(ffmpegPath, ["-hide_banner", "-loglevel", "error", "-nostdin", ...args], {
    signal,
    timeoutMs,
    memoryMb: DEFAULT_TOOL_LIMITS.memoryMb,
  });
}

/** The YUV→RGB matrix for stills: BT.601 when the file says so, BT.709 otherwise (as the engine renders). */
function stillMatrix(colour: SourceVideo["colour"]): string {
  return colour.space === "bt470bg" || colour.space === "smpte170m" ? "bt601" : "bt709";
}

/** One frame of a file as packed RGB: `filter` picks it (it must leave exactly one frame first). */
export async function frameRgb(
  inputArgs: string[],
  filter: string,
  size: { width: number; height: number; colour: SourceVideo["colour"] },
  signal?: AbortSignal,
): Promise<Buffer> {
  const { stdout } = await run(
    ffmpegPath,
    [
      ...["-hide_banner", "-loglevel", "error", "-nostdin", ...inputArgs, "-an", "-sn"],
      ...[
        "-filter_complex",
        `${filter},scale=in_color_matrix=${stillMatrix(size.colour)}:in_range=tv:flags=accurate_rnd+full_chroma_int,format=rgb24[still]`,
      ],
      ...["-map", "[still]", "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
    ],
    { signal, timeoutMs: DEFAULT_TOOL_LIMITS.timeoutMs, memoryMb: DEFAULT_TOOL_LIMITS.memoryMb },
  );
  const bytes = size.width * size.height * 3;
  if (stdout.length < bytes) throw new Error("ffmpeg returned no frame for the still");
  return stdout.subarray(0, bytes);
}

/**
 * poster.jpg (the first frame, or `posterFrame`) and, when asked, last-frame.png (last frame) of a finished render, then
 * its RenderResult. `frames` is the number of frames meant to be written (the container's count wins).
 */
export async function finishRender(options: {
  videoPath: string;
  outDir: string;
  width: number;
  height: number;
  frames: number;
  colour: SourceVideo["colour"];
  returnLastFrame?: boolean;
  /** The poster's frame (default 0; an edit that fades in takes the first frame after the fade). */
  posterFrame?: number;
  signal?: AbortSignal;
}): Promise<RenderResult> {
  const { videoPath, outDir, width, height, colour, signal } = options;
  const input = [...UNTRUSTED_INPUT, "-f", "mov", "-i", `file:${videoPath}`];
  const size = { width, height, colour };
  const raw = { raw: { width, height, channels: 3 as const } };
  const posterPath = join(outDir, OUTPUT_NAMES.poster);
  const lastFramePath = options.returnLastFrame ? join(outDir, OUTPUT_NAMES.lastFrame) : undefined;
  const [info, file] = await Promise.all([probe(videoPath, signal), stat(videoPath)]);
  if (file.size >= MAX_OUTPUT_BYTES)
    throw new Error(`the render passed ${MAX_OUTPUT_BYTES} bytes and was stopped`);
  const video = info.streams.find((stream) => stream.codec_type === "video");
  const count = Number(video?.nb_frames) || options.frames;
  const pick = (frame: number) => `[0:v]trim=start_frame=${frame}:end_frame=${frame + 1}`;
  const poster = await frameRgb(input, pick(Math.min(options.posterFrame ?? 0, count - 1)), size, signal);
  await sharp(poster, raw).jpeg({ quality: 85, mozjpeg: true }).toFile(posterPath);
  if (lastFramePath) {
    const pixels = await frameRgb(input, pick(Math.max(0, count - 1)), size, signal);
    await sharp(pixels, raw).png({ compressionLevel: 6 }).toFile(lastFramePath);
  }
  if (signal?.aborted) throw abortError(signal);
  const result: RenderResult = {
    videoPath,
    posterPath,
    width: video?.width ?? width,
    height: video?.height ?? height,
    duration: Number(info.format.duration ?? 0),
    fps: parseRate(video?.avg_frame_rate),
    hasAudio: info.streams.some((stream) => stream.codec_type === "audio"),
    bytes: file.size,
  };
  if (lastFramePath) result.lastFramePath = lastFramePath;
  return result;
}
