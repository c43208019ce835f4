import { open, stat } from "node:fs/promises";
import sharp, { type Metadata } from "sharp";
import { ApiError } from "../domain/errors.ts";
import { describeUnsupported } from "./describe-unsupported.ts";
import {
  DEFAULT_TOOL_LIMITS,
  DEMUXERS,
  ffmpegPath,
  ffprobePath,
  type ProbeResult,
  type ProbeStream,
  run,
  UNTRUSTED_INPUT,
} from "./ffmpeg.ts";
import { type MediaLimits, maxBytesFor, maxSecondsFor } from "./limits.ts";
import {
  durationTooLong,
  emptyFile,
  fileTooLarge,
  imageTooLarge,
  inspectionTimeout,
  invalidFile,
  MEDIA_ERROR_CODES,
  unsupportedMediaType,
  videoResolutionTooLarge,
} from "./refusals.ts";
import { type MediaKind, SNIFF_BYTES, type SniffResult, sniffMedia, typeLabel } from "./sniff.ts";

export interface MediaInfo {
  kind: MediaKind;
  mime: string;
  ext: string;
  /** Display width: after EXIF orientation (images) or rotation metadata (video). */
  width?: number;
  /** Display height, likewise. */
  height?: number;
  /** Seconds (video and audio). */
  duration?: number;
  hasAudio?: boolean;
  hasVideo?: boolean;
}

/**
 * Check a file already on disk against the limits and report what it is. `sniffed` is the result
 * of `sniffMedia` on the file's first bytes (see `inspectFile` to do both). Refusals are ApiErrors
 * naming `param`: 413 when too large/long, 400 when the bytes cannot be decoded as the sniffed
 * type, 415 for an accepted container holding a codec this server cannot decode.
 *
 * Images: the header's dimensions are checked against `maxImagePixels` before anything is
 * decoded, then one frame is decoded (downscaled, with the same pixel limit) to prove the file is
 * intact. Video/audio: ffprobe, bounded by `inspectTimeoutMs`.
 */
export async function inspectMedia(
  path: string,
  sniffed: SniffResult,
  limits: MediaLimits,
  param: string,
): Promise<MediaInfo> {
  const { size } = await stat(path);
  if (size === 0) throw emptyFile(param);
  const limit = maxBytesFor(sniffed.kind, limits);
  if (size > limit) throw fileTooLarge(sniffed.kind, limit, param, { bytes: size, exact: true });
  if (sniffed.kind === "image") {
    const subject = { path, sniffed, limits, param };
    return sniffed.mime === "image/bmp" ? inspectBmp(subject) : inspectImage(subject);
  }
  return inspectAudioVideo(path, size, sniffed, limits, param);
}

/** Sniff the file's head and inspect it; 415 when the bytes are not an accepted type. */
export async function inspectFile(path: string, limits: MediaLimits, param: string): Promise<MediaInfo> {
  const head = await readHead(path, SNIFF_BYTES);
  const sniffed = sniffMedia(head);
  if (!sniffed) {
    if (head.length === 0) throw emptyFile(param);
    throw unsupportedMediaType(describeUnsupported(head), limits, param);
  }
  return inspectMedia(path, sniffed, limits, param);
}

async function readHead(path: string, n: number): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await handle.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

// --- images --------------------------------------------------------------------------------------

/** The libvips loader each sniffed image type must be read by. */
const SHARP_FORMATS: Record<string, string[]> = {
  "image/jpeg": ["jpeg"],
  "image/png": ["png"],
  "image/webp": ["webp"],
  "image/gif": ["gif"],
  "image/tiff": ["tiff"],
  "image/avif": ["heif", "avif"],
  "image/heic": ["heif"],
  "image/heif": ["heif"],
};

/** An image to inspect: the file, what its head says it is, the limits, and the param to blame. */
interface ImageSubject {
  path: string;
  sniffed: SniffResult;
  limits: MediaLimits;
  param: string;
}

/** First line of a libvips error, without file paths. */
function vipsDetail(err: unknown, path: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const line = message.split("\n")[0]!.split(path).join("file").trim();
  return line.replace(/^Input file has corrupt header: /, "corrupt header: ");
}

