/**
 * The source of an edit or extension (docs/api.md §3.2). Given as `metadata.source_task_id`, it is
 * the account's own succeeded task: its stored video becomes a file of the account, appended to
 * the request as the `source_video` entry, so every later step (media checks, the local engine, a
 * provider's fetch) reads it like an uploaded video. An edit's seconds then become the source's.
 */
import { DURATION_TOLERANCE } from "../catalog/media-facts.ts";
import type { CatalogModel } from "../catalog/models.ts";
import { invalid, notFound, shown } from "../domain/errors.ts";
import type { Owner } from "../domain/owner.ts";
import type { NormalizedRequest } from "../domain/request.ts";
import type { FileService } from "../files/service.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { FileRow } from "../store/schema.ts";
import { sha256Hex } from "../util/ids.ts";
import type { TaskRepository } from "./repository.ts";

const PARAM = "metadata.source_task_id";

export interface SourceDeps {
  tasks: Pick<TaskRepository, "get">;
  files: Pick<FileService, "create" | "urlOf" | "byToken">;
  storage: Pick<BlobStorage, "read">;
}

/** Copy the source task's video into a file of `owner` and cite it as the request's source. */
export async function attachSourceTask(
  deps: SourceDeps,
  owner: Owner,
  request: NormalizedRequest,
  model: CatalogModel,
  sourceTaskId: string,
): Promise<FileRow> {
  const task = await deps.tasks.get(owner, sourceTaskId);
  if (!task)
    throw notFound(
      "task_not_found",
      `no task ${shown(sourceTaskId)} exists for this API key's account`,
      PARAM,
    );
  if (task.status !== "succeeded") {
    throw invalid(
      "source_not_ready",
      `task ${task.id} is ${task.status}; only a succeeded task's video can be edited or extended (wait for it, then send this again)`,
      PARAM,
    );
  }
  if (!task.output_key) {
    throw invalid(
      "source_not_ready",
      `the video of task ${task.id} has expired; upload the video instead`,
      PARAM,
    );
  }
  const file = await deps.files.create(
    owner,
    await deps.storage.read(task.output_key),
    `${task.id}.mp4`,
    PARAM,
  );
  const limit = request.operation ? model.operations[request.operation]?.maxSourceSeconds : undefined;
  if (limit !== undefined && file.duration !== null && file.duration > limit + DURATION_TOLERANCE) {
    throw invalid(
      "media_too_long",
      `task ${task.id}'s video lasts ${file.duration.toFixed(2)} s; ${model.id} can ${request.operation} videos of at most ${limit} s`,
      PARAM,
    );
  }
  request.content.push({
    kind: "video",
    role: "source_video",
    index: request.content.filter((m) => m.kind === "video").length + 1,
    position: request.content.length,
    url: deps.files.urlOf(file),
    fileToken: file.token,
  });
  return file;
}

/**
 * The source's length, once known (an upload, a data: URL or a task's video; a remote URL's is not
 * probed at submit): an edit lasts as long as its source, so its seconds (the hold, the echo)
 * become the source's, rounded up; the echo keeps it as `source_seconds`.
 */
export async function applySourceSeconds(
  deps: Pick<SourceDeps, "files">,
  request: NormalizedRequest,
  echo: { source_seconds?: number },
): Promise<void> {
  if (!request.operation) return;
  const source = request.content.find((m) => m.role === "source_video");
  const file = source?.fileToken ? await deps.files.byToken(source.fileToken) : undefined;
  if (!file?.duration) return;
  echo.source_seconds = Math.round(file.duration * 100) / 100;
  if (request.operation === "edit")
    request.seconds = Math.max(1, Math.ceil(file.duration - DURATION_TOLERANCE));
}

/** The stable, non-reversible end-user id providers ask for (Ark `safety_identifier`, xAI `user`). */
export function safetyIdentifierOf(accountId: string): string {
  return sha256Hex(`vidrelay-account:${accountId}`).slice(0, 32);
}
