import type { NormalizedMedia } from "../../domain/request.ts";
import { ProviderError, type SubmitContext } from "../types.ts";
import { readError } from "./wire.ts";

const UPLOAD_TIMEOUT_MS = 120_000;
/** The contract takes data: URLs for images and audio (its submit body allows ~126 MB). */
const MAX_INLINE_BYTES = 30 * 1024 * 1024;

/**
 * A media entry as the peer can fetch it: our file URL when it can reach us, otherwise inline. The
 * contract takes data: URLs for images and audio only (docs/api.md §3), so an inline video is
 * uploaded to the peer's `POST /v1/files` first and sent as the URL it answers.
 *
 * The upload comes before the create, so whatever happens to it no task exists yet: a failure is
 * `not_created` (another channel may take the task), or `rejected` when the peer refuses the file.
 */
export async function mediaUrl(media: NormalizedMedia, context: SubmitContext, api: string): Promise<string> {
  const url = await context.mediaUrl(media, { maxInlineBytes: MAX_INLINE_BYTES });
  if (media.kind !== "video" || !url.startsWith("data:")) return url;
  const match = /^data:([^;,]+)(?:;[^,]*)?;base64,(.*)$/s.exec(url);
  if (!match) return url;
  const form = new FormData();
  form.append("purpose", "video_reference");
  form.append(
    "file",
    new Blob([Buffer.from(match[2]!, "base64")], { type: match[1] }),
    `video${media.index}`,
  );
  let status: number;
  let text: string;
  try {
    const response = await fetch(`${api}/files`, {
      method: "POST",
      headers: { authorization: `Bearer ${context.apiKey}` },
      body: form,
      signal: context.signal
        ? AbortSignal.any([context.signal, AbortSignal.timeout(UPLOAD_TIMEOUT_MS)])
        : AbortSignal.timeout(UPLOAD_TIMEOUT_MS),
    });
    status = response.status;
    text = await response.text();
  } catch (error) {
    throw new ProviderError(
      "not_created",
      "upload_failed",
      `uploading video ${media.index}: ${(error as Error).message}`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {}
  const uploaded = (json as { url?: unknown } | undefined)?.url;
  if (status === 200 && typeof uploaded === "string") return uploaded;
  const err = readError(json, text);
  throw new ProviderError(
    status >= 500 || status === 429 ? "not_created" : "rejected",
    err.code || "upload_failed",
    `the gateway refused video ${media.index}: ${err.message}`,
    { httpStatus: status },
  );
}
