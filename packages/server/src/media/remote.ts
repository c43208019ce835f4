import { Readable } from "node:stream";
import { ApiError } from "../domain/errors.ts";
import type { AllowMatcher } from "../net/address-policy.ts";
import { OutboundRequestError } from "../net/outbound-error.ts";
import type { Resolver } from "../net/pinned-http.ts";
import { safeFetch } from "../net/safe-fetch.ts";
import { decodeDataUrl } from "./data-url.ts";
import { type IntakeResult, intakeStream } from "./intake.ts";
import { largestByteLimit, type MediaLimits } from "./limits.ts";
import { fileTooLarge } from "./refusals.ts";
import type { MediaKind } from "./sniff.ts";

export interface RemoteIntakeOptions {
  /** Private targets the operator allows (VIDRELAY_ALLOW_PRIVATE_TARGETS); default none. */
  allow?: AllowMatcher;
  /** Deadline for the whole download (default 20 s). */
  timeoutMs?: number;
  maxRedirects?: number;
  signal?: AbortSignal;
  lookup?: Resolver;
  /** Media kinds acceptable at this parameter (narrows the byte limit applied before sniffing). */
  kinds?: readonly MediaKind[];
}

/** Stable codes for referenced-media fetch failures (all 400 except `file_too_large`, 413). */
export const REMOTE_ERROR_CODES = {
  invalidUrl: "invalid_url",
  urlNotAllowed: "url_not_allowed",
  fetchFailed: "url_fetch_failed",
  fetchTimeout: "url_fetch_timeout",
} as const;

/** Turn a failed outbound fetch of user-supplied media into the ApiError the client sees. */
export function outboundToApiError(err: OutboundRequestError, param: string, maxBytes: number): ApiError {
  const C = REMOTE_ERROR_CODES;
  const bad = (code: string) =>
    new ApiError(400, "invalid_request_error", code, `${param}: ${err.message}`, param);
  switch (err.reason) {
    case "invalid_url":
    case "bad_scheme":
    case "credentials_in_url":
      return bad(C.invalidUrl);
    case "blocked_address":
      return bad(C.urlNotAllowed);
    case "timeout":
      return bad(C.fetchTimeout);
    case "too_large":
      return fileTooLarge(null, maxBytes, param);
    default:
      return bad(C.fetchFailed);
  }
}

/**
 * Take in media referenced by URL: a `data:` URL is decoded, an http(s) URL is downloaded with
 * `safeFetch` (SSRF-checked, capped at the largest applicable byte limit, non-2xx refused), and
 * either way the bytes go through `intakeStream` (sniff, limits, inspection) into `destPath`.
 * Every refusal is an ApiError naming `param`; nothing is left at `destPath` after one.
 */
export async function intakeUrl(
  url: string,
  destPath: string,
  limits: MediaLimits,
  param: string,
  options: RemoteIntakeOptions = {},
): Promise<IntakeResult> {
  const kinds = options.kinds ?? ["image", "video", "audio"];
  if (/^\s*data:/i.test(url)) {
    const { bytes } = decodeDataUrl(url, limits, param, kinds);
    return intakeStream(Readable.from([bytes]), destPath, limits, param, bytes.length, kinds);
  }
  const maxBytes = largestByteLimit(limits, kinds);
  try {
    const res = await safeFetch(url, {
      timeoutMs: options.timeoutMs ?? 20_000,
      maxBytes,
      allow: options.allow,
      maxRedirects: options.maxRedirects,
      signal: options.signal,
      lookup: options.lookup,
      acceptStatus: (status) => status >= 200 && status < 300,
    });
    const length = Number(res.headers["content-length"]);
    const hint = Number.isFinite(length) ? length : undefined;
    return await intakeStream(res.body, destPath, limits, param, hint, kinds);
  } catch (err) {
    if (err instanceof OutboundRequestError) throw outboundToApiError(err, param, maxBytes);
    throw err;
  }
}