async function inspectImage({ path, sniffed, limits, param }: ImageSubject): Promise<MediaInfo> {
  const label = typeLabel(sniffed.mime);
  // 1. Header only, with no pixel limit, so the refusal can name the size. Nothing is decoded.
  let meta: Metadata;
  try {
    meta = await sharp(path, { limitInputPixels: false, failOn: "error" }).metadata();
  } catch (err) {
    throw invalidFile(label, vipsDetail(err, path), param);
  }
  const expected = SHARP_FORMATS[sniffed.mime] ?? [];
  if (!expected.includes(meta.format ?? "")) {
    throw invalidFile(label, `its contents decode as ${meta.format ?? "nothing known"}`, param);
  }
  const { width, height } = meta;
  if (!width || !height) throw invalidFile(label, "it has no width or height", param);
  if (width * height > limits.maxImagePixels)
    throw imageTooLarge(width, height, limits.maxImagePixels, param);

  // 2. Decode the first frame, downscaled (JPEG shrink-on-load keeps this cheap), to prove the data
  //    is intact. The pixel limit is enforced again by libvips itself before it allocates.
  try {
    await sharp(path, { limitInputPixels: limits.maxImagePixels, failOn: "error", sequentialRead: true })
      .timeout({ seconds: Math.max(1, Math.ceil(limits.inspectTimeoutMs / 1000)) })
      .resize(64, 64, { fit: "inside" })
      .raw()
      .toBuffer();
  } catch (err) {
    const detail = vipsDetail(err, path);
    if (/timeout/i.test(detail)) throw inspectionTimeout(label, limits.inspectTimeoutMs, param);
    if (/pixel limit/i.test(detail)) throw imageTooLarge(width, height, limits.maxImagePixels, param);
    const heif = sniffed.mime === "image/heic" || sniffed.mime === "image/heif";
    if (heif && /unsupported|no decoding plugin|not built in|codec/i.test(detail)) {
      // Typically an HEVC-coded HEIC (iPhone photo): the bundled libheif decodes only AV1.
      throw new ApiError(
        415,
        "invalid_request_error",
        MEDIA_ERROR_CODES.unsupportedMediaType,
        `${param} is ${label} compressed with a codec this server cannot decode (${detail}). ` +
          `Convert it to JPEG or PNG (on an iPhone: Settings > Camera > Formats > Most Compatible) and send it again`,
        param,
      );
    }
    throw invalidFile(label, detail, param);
  }

  const swap = (meta.orientation ?? 1) >= 5;
  return {
    kind: "image",
    mime: sniffed.mime,
    ext: sniffed.ext,
    width: meta.autoOrient?.width ?? (swap ? height : width),
    height: meta.autoOrient?.height ?? (swap ? width : height),
  };
}

/** BMP: libvips (as bundled with sharp) has no BMP loader, so read the header here and decode with ffmpeg. */
async function inspectBmp({ path, sniffed, limits, param }: ImageSubject): Promise<MediaInfo> {
  const label = typeLabel(sniffed.mime);
  const head = await readHead(path, 26);
  if (head.length < 26) throw invalidFile(label, "the header is truncated", param);
  const headerSize = head.readUInt32LE(14);
  // BITMAPCOREHEADER (12 bytes) has 16-bit sizes; every later header has signed 32-bit ones.
  const width = headerSize === 12 ? head.readUInt16LE(18) : head.readInt32LE(18);
  const rawHeight = headerSize === 12 ? head.readUInt16LE(20) : head.readInt32LE(22);
  const height = Math.abs(rawHeight); // negative = stored top-down
  if (width <= 0 || height <= 0) throw invalidFile(label, `the header says ${width}x${rawHeight}`, param);
  if (width * height > limits.maxImagePixels)
    throw imageTooLarge(width, height, limits.maxImagePixels, param);
  const signal = AbortSignal.timeout(limits.inspectTimeoutMs);
  try {
    await run(
      ffmpegPath,
      [
        ...["-v", "error", "-xerror", "-nostdin", ...UNTRUSTED_INPUT, "-f", "bmp_pipe"],
        ...["-i", `file:${path}`, "-frames:v", "1", "-f", "null", "-"],
      ],
      { signal, memoryMb: DEFAULT_TOOL_LIMITS.memoryMb },
    );
  } catch (err) {
    if (signal.aborted) throw inspectionTimeout(label, limits.inspectTimeoutMs, param);
    throw invalidFile(label, toolDetail(err, path), param);
  }
  return { kind: "image", mime: sniffed.mime, ext: sniffed.ext, width, height };
}

// --- video and audio ---------------------------------------------------------------------------

const AUDIO_BY_DEMUXER: Record<string, SniffResult> = {
  mp3: { kind: "audio", mime: "audio/mpeg", ext: "mp3" },
  aac: { kind: "audio", mime: "audio/aac", ext: "aac" },
};

/** ffprobe with a forced demuxer and only local-file access; resolves with the demuxer that worked. */
async function probeAs(
  path: string,
  demuxers: readonly string[],
  signal: AbortSignal,
): Promise<{ result: ProbeResult; demuxer: string }> {
  let lastError: unknown = new Error("no demuxer for this type");
  for (const demuxer of demuxers) {
    try {
      const { stdout } = await run(
        ffprobePath,
        [
          ...["-v", "error", ...UNTRUSTED_INPUT, "-f", demuxer],
          ...["-print_format", "json", "-show_format", "-show_streams", `file:${path}`],
        ],
        { signal, memoryMb: DEFAULT_TOOL_LIMITS.memoryMb },
      );
      const result = JSON.parse(stdout.toString()) as ProbeResult;
      if (result.format && (result.streams ?? []).length > 0) return { result, demuxer };
      lastError = new Error("no streams found");
    } catch (err) {
      if (signal.aborted) throw err;
      lastError = err;
    }
  }
  throw lastError;
}

