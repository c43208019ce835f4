/**
 * The JSON columns of a task row, read and written through one typed reader each instead of a
 * `JSON.parse(...) as` at every use. The shapes are the gateway's own writes (TaskService on
 * submit, the render and ingest jobs on finish); a row from an older release has the same shapes.
 */
import type { NormalizedRequest } from "../domain/request.ts";
import type { TaskRow } from "./schema.ts";

/** `video_json`: what the finished video is (the task object's `video`). */
export interface StoredVideo {
  width: number;
  height: number;
  /** Seconds, to the millisecond. */
  duration: number;
  fps: number;
  has_audio: boolean;
  bytes: number;
}

/** `request_json`: the validated, normalized request the task was accepted with. */
export function requestOf(task: Pick<TaskRow, "request_json">): NormalizedRequest {
  return JSON.parse(task.request_json) as NormalizedRequest;
}

/** `metadata_json`: the echo of the request's vendor parameters, after defaults. */
export function metadataOf(task: Pick<TaskRow, "metadata_json">): Record<string, unknown> {
  return JSON.parse(task.metadata_json) as Record<string, unknown>;
}

/** `video_json`, or null before the task succeeded. */
export function videoOf(task: Pick<TaskRow, "video_json">): StoredVideo | null {
  return task.video_json ? (JSON.parse(task.video_json) as StoredVideo) : null;
}

/** The `video_json` of a finished video (duration rounded to the millisecond, as the API shows it). */
export function videoColumn(video: StoredVideo): string {
  return JSON.stringify({ ...video, duration: Math.round(video.duration * 1000) / 1000 });
}
