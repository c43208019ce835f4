/**
 * A finished task's media, in one place: where each variant is stored, when it may be handed out,
 * and the one handler behind the three doors that serve it — the keyed RelayDance download
 * (`/v1/video/generations/{id}/content`), the OpenAI door (`/v1/videos/{id}/content?variant=`) and
 * the public capability URLs (`/videos/{token}.mp4|.jpg|.png`).
 *
 * A finished video is kept for VIDRELAY_VIDEO_TTL_SECONDS; after that the sweep deletes it, and every
 * door (and the task object's `url`) treats it as gone from the moment it expires, whether or not
 * the sweep has run yet.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../domain/errors.ts";
import { sendBlob } from "../http/range.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { TaskRow } from "../store/schema.ts";

export type MediaVariant = "video" | "thumbnail" | "last_frame" | "spritesheet";

const FORMAT: Record<MediaVariant, { ext: "mp4" | "jpg" | "png"; contentType: string; etagSuffix: string }> =
  {
    video: { ext: "mp4", contentType: "video/mp4", etagSuffix: "" },
    thumbnail: { ext: "jpg", contentType: "image/jpeg", etagSuffix: "t" },
    last_frame: { ext: "png", contentType: "image/png", etagSuffix: "f" },
    spritesheet: { ext: "jpg", contentType: "image/jpeg", etagSuffix: "s" },
  };

/** The variant a capability URL's extension names. */
export const VARIANT_OF_EXTENSION: Record<string, MediaVariant> = {
  mp4: "video",
  jpg: "thumbnail",
  png: "last_frame",
};

/** Storage keys of a task's media (the poster's key is written by Posters when first asked for). */
export const mediaKeys = {
  video: (taskId: string) => `videos/${taskId}.mp4`,
  thumbnail: (taskId: string) => `videos/${taskId}.jpg`,
  lastFrame: (taskId: string) => `videos/${taskId}-last.png`,
  /** Made on first request; not recorded on the row (its key is derived), removed with the video. */
  spritesheet: (taskId: string) => `videos/${taskId}-sprites.jpg`,
};

/** Every stored object of a task, to delete with it (keys that were never written are no-ops). */
export function storedKeysOf(
  task: Pick<TaskRow, "id" | "output_key" | "poster_key" | "last_frame_key">,
): string[] {
  return [
    task.output_key,
    task.poster_key,
    task.last_frame_key,
    task.output_key ? mediaKeys.spritesheet(task.id) : null,
  ].filter((key): key is string => key !== null);
}

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

/** How a keyed door words its refusals (its id parameter, and the task's status as that door names it). */
export interface KeyedDoor {
  param: string;
  /** "task task_… is running" / "video task_… is in_progress". */
  notReady(task: TaskRow): string;
}

/** The one answer of a capability URL that serves nothing (files and videos alike). */
export const NOT_FOUND_HERE = {
  error: {
    message: "no media at this URL: it is unknown or has expired",
    type: "not_found_error",
    code: "media_not_found",
    param: null,
  },
} as const;

export class TaskMedia {
  constructor(
    private readonly deps: {
      storage: BlobStorage;
      /** Posters (posters.ts): the thumbnail's and the spritesheet's keys, made on first request. */
      posters: {
        ensure(task: TaskRow): Promise<string | null>;
        ensureSpritesheet(task: TaskRow): Promise<string | null>;
      };
    },
  ) {}

  /** Where the variant is stored (thumbnails and spritesheets are made on first request); null when there is none. */
  async keyOf(task: TaskRow, variant: MediaVariant): Promise<string | null> {
    if (variant === "video") return task.output_key;
    if (variant === "last_frame") return task.last_frame_key;
    if (variant === "spritesheet") return this.deps.posters.ensureSpritesheet(task);
    return this.deps.posters.ensure(task);
  }

  /**
   * A keyed download: 409 `video_not_ready` until the task succeeded, 410 `video_expired` past its
   * retention, 404 `media_gone` when this variant was never made.
   */
  async sendKeyed(
    request: FastifyRequest,
    reply: FastifyReply,
    task: TaskRow,
    variant: MediaVariant,
    door: KeyedDoor,
  ): Promise<FastifyReply> {
    if (task.status !== "succeeded" || !task.output_key) {
      throw new ApiError(409, "invalid_request_error", "video_not_ready", door.notReady(task), door.param);
    }
    assertVideoKept(task, door.param);
    const key = await this.keyOf(task, variant);
    if (!key) {
      throw new ApiError(404, "not_found_error", "media_gone", `${task.id} has no ${variant}`, door.param);
    }
    return this.send(request, reply, task, variant, key);
  }

  /**
   * A capability URL: the token is the credential, and every miss (unknown, unfinished, deleted,
   * expired, never made) is the same 404, so a URL reveals nothing about a task.
   */
  async sendPublic(
    request: FastifyRequest,
    reply: FastifyReply,
    task: TaskRow | undefined,
    variant: MediaVariant,
  ): Promise<FastifyReply> {
    if (task?.status !== "succeeded" || task.deleted_at != null || videoExpired(task)) {
      return reply.code(404).send(NOT_FOUND_HERE);
    }
    const key = await this.keyOf(task, variant);
    if (!key) return reply.code(404).send(NOT_FOUND_HERE);
    const maxAgeSeconds = task.expires_at
      ? Math.max(0, Math.floor((task.expires_at - Date.now()) / 1000))
      : 3600;
    return this.send(request, reply, task, variant, key, maxAgeSeconds);
  }

  private send(
    request: FastifyRequest,
    reply: FastifyReply,
    task: TaskRow,
    variant: MediaVariant,
    key: string,
    maxAgeSeconds?: number,
  ): Promise<FastifyReply> {
    const format = FORMAT[variant];
    return sendBlob(request, reply, this.deps.storage, {
      key,
      contentType: format.contentType,
      // One token per task; the suffix keeps each variant's tag its own.
      etag: `${task.media_token.slice(0, 12)}${format.etagSuffix}`,
      filename: `${task.id}.${format.ext}`,
      maxAgeSeconds,
    });
  }
}
