/**
 * The ffmpeg side of a render: raw yuv420p frames (BT.709, limited range) arrive on stdin, a soundtrack is synthesized or read
 * from a file, and out comes a deterministic, web-ready H.264/AAC mp4.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { DEFAULT_TOOL_LIMITS, ffmpegPath, limitedCommand, UNTRUSTED_INPUT } from "../media/ffmpeg.ts";

export type Soundtrack =
  | { kind: "none" }
  /** An ambient bed synthesized from the seed. */
  | { kind: "bed"; seed: number }
  /** A reference audio file, trimmed or looped to the clip length. */
  /** A reference audio upload: read with its sniffed demuxer (media/ffmpeg.ts DEMUXERS), local file only. */
  | { kind: "file"; path: string; demuxer: string };

export interface EncoderOptions {
  outputPath: string;
  width: number;
  height: number;
  fps: number;
  frameCount: number;
  soundtrack: Soundtrack;
  signal?: AbortSignal;
  /** x264 preset; veryfast keeps a 720p render near real time on two cores. */
  preset?: string;
}

/** x264 threads are pinned: x264 output depends on the thread count, and renders must be byte-identical. */
const X264_THREADS = 4;
const SAMPLE_RATE = 48000;

const PENTATONIC_ROOTS = [110, 123.47, 130.81, 146.83, 164.81, 98];

function seconds(options: EncoderOptions): string {
  return (options.frameCount / options.fps).toFixed(6);
}

/**
 * The ambient bed: pink noise, low-passed into a soft wash, under two quiet tones a fifth apart with
 * a slow tremolo. Everything derives from the seed, so the same seed gives the same bytes.
 */
export function ambientBedFilter(seed: number, duration: number): string {
  const root = PENTATONIC_ROOTS[seed % PENTATONIC_ROOTS.length] ?? 110;
  const fifth = root * 1.5;
  const octave = root * 2;
  const fadeIn = Math.min(1, duration / 4);
  const fadeOut = Math.min(1.5, duration / 3);
  const d = duration.toFixed(6);
  const noiseSeed = seed % 4294967295;
  const tremolo = (0.15 + (seed % 7) * 0.02).toFixed(2);
  return [
    `anoisesrc=d=${d}:c=pink:r=${SAMPLE_RATE}:a=0.6:seed=${noiseSeed},lowpass=f=900,lowpass=f=900[noise]`,
    `sine=f=${root.toFixed(2)}:r=${SAMPLE_RATE}:d=${d},volume=0.5,tremolo=f=${tremolo}:d=0.6[tone1]`,
    `sine=f=${fifth.toFixed(2)}:r=${SAMPLE_RATE}:d=${d},volume=0.3,tremolo=f=0.11:d=0.7[tone2]`,
    `sine=f=${octave.toFixed(2)}:r=${SAMPLE_RATE}:d=${d},volume=0.12[tone3]`,
    `[noise][tone1][tone2][tone3]amix=inputs=4:duration=first:dropout_transition=0,volume=1.6,` +
      `afade=t=in:st=0:d=${fadeIn.toFixed(3)},afade=t=out:st=${(duration - fadeOut).toFixed(6)}:d=${fadeOut.toFixed(3)},` +
      `aformat=sample_fmts=fltp:sample_rates=${SAMPLE_RATE}:channel_layouts=stereo[aout]`,
  ].join(";");
}

/**
 * A reference track at input index 1, looped by -stream_loop: restamped by sample count first (the
 * timestamps of successive loops overlap, so trimming by time would drop audio), cut to the exact
 * sample count of the clip, faded in and out.
 */
function referenceAudioFilter(duration: number): string {
  const fade = Math.min(0.5, duration / 6);
  return (
    `[1:a]aresample=${SAMPLE_RATE},aformat=sample_fmts=fltp:sample_rates=${SAMPLE_RATE}:channel_layouts=stereo,` +
    `asetpts=N/SR/TB,atrim=end_sample=${Math.round(duration * SAMPLE_RATE)},afade=t=in:st=0:d=${fade.toFixed(3)},` +
    `afade=t=out:st=${(duration - fade).toFixed(6)}:d=${fade.toFixed(3)}[aout]`
  );
}

