import type { MediaKind } from "./sniff.ts";

/**
 * Size, resolution and duration ceilings for accepted media. A plain object so configuration can
 * override any field: `mediaLimits({ maxImageBytes: config.maxImageBytes, … })` (extra keys of the
 * argument are ignored, so passing the whole server config also works).
 */
export interface MediaLimits {
  /** Largest image file, in bytes (default 30 MB). */
  maxImageBytes: number;
  /** Largest decoded image, width × height of one frame (default 36 megapixels). */
  maxImagePixels: number;
  /** Largest video file, in bytes (default 200 MB). */
  maxVideoBytes: number;
  /** Longest video, in seconds (default 60). */
  maxVideoSeconds: number;
  /** Largest video frame, width × height (default 4096 × 4096). */
  maxVideoPixels: number;
  /** Largest audio file, in bytes (default 50 MB). */
  maxAudioBytes: number;
  /** Longest audio, in seconds (default 60). */
  maxAudioSeconds: number;
  /** How long decoding/probing one file may take before it is refused (default 15 s). */
  inspectTimeoutMs: number;
}

const MB = 1024 * 1024;

export const DEFAULT_MEDIA_LIMITS: Readonly<MediaLimits> = Object.freeze({
  maxImageBytes: 30 * MB,
  maxImagePixels: 36_000_000,
  maxVideoBytes: 200 * MB,
  maxVideoSeconds: 60,
  maxVideoPixels: 4096 * 4096,
  maxAudioBytes: 50 * MB,
  maxAudioSeconds: 60,
  inspectTimeoutMs: 15_000,
});

const KEYS = Object.keys(DEFAULT_MEDIA_LIMITS) as Array<keyof MediaLimits>;

/** Defaults overlaid with the known, defined fields of `overrides`; throws on a non-positive value. */
export function mediaLimits(overrides: Partial<Record<keyof MediaLimits, unknown>> = {}): MediaLimits {
  const limits: MediaLimits = { ...DEFAULT_MEDIA_LIMITS };
  for (const key of KEYS) {
    const value = overrides[key];
    if (value === undefined) continue;
    if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`media limit ${key} must be a positive number, got ${JSON.stringify(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}

export function maxBytesFor(kind: MediaKind, limits: MediaLimits): number {
  return kind === "image"
    ? limits.maxImageBytes
    : kind === "video"
      ? limits.maxVideoBytes
      : limits.maxAudioBytes;
}

export function maxSecondsFor(kind: MediaKind, limits: MediaLimits): number | undefined {
  return kind === "video" ? limits.maxVideoSeconds : kind === "audio" ? limits.maxAudioSeconds : undefined;
}

/** The byte ceiling before the kind is known: the largest limit among `kinds` (default all). */
export function largestByteLimit(
  limits: MediaLimits,
  kinds: readonly MediaKind[] = ["image", "video", "audio"],
): number {
  return Math.max(...kinds.map((kind) => maxBytesFor(kind, limits)));
}

/** "30 MB", "512 KB", "1.5 MB", "900 bytes" (binary units, as the limits are). */
export function formatBytes(n: number): string {
  if (n >= MB) return `${trim(n / MB)} MB`;
  if (n >= 1024) return `${trim(n / 1024)} KB`;
  return `${n} bytes`;
}

function trim(x: number): string {
  return (Math.round(x * 10) / 10).toString();
}

/** "36,000,000" */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
