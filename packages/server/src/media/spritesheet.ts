/**
 * A spritesheet of a video: one JPEG holding a grid of evenly spaced frames, for scrubbing
 * previews (OpenAI's `GET /v1/videos/{id}/content?variant=spritesheet`). OpenAI documents the
 * variant only as a JPEG; its grid is not specified, so ours is documented here:
 *
 * - 5 columns × 5 rows = 25 frames by default, read left to right, top to bottom;
 * - frame k (0-based) of n is the one showing time (k + 0.5) × duration / n: the middle of each
 *   n-th of the clip, so a fade at either end does not fill a tile with black;
 * - each tile is `tileWidth` wide (default 256) and the video's shape high, rounded to even:
 *   a 16:9 clip gives 256×144 tiles and a 1280×720 sheet; no gaps or borders between tiles;
 * - tiles the clip cannot fill (fewer frames than tiles) stay black.
 *
 * One ffmpeg run (after a probe) over a file we may not have made: the demuxer forced from the
 * sniffed bytes, local file only, bounded in time and memory; the sheet itself is bounded to
 * MAX_SHEET_PIXELS.
 */
import sharp from "sharp";
import {
  DEFAULT_TOOL_LIMITS,
  demuxerOf,
  ffmpegPath,
  type ProbeStream,
  probe,
  run,
  UNTRUSTED_INPUT,
} from "./ffmpeg.ts";

export interface SpritesheetOptions {
  /** Tiles across (1–10, default 5). */
  columns?: number;
  /** Tiles down (1–10, default 5). */
  rows?: number;
  /** Width of one tile in pixels (16–640, default 256); the height follows the video's shape. */
  tileWidth?: number;
  /** JPEG quality (default 80). */
  quality?: number;
  signal?: AbortSignal;
  /** Wall time of the ffmpeg run (default DEFAULT_TOOL_LIMITS.timeoutMs). */
  timeoutMs?: number;
}

export const SPRITESHEET_DEFAULTS = Object.freeze({ columns: 5, rows: 5, tileWidth: 256, quality: 80 });
/** The largest sheet made, in pixels (about 4096×4096). */
export const MAX_SHEET_PIXELS = 16_777_216;

export interface SpritesheetLayout {
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
  /** The whole sheet. */
  width: number;
  height: number;
  /** The time (seconds) each tile shows, in tile order. */
  times: number[];
}

function bounded(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max)
    throw new RangeError(`spritesheet ${name} must be a whole number from ${min} to ${max}, got ${value}`);
  return value;
}

/** The grid for a video of width × height pixels lasting `duration` seconds. */
export function spritesheetLayout(
  video: { width: number; height: number; duration: number },
  options: Pick<SpritesheetOptions, "columns" | "rows" | "tileWidth"> = {},
): SpritesheetLayout {
  const columns = bounded("columns", options.columns ?? SPRITESHEET_DEFAULTS.columns, 1, 10);
  const rows = bounded("rows", options.rows ?? SPRITESHEET_DEFAULTS.rows, 1, 10);
  const tileWidth = bounded("tileWidth", options.tileWidth ?? SPRITESHEET_DEFAULTS.tileWidth, 16, 640);
  const tileHeight = Math.max(2, 2 * Math.round((tileWidth * video.height) / video.width / 2));
  const width = columns * tileWidth;
  const height = rows * tileHeight;
  if (width * height > MAX_SHEET_PIXELS)
    throw new RangeError(`a ${width}x${height} spritesheet is larger than ${MAX_SHEET_PIXELS} pixels`);
  const count = columns * rows;
  const times = Array.from({ length: count }, (_, k) => ((k + 0.5) * video.duration) / count);
  return { columns, rows, tileWidth, tileHeight, width, height, times };
}

/**
 * The ffmpeg filter: timestamps from 0, then the first frame at or after each tile's time (one
 * frame per time, `select` keeping the next time in variable 0), scaled to the tile, tiled.
 */
export function spritesheetFilter(layout: SpritesheetLayout, matrix: "bt709" | "bt601"): string {
  const first = layout.times[0] ?? 0;
  const step = (layout.times[1] ?? first * 2) - first;
  const next = `if(gte(t\\,ld(0)+${first.toFixed(6)})\\,st(0\\,ld(0)+${step.toFixed(6)})*0+1\\,0)`;
  return (
    `setpts=PTS-STARTPTS,select='${next}',` +
    `scale=${layout.tileWidth}:${layout.tileHeight}:flags=area,setsar=1,` +
    `tile=${layout.columns}x${layout.rows}:padding=0:margin=0,` +
    `scale=in_color_matrix=${matrix}:in_range=tv:flags=accurate_rnd+full_chroma_int,format=rgb24`
  );
}

/** A JPEG spritesheet of the video at `videoPath` (see the file comment for the grid). */
export async function renderSpritesheet(
  videoPath: string,
  options: SpritesheetOptions = {},
): Promise<Buffer> {
  const { signal } = options;
  const demuxer = await demuxerOf(videoPath);
  const info = await probe(videoPath, signal, { demuxer });
  const video = info.streams.find((stream) => stream.codec_type === "video");
  if (!video?.width || !video.height) throw new Error("the video has no video stream");
  const duration = Number(video.duration ?? info.format.duration);
  if (!Number.isFinite(duration) || duration <= 0) throw new Error("the video has no readable duration");
  const layout = spritesheetLayout({ width: video.width, height: video.height, duration }, options);
  const space = (video as ProbeStream & { color_space?: string }).color_space;
  const matrix = space === "bt470bg" || space === "smpte170m" ? "bt601" : "bt709";
  const { stdout } = await run(
    ffmpegPath,
    [
      ...[
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        ...UNTRUSTED_INPUT,
        "-f",
        demuxer,
        "-i",
        `file:${videoPath}`,
      ],
      ...["-an", "-sn", "-dn", "-vf", spritesheetFilter(layout, matrix), "-frames:v", "1"],
      ...["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
    ],
    {
      signal,
      timeoutMs: options.timeoutMs ?? DEFAULT_TOOL_LIMITS.timeoutMs,
      memoryMb: DEFAULT_TOOL_LIMITS.memoryMb,
    },
  );
  const bytes = layout.width * layout.height * 3;
  if (stdout.length < bytes) throw new Error("ffmpeg made no spritesheet of this video");
  return sharp(stdout.subarray(0, bytes), {
    raw: { width: layout.width, height: layout.height, channels: 3 },
  })
    .jpeg({ quality: options.quality ?? SPRITESHEET_DEFAULTS.quality, mozjpeg: true })
    .toBuffer();
}
