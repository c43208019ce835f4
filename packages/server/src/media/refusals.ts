import type { ErrorCode } from "../domain/error-codes.ts";
import { ApiError } from "../domain/errors.ts";
import { formatBytes, formatCount, type MediaLimits } from "./limits.ts";
import type { MediaKind } from "./sniff.ts";

/**
 * The stable error codes media intake refuses with. `param` is where the media came from: "file"
 * for an upload, a JSON path such as `metadata.content[2].image_url.url` for referenced media.
 */
export const MEDIA_ERROR_CODES = {
  /** 415: the bytes are not an accepted type (or a variant this server cannot decode). */
  unsupportedMediaType: "unsupported_media_type",
  /** 413: more bytes than the limit for the kind. */
  fileTooLarge: "file_too_large",
  /** 413: the image decodes to more pixels than the limit. */
  imageTooLarge: "image_too_large",
  /** 413: the video frame has more pixels than the limit. */
  videoResolutionTooLarge: "video_resolution_too_large",
  /** 413: the video or audio runs longer than the limit. */
  durationTooLong: "duration_too_long",
  /** 400: zero bytes. */
  emptyFile: "empty_file",
  /** 400: the bytes claim a type but cannot be decoded as it. */
  invalidFile: "invalid_file",
  /** 400: a video file without a video stream. */
  noVideoStream: "no_video_stream",
  /** 400: an audio file without an audio stream. */
  noAudioStream: "no_audio_stream",
  /** 400: decoding or probing took longer than `inspectTimeoutMs`. */
  inspectionTimeout: "media_inspection_timeout",
  /** 400: a malformed data: URL. */
  invalidDataUrl: "invalid_data_url",
} as const satisfies Record<string, ErrorCode>;

const C = MEDIA_ERROR_CODES;

function kindsText(kinds: readonly MediaKind[], limits: MediaLimits): string {
  const wanted: Record<MediaKind, string> = {
    image: `a JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF or HEIC image (up to ${formatBytes(limits.maxImageBytes)})`,
    video: `an MP4, MOV or WebM video (up to ${formatBytes(limits.maxVideoBytes)})`,
    audio: `an MP3, WAV, M4A, AAC or Ogg audio file (up to ${formatBytes(limits.maxAudioBytes)})`,
  };
  return kinds.map((k) => wanted[k]).join(" or ");
}

export function acceptedTypesText(limits: MediaLimits): string {
  return (
    `a JPEG, PNG, WebP, GIF, BMP, TIFF, AVIF or HEIC image (up to ${formatBytes(limits.maxImageBytes)}), ` +
    `an MP4, MOV or WebM video (up to ${formatBytes(limits.maxVideoBytes)}), ` +
    `or an MP3, WAV, M4A, AAC or Ogg audio file (up to ${formatBytes(limits.maxAudioBytes)})`
  );
}

export function unsupportedMediaType(
  what: string,
  limits: MediaLimits,
  param: string,
  kinds: readonly MediaKind[] = ["image", "video", "audio"],
): ApiError {
  const all = kinds.length === 3;
  return new ApiError(
    415,
    "invalid_request_error",
    C.unsupportedMediaType,
    `${param} is ${what}, which is not an accepted media type (the type is detected from the file's ` +
      `contents, not its name or declared type); send ${all ? acceptedTypesText(limits) : kindsText(kinds, limits)}`,
    param,
  );
}

const KIND_WORD: Record<MediaKind, string> = { image: "image", video: "video", audio: "audio" };

/** 415 for an accepted type in the wrong place, e.g. a video where only images are accepted. */
/** 415 for an accepted type in the wrong place, e.g. a video where only images are accepted. */
export function wrongKind(
  label: string,
  kinds: readonly MediaKind[],
  limits: MediaLimits,
  param: string,
): ApiError {
  const plural: Record<MediaKind, string> = { image: "images", video: "videos", audio: "audio files" };
  return new ApiError(
    415,
    "invalid_request_error",
    C.unsupportedMediaType,
    `${param} is ${label}, but only ${kinds.map((k) => plural[k]).join(" or ")} are accepted here; ` +
      `send ${kindsText(kinds, limits)}`,
    param,
  );
}

export function fileTooLarge(
  kind: MediaKind | null,
  limit: number,
  param: string,
  actual?: { bytes: number; exact: boolean },
): ApiError {
  const size = actual
    ? actual.exact
      ? ` is ${formatBytes(actual.bytes)}`
      : ` is larger than ${formatBytes(limit)}`
    : " is too large";
  const what = kind ? `${KIND_WORD[kind]} files` : "files";
  return new ApiError(
    413,
    "invalid_request_error",
    C.fileTooLarge,
    `${param}${size}; ${what} may be at most ${formatBytes(limit)}. ` +
      `Compress or shorten it (or lower its resolution) and send it again`,
    param,
  );
}

export function imageTooLarge(width: number, height: number, limit: number, param: string): ApiError {
  const side = Math.floor(Math.sqrt(limit));
  return new ApiError(
    413,
    "invalid_request_error",
    C.imageTooLarge,
    `${param} is ${width}x${height} = ${formatCount(width * height)} pixels; images may have at most ` +
      `${formatCount(limit)} pixels. Downscale it (for example to ${side}x${side} or smaller) and send it again`,
    param,
  );
}

export function videoResolutionTooLarge(
  width: number,
  height: number,
  limit: number,
  param: string,
): ApiError {
  return new ApiError(
    413,
    "invalid_request_error",
    C.videoResolutionTooLarge,
    `${param} is a ${width}x${height} video (${formatCount(width * height)} pixels per frame); videos may ` +
      `have at most ${formatCount(limit)} pixels per frame. Scale it down (for example to 1920x1080) and send it again`,
    param,
  );
}

export function durationTooLong(kind: MediaKind, seconds: number, limit: number, param: string): ApiError {
  return new ApiError(
    413,
    "invalid_request_error",
    C.durationTooLong,
    `${param} runs for ${seconds.toFixed(1)} s; ${KIND_WORD[kind]} may be at most ${limit} s long. ` +
      `Trim it and send it again`,
    param,
  );
}

export function emptyFile(param: string): ApiError {
  return new ApiError(
    400,
    "invalid_request_error",
    C.emptyFile,
    `${param} is empty (0 bytes); send the file's contents`,
    param,
  );
}

export function invalidFile(label: string, detail: string, param: string): ApiError {
  return new ApiError(
    400,
    "invalid_request_error",
    C.invalidFile,
    `${param} looks like ${label} but could not be decoded (${detail}); it is probably corrupt or ` +
      `truncated. Re-export or re-download the file and send it again`,
    param,
  );
}

export function inspectionTimeout(label: string, timeoutMs: number, param: string): ApiError {
  return new ApiError(
    400,
    "invalid_request_error",
    C.inspectionTimeout,
    `${param} (${label}) could not be analysed within ${timeoutMs / 1000} s; it may be damaged or ` +
      `unusually complex. Re-encode it with common settings and send it again`,
    param,
  );
}

export function invalidDataUrl(problem: string, param: string): ApiError {
  return new ApiError(
    400,
    "invalid_request_error",
    C.invalidDataUrl,
    `${param} is not a valid data URL: ${problem}. Use the form data:<mime type>;base64,<base64 bytes>`,
    param,
  );
}