export function encoderArgs(options: EncoderOptions): string[] {
  const { width, height, fps, soundtrack } = options;
  const duration = options.frameCount / options.fps;
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    "-f",
    "rawvideo",
    "-pix_fmt",
    "yuv420p",
    "-s",
    `${width}x${height}`,
    "-r",
    String(fps),
    "-i",
    "pipe:0",
  ];
  if (soundtrack.kind === "file")
    args.push(
      ...UNTRUSTED_INPUT,
      ...["-stream_loop", "-1", "-f", soundtrack.demuxer, "-i", `file:${soundtrack.path}`],
    );
  // Frames arrive already in the output pixel format: no video filter, no conversion.
  args.push("-map", "0:v");
  if (soundtrack.kind === "bed") args.push("-filter_complex", ambientBedFilter(soundtrack.seed, duration));
  if (soundtrack.kind === "file") args.push("-filter_complex", referenceAudioFilter(duration));
  if (soundtrack.kind !== "none") args.push("-map", "[aout]");
  args.push(
    "-c:v",
    "libx264",
    "-preset",
    options.preset ?? "veryfast",
    // CRF 18, not 20: in slow moves x264 at 20 stalls flat-area edges for a frame or two (skipped
    // blocks), then catches up: measured as 0.48 px jumps in an edge's speed, 0.22 px at 18.
    "-crf",
    "18",
    "-threads",
    String(X264_THREADS),
    "-g",
    String(fps * 2),
    "-pix_fmt",
    "yuv420p",
    // The kernel renders BT.709 limited-range YUV; tag it so players convert back the same way.
    "-colorspace",
    "bt709",
    "-color_primaries",
    "bt709",
    "-color_trc",
    "bt709",
    "-color_range",
    "tv",
  );
  if (soundtrack.kind !== "none")
    args.push("-c:a", "aac", "-b:a", "128k", "-ar", String(SAMPLE_RATE), "-ac", "2");
  else args.push("-an");
  // No -frames:v: in this ffmpeg, reaching a stream's frame limit ends the whole output and cuts
  // the audio short. Exactly frameCount frames arrive on stdin, and -t bounds the audio.
  args.push(
    "-t",
    seconds(options),
    "-map_metadata",
    "-1",
    "-map_chapters",
    "-1",
    "-fflags",
    "+bitexact",
    "-flags:v",
    "+bitexact",
    "-flags:a",
    "+bitexact",
    "-movflags",
    "+faststart",
    "-y",
    options.outputPath,
  );
  return args;
}

export interface Encoder {
  /** Resolves when ffmpeg has taken the frame (waits for the pipe to drain, so memory stays bounded). */
  write(frame: Buffer): Promise<void>;
  /** Close stdin and wait for ffmpeg to finish the file. */
  finish(): Promise<void>;
  /** Stop ffmpeg now (on abort or failure). */
  kill(): void;
}

export function startEncoder(options: EncoderOptions): Encoder {
  // Capped like every run that may read an upload (the reference audio).
  const [command, argv] = limitedCommand(ffmpegPath, encoderArgs(options), DEFAULT_TOOL_LIMITS.memoryMb);
  const child = spawn(command, argv, { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-16_000);
  });
  let failure: Error | undefined;
  const exited = new Promise<void>((resolve, reject) => {
    child.on("error", (error) => {
      failure = error;
      reject(error);
    });
    child.on("close", (code, signal) => {
      if (code === 0) resolve();
      else {
        failure = new Error(
          `ffmpeg exited with ${code ?? signal}: ${stderr.trim().split("\n").slice(-3).join(" | ")}`,
        );
        reject(failure);
      }
    });
  });
  // Callers see the failure from write()/finish(); this keeps it from also surfacing as unhandled.
  exited.catch(() => {});
  child.stdin.on("error", () => {});

  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  };
  const onAbort = () => kill();
  options.signal?.addEventListener("abort", onAbort, { once: true });

  return {
    async write(frame) {
      if (failure) throw failure;
      if (!child.stdin.write(frame)) {
        await Promise.race([once(child.stdin, "drain"), exited]);
      }
      if (failure) throw failure;
    },
    async finish() {
      child.stdin.end();
      try {
        await exited;
      } finally {
        options.signal?.removeEventListener("abort", onAbort);
      }
    },
    kill() {
      kill();
      options.signal?.removeEventListener("abort", onAbort);
    },
  };
}
