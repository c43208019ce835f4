/**
 * OpenAI's Videos API (`client.videos` of the `openai` SDK) on the same tasks as
 * /v1/video/generations: create (JSON or multipart), retrieve, list, delete, content (video,
 * thumbnail, spritesheet), remix, edit and extend.
 */

import multipart from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import type { Config } from "../config.ts";
import { invalid, shown } from "../domain/errors.ts";
import type { Operation } from "../domain/request.ts";
import { route } from "../http/route.ts";
import { idempotencyHeaders, idParams } from "../http/schema.ts";
import { ownerOf } from "../keys/auth.ts";
import type { KeyedDoor, TaskMedia } from "../tasks/media.ts";
import type { TaskService } from "../tasks/service.ts";
import { readCreateForm, readCreateJson } from "./create-body.ts";
import { readOperationForm, readOperationJson } from "./operation-body.ts";
import {
  OpenAiVideo,
  OpenAiVideoDeleted,
  OpenAiVideoList,
  VideoContentQuery,
  VideoCreateBody,
  VideoEditBody,
  VideoExtendBody,
  VideoListQuery,
  VideoRemixBody,
} from "./schemas.ts";
import type { OpenAiVideos } from "./service.ts";

/** Every route here is in the OpenAI-compatible section of the reference and needs a key. */
const KEYED = { tag: "OpenAI-compatible", auth: "key" } as const;

export interface OpenAiRouteDeps {
  config: Pick<Config, "maxImageBytes" | "maxVideoBytes" | "maxAudioBytes">;
  videos: OpenAiVideos;
  tasks: TaskService;
  media: TaskMedia;
}

const VideoParams = idParams("video_id", "task_…");
const IDEMPOTENCY = idempotencyHeaders("video");

export async function openAiVideoRoutes(app: FastifyInstance, deps: OpenAiRouteDeps): Promise<void> {
  const { videos, config } = deps;
  await app.register(multipart, {
    limits: {
      fileSize: Math.max(config.maxImageBytes, config.maxVideoBytes) + 1,
      files: 1,
      fields: 10,
      parts: 12,
      fieldSize: 64 * 1024,
    },
  });

  route(app, {
    method: "POST",
    url: "/v1/videos",
    operationId: "openaiCreateVideo",
    summary: "Create a video (OpenAI Videos API; JSON or multipart with an input_reference file)",
    ...KEYED,
    body: VideoCreateBody,
    bodyMode: "domain",
    headers: IDEMPOTENCY,
    response: OpenAiVideo,
    errors: [400, 401, 403, 404, 409, 413, 415, 429],
  })(async ({ request, headers }) => {
    const { body, reference } = request.isMultipart()
      ? await readCreateForm(request, videos)
      : readCreateJson(request.body);
    return videos.toOpenAi(
      await videos.create(request.principal, body, reference, headers["Idempotency-Key"]),
    );
  });

  route(app, {
    method: "POST",
    url: "/v1/videos/:video_id/remix",
    operationId: "openaiRemixVideo",
    summary: "Remix: a new video with the same inputs and parameters and a new prompt",
    ...KEYED,
    params: VideoParams,
    body: VideoRemixBody,
    headers: IDEMPOTENCY,
    response: OpenAiVideo,
    errors: [400, 401, 403, 404, 409, 429],
  })(async ({ request, params, body, headers }) =>
    videos.toOpenAi(
      await videos.remix(request.principal, params.video_id, body.prompt, headers["Idempotency-Key"]),
    ),
  );

  for (const operation of ["edit", "extend"] as const) declareOperation(app, deps, operation);
  declareReads(app, deps);
}

