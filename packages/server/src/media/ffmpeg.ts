import { spawn } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** Static ffmpeg/ffprobe builds shipped in npm packages, so `npm ci` is the only install step. */
export const ffmpegPath: string =
  process.env.VIDRELAY_FFMPEG_PATH ?? require("@ffmpeg-installer/ffmpeg").path;
export const ffprobePath: string =
  process.env.VIDRELAY_FFPROBE_PATH ?? require("@ffprobe-installer/ffprobe").path;

export interface ProbeStream {
  codec_type: "video" | "audio" | "subtitle" | "data" | string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  nb_frames?: string;
  sample_rate?: string;
  channels?: number;
  tags?: Record<string, string>;
  side_data_list?: Array<Record<string, unknown>>;
}

export interface ProbeResult {
  format: { format_name: string; duration?: string; size?: string; bit_rate?: string };
  streams: ProbeStream[];
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

/** Run a binary to completion; rejects with the tail of stderr on a non-zero exit. */
export function run(
  bin: string,
  args: string[],
  options: { signal?: AbortSignal; input?: Buffer } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ["pipe", "pipe", "pipe"], signal: options.signal });
    const out: Buffer[] = [];
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      if (err.length > 64_000) err = err.slice(-32_000);
    });
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (code === 0) resolve({ stdout: Buffer.concat(out), stderr: err });
      else
        reject(
          new Error(
            `${bin.split("/").pop()} exited with ${code ?? signal}: ${err.trim().split("\n").slice(-3).join(" | ")}`,
          ),
        );
    });
    child.stdin.on("error", () => {});
    if (options.input) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/** ffprobe a file (JSON output of format and streams). */
export async function probe(path: string, signal?: AbortSignal): Promise<ProbeResult> {
  const { stdout } = await run(
    ffprobePath,
    ["-v", "error", "-print_format", "json", "-show_format", "-show_streams", path],
    { signal },
  );
  return JSON.parse(stdout.toString()) as ProbeResult;
}

/** Frames per second from an ffprobe rational such as "24/1". */
export function parseRate(rate: string | undefined): number {
  if (!rate) return 0;
  const [num, den] = rate.split("/").map(Number);
  if (!num || !den) return 0;
  return num / den;
}
