import type { Kysely } from "kysely";
import { isCancellable } from "../channels/cancel.ts";
import type { Config } from "../config.ts";
import type { UpstreamCancelScope } from "../providers/types.ts";
import type { Database, TaskRow } from "../store/schema.ts";
import { metadataOf, videoOf } from "../store/task-columns.ts";
import { unixSeconds } from "../util/ids.ts";
import { videoExpired } from "./media.ts";
import type { TaskObject } from "./schemas.ts";

/** The task object (docs/api.md §4): what GET returns, SSE streams and webhooks deliver. Its schema is in ./schemas.ts. */
export type { TaskObject, VideoInfo } from "./schemas.ts";

/** What billing knows of a finished task: the `usage` the task object shows. */
export interface TaskUsageSource {
  usageForTask(taskId: string, executor?: Kysely<Database>): Promise<TaskObject["usage"]>;
  usageForTasks(taskIds: string[]): Promise<Map<string, TaskObject["usage"]>>;
}

/** The task object of docs/api.md §4, as GET returns it, SSE streams it and webhooks deliver it. */
export class TaskPresenter {
  constructor(
    private readonly config: Pick<Config, "publicUrl">,
    private readonly usage: TaskUsageSource,
    /** Which tasks each provider (by the name channels store) can stop; none for an unknown one. */
    private readonly cancelScopes: ReadonlyMap<string, UpstreamCancelScope | undefined> = new Map(),
  ) {}

  mediaUrl(task: Pick<TaskRow, "media_token">, ext: "mp4" | "png" | "jpg"): string {
    return `${this.config.publicUrl}/videos/${task.media_token}.${ext}`;
  }

  /** The task object; `usage` comes from billing (see `present`), which knows what was charged. */
  toApi(task: TaskRow, usage?: TaskObject["usage"]): TaskObject {
    const object: TaskObject = {
      task_id: task.id,
      id: task.id,
      object: "video",
      model: task.model,
      status: task.status,
      progress: task.status === "succeeded" ? 100 : task.progress,
      cancellable: isCancellable(task, { cancelScope: this.cancelScopes.get(task.provider) }),
      prompt: task.prompt,
      seconds: String(task.seconds),
      // Written by the submit path as the echo of docs/api.md §4 (catalog/validate.ts).
      metadata: metadataOf(task) as TaskObject["metadata"],
      provider: task.provider,
      format: "mp4",
      created_at: unixSeconds(task.created_at)!,
      started_at: unixSeconds(task.started_at),
      completed_at: unixSeconds(task.completed_at),
      expires_at: unixSeconds(task.expires_at),
    };
    if (task.status === "succeeded" && task.output_key && !videoExpired(task)) {
      object.url = this.mediaUrl(task, "mp4");
      if (task.last_frame_key) object.last_frame_url = this.mediaUrl(task, "png");
      object.thumbnail_url = this.mediaUrl(task, "jpg"); // made on first request when missing
      const video = videoOf(task);
      if (video) object.video = video;
    }
    if (usage) object.usage = usage;
    if (task.status === "failed") {
      object.error = { code: task.error_code ?? "failed", message: task.error_message ?? "the task failed" };
    }
    return object;
  }

  /** toApi with the charged usage looked up (inside `executor`'s transaction when given). */
  async present(task: TaskRow, executor?: Kysely<Database>): Promise<TaskObject> {
    const usage =
      task.status === "succeeded" || task.status === "failed"
        ? await this.usage.usageForTask(task.id, executor)
        : undefined;
    return this.toApi(task, usage);
  }

  async presentMany(tasks: TaskRow[]): Promise<TaskObject[]> {
    const done = tasks.filter((t) => t.status === "succeeded" || t.status === "failed").map((t) => t.id);
    const usage = done.length ? await this.usage.usageForTasks(done) : new Map();
    return tasks.map((t) => this.toApi(t, usage.get(t.id)));
  }
}