/** `POST /v1/videos/edits` and `/v1/videos/extensions`: a new video from a completed one (docs/api.md §3.2). */
function declareOperation(app: FastifyInstance, deps: OpenAiRouteDeps, operation: Operation): void {
  const { videos } = deps;
  route(app, {
    method: "POST",
    url: operation === "edit" ? "/v1/videos/edits" : "/v1/videos/extensions",
    operationId: operation === "edit" ? "openaiEditVideo" : "openaiExtendVideo",
    summary:
      operation === "edit"
        ? "Edit a video (an upload, or {id} of a completed one): a new video of the same length"
        : "Extend a video by `seconds`: a new video, the source followed by its continuation",
    ...KEYED,
    body: operation === "edit" ? VideoEditBody : VideoExtendBody,
    bodyMode: "domain",
    headers: IDEMPOTENCY,
    response: OpenAiVideo,
    errors: [400, 401, 403, 404, 409, 413, 415, 429],
  })(async ({ request, headers }) => {
    const { body, source } = request.isMultipart()
      ? await readOperationForm(operation, request, videos)
      : readOperationJson(operation, request.body);
    return videos.toOpenAi(
      await videos.operate(request.principal, operation, body, source, headers["Idempotency-Key"]),
    );
  });
}

/** List, retrieve, delete and download. */
function declareReads(app: FastifyInstance, deps: OpenAiRouteDeps): void {
  const { videos } = deps;
  route(app, {
    method: "GET",
    url: "/v1/videos",
    operationId: "openaiListVideos",
    summary: "List videos (cursor: after = the last id of the previous page)",
    ...KEYED,
    query: VideoListQuery,
    response: OpenAiVideoList,
    errors: [400, 401],
  })(async ({ request, query }) => {
    const owner = ownerOf(request.principal);
    let cursor: { createdAt: number; id: string } | undefined;
    if (query.after) {
      const last = await deps.tasks.get(owner, query.after).catch(() => {
        throw invalid(
          "invalid_cursor",
          `after must be the id of a video of this account; ${shown(query.after ?? "")} is not`,
          "after",
        );
      });
      cursor = { createdAt: last.created_at, id: last.id };
    }
    const page = await deps.tasks.list(owner, {}, query.limit, cursor, query.order);
    const data = page.items.map((t) => videos.toOpenAi(t));
    return {
      object: "list" as const,
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: page.nextCursor !== null,
    };
  });

  route(app, {
    method: "GET",
    url: "/v1/videos/:video_id",
    operationId: "openaiRetrieveVideo",
    summary: "Retrieve a video",
    ...KEYED,
    params: VideoParams,
    response: OpenAiVideo,
    errors: [401, 404],
  })(async ({ request, params }) =>
    videos.toOpenAi(await videos.get(ownerOf(request.principal), params.video_id)),
  );

  route(app, {
    method: "DELETE",
    url: "/v1/videos/:video_id",
    operationId: "openaiDeleteVideo",
    summary:
      "Delete a video: its stored media go and neither API shows it again (an unfinished one is cancelled first)",
    ...KEYED,
    params: VideoParams,
    response: OpenAiVideoDeleted,
    errors: [401, 404, 409],
  })(async ({ request, params }) => {
    const task = await videos.delete(ownerOf(request.principal), params.video_id);
    return { id: task.id, object: "video.deleted" as const, deleted: true as const };
  });

  route(app, {
    method: "GET",
    url: "/v1/videos/:video_id/content",
    operationId: "openaiDownloadVideo",
    summary:
      "Download the mp4 (variant=video, Range supported), its thumbnail (variant=thumbnail, JPEG) or a " +
      "spritesheet (variant=spritesheet: a JPEG grid of 5×5 evenly spaced frames)",
    ...KEYED,
    params: VideoParams,
    query: VideoContentQuery,
    response: {
      description: "The mp4, or the JPEG thumbnail or spritesheet",
      content: {
        "video/mp4": { schema: { type: "string", format: "binary" } },
        "image/jpeg": { schema: { type: "string", format: "binary" } },
      },
      alsoStatuses: { 206: "A byte range of the mp4" },
    },
    errors: [400, 401, 404, 409, 410, 416],
  })(async ({ request, reply, params, query }) => {
    const task = await videos.get(ownerOf(request.principal), params.video_id);
    const door: KeyedDoor = {
      param: "video_id",
      notReady: (t) =>
        `video ${t.id} is ${videos.toOpenAi(t).status}; its content can be downloaded once it has completed`,
    };
    return deps.media.sendKeyed(request, reply, task, query.variant ?? "video", door);
  });
}
