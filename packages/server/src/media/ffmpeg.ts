import { execFileSync, spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { open } from "node:fs/promises";
import { createRequire } from "node:module";
import { delimiter, join } from "node:path";
import { SNIFF_BYTES, sniffMedia } from "./sniff.ts";

const require = createRequire(import.meta.url);

/** One media tool as resolved at start: where it is, what it says its version is, and why it was chosen. */
export interface MediaTool {
  path: string;
  /** The first line's version token, e.g. "5.1.6-0+deb12u1" or "N-47683-g0e8eb07980-static" (read on first use). */
  readonly version: string;
  /** The major version when the token starts with one (release builds); null for git snapshots. */
  readonly major: number | null;
  /** `env`: VIDRELAY_FFMPEG_PATH / VIDRELAY_FFPROBE_PATH; `system`: on PATH, version 5 or newer; `bundled`: the npm package. */
  source: "env" | "system" | "bundled";
}

/** The oldest system ffmpeg preferred over the bundled static build (Debian 12 ships 5.1). */
export const MIN_SYSTEM_MAJOR = 5;

/** The version token of `<tool> -version`'s first line ("ffmpeg version 5.1.6-0+deb12u1 Copyright …"). */
export function parseToolVersion(firstLine: string): { version: string; major: number | null } {
  const version = /\bversion\s+(\S+)/.exec(firstLine)?.[1] ?? "unknown";
  const major = /^n?(\d+)\./.exec(version)?.[1];
  return { version, major: major === undefined ? null : Number(major) };
}

function versionOf(path: string): { version: string; major: number | null } | null {
  try {
    const out = execFileSync(path, ["-hide_banner", "-version"], {
      encoding: "utf8",
      timeout: 5000,
      stdio: ["ignore", "pipe", "ignore"],
    });
    return parseToolVersion(out.split("\n")[0] ?? "");
  } catch {
    return null;
  }
}

function onPath(name: string, pathVariable: string | undefined): string | null {
  for (const dir of (pathVariable ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return null;
}

/**
 * Pick a tool: an explicit path wins; then a system build on PATH of version 5 or newer (patched
 * by the distribution, unlike the static build in npm); then the bundled one, so `npm ci` is
 * still the only install step.
 */
export function resolveMediaTool(
  name: "ffmpeg" | "ffprobe",
  env: Record<string, string | undefined>,
  bundledPath: () => string,
): MediaTool {
  const explicit = env[name === "ffmpeg" ? "VIDRELAY_FFMPEG_PATH" : "VIDRELAY_FFPROBE_PATH"];
  if (explicit) return lazyTool(explicit, "env");
  const system = onPath(name, env.PATH);
  if (system) {
    // Only a system build has to answer -version now: its version decides whether it is used.
    const found = versionOf(system);
    if (found?.major != null && found.major >= MIN_SYSTEM_MAJOR) return lazyTool(system, "system", found);
  }
  return lazyTool(bundledPath(), "bundled");
}

/** A tool whose version is asked (one `-version` run) only when someone reads it, e.g. doctor. */
function lazyTool(
  path: string,
  source: MediaTool["source"],
  known?: { version: string; major: number | null },
): MediaTool {
  let found = known;
  const read = () => {
    found ??= versionOf(path) ?? { version: "unknown", major: null };
    return found;
  };
  return {
    path,
    source,
    get version() {
      return read().version;
    },
    get major() {
      return read().major;
    },
  };
}

let resolved: { ffmpeg: MediaTool; ffprobe: MediaTool } | undefined;

/** The ffmpeg and ffprobe this process uses (resolved once, on first use). */
export function mediaTools(): { ffmpeg: MediaTool; ffprobe: MediaTool } {
  resolved ??= {
    ffmpeg: resolveMediaTool("ffmpeg", process.env, () => require("@ffmpeg-installer/ffmpeg").path),
    ffprobe: resolveMediaTool("ffprobe", process.env, () => require("@ffprobe-installer/ffprobe").path),
  };
  return resolved;
}

/** Path of the ffmpeg in use (see mediaTools). */
export const ffmpegPath: string = mediaTools().ffmpeg.path;
/** Path of the ffprobe in use (see mediaTools). */
export const ffprobePath: string = mediaTools().ffprobe.path;

/**
 * Input options for every run on media we did not make: only local files and pipes (no http, hls,
 * concat, subfile, data or tcp tricks reaching out of the file). Callers also force the demuxer
 * (`-f`, see DEMUXERS) so a file cannot be taken for a playlist, and ffmpeg runs get `-nostdin`.
 */
export const UNTRUSTED_INPUT = ["-protocol_whitelist", "file,pipe"] as const;

/**
 * The demuxers allowed for each sniffed type, in order. Forcing the demuxer instead of letting
 * ffmpeg guess keeps a crafted file from being read as a playlist (HLS, concat, …) that opens
 * other files or URLs. An ID3 tag can hide whether MP3 or AAC frames follow, hence the fallback.
 */
export const DEMUXERS: Readonly<Record<string, readonly string[]>> = {
  "video/mp4": ["mov"],
  "video/quicktime": ["mov"],
  "audio/mp4": ["mov"],
  "video/webm": ["matroska"],
  "audio/mpeg": ["mp3", "aac"],
  "audio/wav": ["wav"],
  "audio/ogg": ["ogg"],
  "audio/aac": ["aac", "mp3"],
};

/** The demuxer for a file on disk, from its sniffed bytes; a ToolError when it is no audio or video we read. */
export async function demuxerOf(path: string): Promise<string> {
  const handle = await open(path, "r");
  try {
    const head = Buffer.alloc(SNIFF_BYTES);
    const { bytesRead } = await handle.read(head, 0, SNIFF_BYTES, 0);
    const sniffed = sniffMedia(head.subarray(0, bytesRead));
    const demuxer = sniffed ? DEMUXERS[sniffed.mime]?.[0] : undefined;
    if (!demuxer)
      throw new ToolError(
        `not a video or audio type this server reads (${sniffed?.mime ?? "unknown bytes"})`,
        "failed",
      );
    return demuxer;
  } finally {
    await handle.close();
  }
}

/** Bounds for one run of a media tool on input we did not make. */
export interface ToolLimits {
  /** Wall time before the process is killed (SIGKILL). */
  timeoutMs?: number;
  /** Address-space cap (`ulimit -v`), in MiB: a decoder that tries to allocate more fails. */
  memoryMb?: number;
}

/** Defaults: generous for real media on a small machine, small enough that one bad file cannot take it down. */
export const DEFAULT_TOOL_LIMITS: Readonly<Required<ToolLimits>> = Object.freeze({
  timeoutMs: 120_000,
  memoryMb: 2048,
});

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

/** A tool run that ended badly: `reason` says whether it failed, ran out of time or was cancelled. */
export class ToolError extends Error {
  constructor(
    message: string,
    readonly reason: "failed" | "timeout" | "aborted",
  ) {
    super(message);
    this.name = "ToolError";
  }
}

/**
 * The command line that runs `bin` under a memory cap: `sh` sets `ulimit -v` and execs the tool,
 * so the limit binds the tool alone (arguments pass as positional parameters, never through the
 * shell's parser).
 */
export function limitedCommand(
  bin: string,
  args: string[],
  memoryMb: number | undefined,
): [string, string[]] {
  if (!memoryMb) return [bin, args];
  const kib = String(Math.max(1, Math.floor(memoryMb * 1024)));
  return ["/bin/sh", ["-c", 'ulimit -v "$0" || exit 125; exec "$@"', kib, bin, ...args]];
}

/**
 * Run a binary to completion; rejects with a ToolError carrying the tail of stderr on a non-zero
 * exit, and kills it (SIGKILL) when `timeoutMs` passes or `signal` aborts.
 */
export function run(
  bin: string,
  args: string[],
  options: { signal?: AbortSignal; input?: Buffer } & ToolLimits = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const name = bin.split("/").pop();
    const [command, argv] = limitedCommand(bin, args, options.memoryMb);
    const child = spawn(command, argv, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    let err = "";
    let stopped: "timeout" | "aborted" | undefined;
    const stop = (why: "timeout" | "aborted") => {
      stopped ??= why;
      child.kill("SIGKILL");
    };
    const timer = options.timeoutMs ? setTimeout(() => stop("timeout"), options.timeoutMs) : undefined;
    const onAbort = () => stop("aborted");
    if (options.signal?.aborted) onAbort();
    else options.signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      if (timer) clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    };
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      err += chunk.toString();
      if (err.length > 64_000) err = err.slice(-32_000);
    });
    child.on("error", (error) => {
      done();
      reject(error);
    });
    child.on("close", (code, signal) => {
      done();
      if (code === 0 && !stopped) return resolve({ stdout: Buffer.concat(out), stderr: err });
      const tail = err.trim().split("\n").slice(-3).join(" | ");
      if (stopped === "timeout")
        return reject(
          new ToolError(`${name} ran longer than ${options.timeoutMs} ms and was stopped`, "timeout"),
        );
      if (stopped === "aborted") return reject(new ToolError(`${name} was cancelled`, "aborted"));
      reject(new ToolError(`${name} exited with ${code ?? signal}: ${tail}`, "failed"));
    });
    child.stdin.on("error", () => {});
    if (options.input) child.stdin.end(options.input);
    else child.stdin.end();
  });
}

/**
 * ffprobe a file we did not make (an upload, a provider's video): only the local file, with the
 * demuxer forced from its sniffed type (default mp4), bounded in time and memory.
 */
export async function probe(
  path: string,
  signal?: AbortSignal,
  options: { demuxer?: string } & ToolLimits = {},
): Promise<ProbeResult> {
  const { stdout } = await run(
    ffprobePath,
    [
      ...["-v", "error", ...UNTRUSTED_INPUT, "-f", options.demuxer ?? "mov"],
      ...["-print_format", "json", "-show_format", "-show_streams", `file:${path}`],
    ],
    {
      signal,
      timeoutMs: options.timeoutMs ?? DEFAULT_TOOL_LIMITS.timeoutMs,
      memoryMb: options.memoryMb ?? DEFAULT_TOOL_LIMITS.memoryMb,
    },
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