type Stream = ProbeStream & { disposition?: Record<string, number> };

function toolDetail(err: unknown, path: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = message
    .split(`file:${path}`)
    .join("file")
    .split(path)
    .join("file")
    .replace(/^ff\w+ exited with \w+: /, "")
    .replace(/\[[\w,]+ @ 0x[0-9a-f]+\] /g, "")
    .split(" | ");
  return [...new Set(lines)].join("; ") || "unreadable";
}

function rotation(stream: Stream): number {
  for (const side of stream.side_data_list ?? []) {
    const r = side["rotation"];
    if (typeof r === "number" && Number.isFinite(r)) return r;
  }
  const tag = Number(stream.tags?.["rotate"]);
  return Number.isFinite(tag) ? tag : 0;
}

function seconds(result: ProbeResult): number | undefined {
  const candidates = [result.format.duration, ...result.streams.map((s) => s.duration)]
    .map((d) => (d === undefined ? Number.NaN : Number(d)))
    .filter((d) => Number.isFinite(d) && d >= 0);
  if (candidates.length === 0) return undefined;
  return Math.max(...candidates);
}

async function inspectAudioVideo(
  path: string,
  size: number,
  sniffedIn: SniffResult,
  limits: MediaLimits,
  param: string,
): Promise<MediaInfo> {
  let sniffed = sniffedIn;
  const label = typeLabel(sniffed.mime);
  const signal = AbortSignal.timeout(limits.inspectTimeoutMs);
  let result: ProbeResult;
  try {
    const probed = await probeAs(path, DEMUXERS[sniffed.mime] ?? [], signal);
    result = probed.result;
    if (probed.demuxer !== DEMUXERS[sniffed.mime]?.[0]) sniffed = AUDIO_BY_DEMUXER[probed.demuxer] ?? sniffed;
  } catch (err) {
    if (signal.aborted) throw inspectionTimeout(label, limits.inspectTimeoutMs, param);
    throw invalidFile(label, toolDetail(err, path), param);
  }

  const streams = (result.streams ?? []) as Stream[];
  // Cover art in MP3/M4A files shows up as a one-frame "video" stream: it does not count.
  const video = streams.find((s) => s.codec_type === "video" && !s.disposition?.["attached_pic"]);
  const hasAudio = streams.some((s) => s.codec_type === "audio");
  const hasVideo = video !== undefined;

  if (sniffed.kind === "video" && !hasVideo) {
    if (hasAudio && sniffed.mime === "video/mp4") {
      // An audio-only MP4 (generic "isom" brand) is an M4A file in all but name.
      sniffed = { kind: "audio", mime: "audio/mp4", ext: "m4a" };
    } else {
      throw new ApiError(
        400,
        "invalid_request_error",
        MEDIA_ERROR_CODES.noVideoStream,
        `${param} is ${label} without a video stream; send a video with picture` +
          (hasAudio ? ", or send audio as MP3, WAV, M4A, AAC or Ogg" : ""),
        param,
      );
    }
  }
  if (sniffed.kind === "audio" && !hasAudio) {
    throw new ApiError(
      400,
      "invalid_request_error",
      MEDIA_ERROR_CODES.noAudioStream,
      `${param} is ${typeLabel(sniffed.mime)} without an audio stream; send a file that contains sound`,
      param,
    );
  }

  const byteLimit = maxBytesFor(sniffed.kind, limits);
  if (size > byteLimit) throw fileTooLarge(sniffed.kind, byteLimit, param, { bytes: size, exact: true });
  const duration = seconds(result);
  const maxSeconds = maxSecondsFor(sniffed.kind, limits);
  if (duration !== undefined && maxSeconds !== undefined && duration > maxSeconds) {
    throw durationTooLong(sniffed.kind, duration, maxSeconds, param);
  }

  const info: MediaInfo = { kind: sniffed.kind, mime: sniffed.mime, ext: sniffed.ext, hasAudio, hasVideo };
  if (duration !== undefined) info.duration = duration;
  if (video?.width && video.height) {
    if (video.width * video.height > limits.maxVideoPixels) {
      throw videoResolutionTooLarge(video.width, video.height, limits.maxVideoPixels, param);
    }
    const quarterTurn = Math.abs(Math.round(rotation(video) / 90)) % 2 === 1;
    info.width = quarterTurn ? video.height : video.width;
    info.height = quarterTurn ? video.width : video.height;
  } else if (sniffed.kind === "video") {
    throw invalidFile(label, "its video stream has no frame size", param);
  }
  return info;
}
