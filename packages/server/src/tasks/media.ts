/**
 * When a task's stored video may be handed out. A finished video is kept for
 * VIDRELAY_VIDEO_TTL_SECONDS; after that the sweep deletes it, and every door (the keyed downloads,
 * the public capability URLs, the task object's `url`) treats it as gone from the moment it
 * expires, whether or not the sweep has run yet.
 */
import { ApiError } from "../domain/errors.ts";
import type { TaskRow } from "../store/schema.ts";

export function videoExpired(task: Pick<TaskRow, "expires_at">, now = Date.now()): boolean {
  return task.expires_at !== null && task.expires_at <= now;
}

/** 410 `video_expired` for a succeeded task whose video is past its expiry (or already deleted). */
export function assertVideoKept(
  task: Pick<TaskRow, "id" | "expires_at" | "output_key">,
  param: string,
): void {
  if (!videoExpired(task) && task.output_key) return;
  const when = task.expires_at ? ` at ${new Date(task.expires_at).toISOString()}` : "";
  throw new ApiError(
    410,
    "invalid_request_error",
    "video_expired",
    `the video of ${task.id} expired${when} and has been deleted (finished videos are kept for VIDRELAY_VIDEO_TTL_SECONDS); download videos before they expire`,
    param,
  );
}
