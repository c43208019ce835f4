import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { ApiError } from "../domain/errors.ts";
import type { NormalizedRequest } from "../domain/request.ts";
import type { LocalMedia } from "../engine/types.ts";
import type { FileService } from "../files/service.ts";
import { intakeStream } from "../media/intake.ts";
import type { MediaLimits } from "../media/limits.ts";
import type { AllowMatcher } from "../net/address-policy.ts";
import { safeFetch } from "../net/safe-fetch.ts";
import type { BlobStorage } from "../storage/storage.ts";

/** A media reference the task cannot use: the task fails with this code and message (no retry). */
export class MediaUnavailable extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface MaterializeDeps {
  files: FileService;
  storage: BlobStorage;
  limits: MediaLimits;
  allowPrivate: AllowMatcher;
  fetchTimeoutMs: number;
}

/**
 * Turn every media URL of a request into a local file for the engine. Our own file URLs are read
 * straight from storage (no HTTP round trip, no SSRF refusal of our own host); other URLs go
 * through the SSRF-guarded fetcher and the same intake checks as uploads.
 */
export async function materializeMedia(
  request: NormalizedRequest,
  workDir: string,
  deps: MaterializeDeps,
  signal?: AbortSignal,
): Promise<LocalMedia[]> {
  const out: LocalMedia[] = [];
  for (const media of request.content) {
    const param = `metadata.content[${media.position}].${media.kind}_url.url`;
    const target = join(workDir, `input-${media.kind}${media.index}`);
    const token = media.fileToken ?? deps.files.ownFileToken(media.url);
    if (token) {
      const file = await deps.files.byToken(token);
      if (!file) {
        throw new MediaUnavailable(
          "media_expired",
          `${media.kind} ${media.index} (${param}) expired before rendering`,
        );
      }
      const local = deps.storage.localPath(file.storage_key);
      if (local) {
        out.push({ ...media, path: local });
      } else {
        await pipeline(await deps.storage.read(file.storage_key), createWriteStream(target), { signal });
        out.push({ ...media, path: target });
      }
      continue;
    }
    try {
      const response = await safeFetch(media.url, {
        timeoutMs: deps.fetchTimeoutMs,
        maxBytes: largestLimit(deps.limits),
        allow: deps.allowPrivate,
        signal,
      });
      if (response.status < 200 || response.status > 299) {
        // Discard the body; a later abort must not surface as an unhandled stream error.
        response.body.on("error", () => {});
        response.body.destroy();
        throw new MediaUnavailable(
          "media_fetch_failed",
          `fetching ${media.kind} ${media.index} (${param}) returned HTTP ${response.status}`,
        );
      }
      const { info } = await intakeStream(response.body, target, deps.limits, param);
      if (info.kind !== media.kind) {
        throw new MediaUnavailable(
          "invalid_media",
          `${param} points at ${info.kind} data, but the entry is ${media.kind}_url`,
        );
      }
      out.push({ ...media, path: target });
    } catch (error) {
      if (error instanceof MediaUnavailable) throw error;
      if (error instanceof ApiError)
        throw new MediaUnavailable("invalid_media", `${param}: ${error.message}`);
      if (signal?.aborted) throw error;
      throw new MediaUnavailable(
        "media_fetch_failed",
        `could not fetch ${media.kind} ${media.index} (${param}): ${error instanceof Error ? error.message : error}`,
      );
    }
  }
  return out;
}

function largestLimit(limits: MediaLimits): number {
  return Math.max(limits.maxImageBytes, limits.maxVideoBytes, limits.maxAudioBytes);
}
