/**
 * A reference video decoded by ffmpeg into raw yuv420p frames (BT.709, limited range) at the output size and rate: cover-cropped,
 * looped when shorter than the clip and cut when longer.
 */
import { spawn } from "node:child_process";
import { DEFAULT_TOOL_LIMITS, ffmpegPath, limitedCommand, UNTRUSTED_INPUT } from "../media/ffmpeg.ts";

export interface VideoFrames {
  /** The next frame, in order; frames past the decoder's end repeat the last one. */
  next(): Promise<Buffer>;
  close(): void;
}

export function decodeVideoFrames(
  path: string,
  options: {
    width: number;
    height: number;
    fps: number;
    frameCount: number;
    /** The demuxer for the file's sniffed type (media/ffmpeg.ts DEMUXERS): never left to guessing. */
    demuxer: string;
    signal?: AbortSignal;
  },
): VideoFrames {
  const { width, height, fps, frameCount } = options;
  const frameBytes = (width * height * 3) / 2;
  const args = [
    "-hide_banner",
    "-loglevel",
    "error",
    // An uploaded video: local file only, its sniffed demuxer, no stdin.
    "-nostdin",
    ...UNTRUSTED_INPUT,
    "-stream_loop",
    "-1",
    "-f",
    options.demuxer,
    "-i",
    `file:${path}`,
    "-an",
    "-sn",
    "-vf",
    `fps=${fps},scale=${width}:${height}:force_original_aspect_ratio=increase:flags=bicubic:` +
      `out_color_matrix=bt709:out_range=tv,crop=${width}:${height},setsar=1,format=yuv420p`,
    "-frames:v",
    String(frameCount),
    "-f",
    "rawvideo",
    "-pix_fmt",
    "yuv420p",
    "pipe:1",
  ];
  const [command, argv] = limitedCommand(ffmpegPath, args, DEFAULT_TOOL_LIMITS.memoryMb);
  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"], signal: options.signal });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8000);
  });
  let ended = false;
  let failure: Error | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let waiter: (() => void) | undefined;
  let previous: Buffer | undefined;
  const wake = () => {
    const resolve = waiter;
    waiter = undefined;
    resolve?.();
  };
  child.stdout.on("data", (chunk: Buffer) => {
    pending.push(chunk);
    pendingBytes += chunk.length;
    // Hold at most a few frames: pause the decoder until they are consumed.
    if (pendingBytes > frameBytes * 3) child.stdout.pause();
    wake();
  });
  child.stdout.on("end", () => {
    ended = true;
    wake();
  });
  child.on("error", (error) => {
    failure = error;
    wake();
  });
  child.on("close", (code) => {
    if (code !== 0 && code !== null && !failure) {
      failure = new Error(
        `ffmpeg could not decode the reference video: ${stderr.trim().split("\n").slice(-2).join(" | ")}`,
      );
    }
    ended = true;
    wake();
  });

  const take = (): Buffer => {
    const all = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
    const frame = all.subarray(0, frameBytes);
    const rest = all.subarray(frameBytes);
    pending = rest.length > 0 ? [rest] : [];
    pendingBytes = rest.length;
    return Buffer.from(frame);
  };

  return {
    async next() {
      for (;;) {
        if (failure) throw failure;
        if (pendingBytes >= frameBytes) {
          const frame = take();
          if (pendingBytes <= frameBytes * 3) child.stdout.resume();
          previous = frame;
          return frame;
        }
        if (ended) {
          if (previous) return previous;
          throw failure ?? new Error("the reference video has no decodable frames");
        }
        child.stdout.resume();
        await new Promise<void>((resolve) => {
          waiter = resolve;
        });
      }
    },
    close() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}
