/**
 * Conform a request's first frame to its ratio before it goes anywhere (issue 15 item 7): on a model
 * whose output follows its image (catalog `firstFrameFit`, HappyHorse i2v), validation sets
 * `request.fit` when a fixed ratio was asked, and both the dispatch job (before the upstream submit,
 * DashScope or fal) and the local render job call `conformFirstFrame` first.
 *
 * The reshaped picture (media/conform.ts) is stored as a file of the task's account, like a `data:`
 * URL in a submit, so it has a capability URL the provider can fetch (or is inlined by the adapter's
 * `mediaUrl` when the gateway's origin is not public) and expires with the other files. A picture
 * already at the ratio is sent as it is. The source is read from storage (our own files) or fetched
 * through the SSRF guard with the upload limits (other URLs), exactly as the local engine reads it.
 */
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { Catalog } from "../catalog/models.ts";
import { ApiError } from "../domain/errors.ts";
import type { Owner } from "../domain/owner.ts";
import type { NormalizedMedia, NormalizedRequest } from "../domain/request.ts";
import { conformImage } from "../media/conform.ts";
import type { FileRow } from "../store/schema.ts";
import { type MaterializeDeps, MediaUnavailable, materializeMedia } from "./materialize.ts";

export interface FirstFrameDeps {
  catalog: Catalog;
  materialize: MaterializeDeps;
}

/** The first-frame entry to conform, or null when the request needs nothing. */
export function firstFrameToConform(request: NormalizedRequest): NormalizedMedia | null {
  if (!request.fit || request.ratio === "adaptive") return null;
  return request.content.find((m) => m.kind === "image" && m.role === "first_frame") ?? null;
}

/**
 * The request with its first frame replaced by a stored copy at `request.ratio` (or the request
 * itself when nothing needs conforming).
 * @throws MediaUnavailable when the picture is gone, cannot be fetched or cannot be conformed (the
 * task fails with its code; retrying would not help).
 */
export async function conformFirstFrame(
  request: NormalizedRequest,
  task: { id: string; account_id: string; test_mode: number },
  deps: FirstFrameDeps,
  signal?: AbortSignal,
): Promise<NormalizedRequest> {
  const media = firstFrameToConform(request);
  if (!media || !request.fit || request.ratio === "adaptive") return request;
  const { files, limits } = deps.materialize;
  // The frame is a file of the task's owner, in the task's mode.
  const owner: Owner = { accountId: task.account_id, testMode: task.test_mode === 1 ? 1 : 0 };
  // One conformed picture per task: a retried dispatch (or a render run again after a crash)
  // finds the file its earlier attempt stored instead of adding another to the account's files.
  const fileId = conformedFileId(task.id, request.ratio, request.fit);
  const replacedBy = (file: FileRow): NormalizedRequest => {
    const replaced: NormalizedMedia = { ...media, url: files.urlOf(file), fileToken: file.token };
    return { ...request, content: request.content.map((m) => (m === media ? replaced : m)) };
  };
  const earlier = await files.find(owner, fileId);
  if (earlier) return replacedBy(earlier);
  const workDir = await mkdtemp(join(tmpdir(), "vidrelay-first-frame-"));
  try {
    const [local] = await materializeMedia(
      { ...request, content: [media] },
      workDir,
      deps.materialize,
      signal,
    );
    const where = `the first frame (metadata.content[${media.position}])`;
    let conformed: Awaited<ReturnType<typeof conformImage>>;
    try {
      conformed = await conformImage(await readFile(local!.path), {
        ratio: request.ratio,
        fit: request.fit,
        bounds: deps.catalog.get(request.model)?.inputImage ?? null,
        maxInputPixels: limits.maxImagePixels,
      });
    } catch (error) {
      throw new MediaUnavailable(
        "invalid_media",
        `${where} could not be ${request.fit === "pad" ? "padded" : "cropped"} to ${request.ratio}: ` +
          (error instanceof Error ? error.message : String(error)),
      );
    }
    if (!conformed) return request;
    const name = `first-frame-${request.ratio.replace(":", "x")}-${request.fit}.jpg`;
    const bytes = conformed.bytes;
    const store = (id?: string) => files.create(owner, Readable.from([bytes]), name, "file", { id });
    try {
      return replacedBy(await store(fileId));
    } catch (error) {
      // Another attempt stored it meanwhile (use that one), or an expired copy still holds the id
      // until the sweep removes it (store this one under a fresh id).
      const stored = await files.find(owner, fileId);
      if (stored) return replacedBy(stored);
      if (error instanceof ApiError) throw error;
      return replacedBy(await store());
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

/** The id of a task's conformed first frame: derived, so every attempt of the task names the same file. */
export function conformedFileId(taskId: string, ratio: string, fit: string): string {
  return `file_${createHash("sha256").update(`first-frame\0${taskId}\0${ratio}\0${fit}`).digest("hex").slice(0, 24)}`;
}
