/**
 * OpenAI's Videos API (`client.videos` of the `openai` SDK) on the same tasks as
 * /v1/video/generations: create (JSON or multipart), retrieve, list, delete, content, remix.
 */

import multipart from "@fastify/multipart";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { z } from "zod";
import type { Config } from "../config.ts";
import { invalid, shown } from "../domain/errors.ts";
import { multipartParts } from "../http/multipart.ts";
import { parseBody, route } from "../http/route.ts";
import { idempotencyHeaders, idParams } from "../http/schema.ts";
import { ownerOf } from "../keys/auth.ts";
import type { KeyedDoor, TaskMedia } from "../tasks/media.ts";
import type { TaskService } from "../tasks/service.ts";
import {
  InputReferenceJson,
  OpenAiVideo,
  OpenAiVideoDeleted,
  OpenAiVideoList,
  VideoContentQuery,
  VideoCreateBody,
  VideoListQuery,
  VideoRemixBody,
} from "./schemas.ts";
import type { InputReference, OpenAiVideos } from "./service.ts";

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
    tag: "OpenAI-compatible",
    auth: "key",
    body: VideoCreateBody,
    bodyMode: "domain",
    headers: IDEMPOTENCY,
    response: OpenAiVideo,
    errors: [400, 401, 403, 404, 409, 413, 415, 429],
  })(async ({ request, headers }) => {
    const key = headers["Idempotency-Key"];
    if (!request.isMultipart()) {
      const body = parseBody(VideoCreateBody.strict(), request.body ?? {});
      const { input_reference, ...rest } = body;
      const reference: InputReference | undefined = !input_reference
        ? undefined
        : "image_url" in input_reference
          ? { kind: "image_url", url: input_reference.image_url }
          : { kind: "file_id", id: input_reference.file_id };
      return videos.toOpenAi(await videos.create(request.principal, rest, reference, key));
    }
    // Parts may come in any order: a file part is stored as it streams (sniffed and limited like
    // any upload), the fields are validated once all have arrived.
    const fields: Record<string, string> = {};
    let stored: InputReference | undefined;
    for await (const part of multipartParts(request)) {
      if (part.type === "field") {
        fields[part.fieldname] = String(part.value);
        continue;
      }
      if (part.fieldname !== "input_reference" || stored) {
        part.file.resume();
        throw invalid(
          "unexpected_file",
          `unexpected file field '${part.fieldname}'; send one image as input_reference`,
          part.fieldname,
        );
      }
      stored = {
        kind: "stored",
        file: await videos.storeUpload(request.principal, part.file, part.filename || "input_reference"),
      };
    }
    // The openai SDK sends {image_url} / {file_id} as `input_reference[image_url]` fields; a
    // JSON-encoded `input_reference` field is read too.
    const {
      input_reference: encoded,
      "input_reference[image_url]": imageUrl,
      "input_reference[file_id]": fileId,
      ...rest
    } = fields;
    const body = parseBody(VideoCreateBody.omit({ input_reference: true }).strict(), rest);
    let reference: InputReference | undefined = stored;
    if (!reference && (imageUrl !== undefined || fileId !== undefined || encoded !== undefined)) {
      let given: unknown = imageUrl !== undefined ? { image_url: imageUrl } : { file_id: fileId };
      if (encoded !== undefined) {
        try {
          given = JSON.parse(encoded);
        } catch {
          throw invalid(
            "invalid_input_reference",
            'input_reference must be a file part, or JSON such as {"image_url": "https://…"} or {"file_id": "file_…"}',
            "input_reference",
          );
        }
      }
      const ref = parseBody(z.object({ input_reference: InputReferenceJson }), {
        input_reference: given,
      }).input_reference;
      reference =
        "image_url" in ref ? { kind: "image_url", url: ref.image_url } : { kind: "file_id", id: ref.file_id };
    }
    return videos.toOpenAi(await videos.create(request.principal, body, reference, key));
  });

  route(app, {
    method: "GET",
    url: "/v1/videos",
    operationId: "openaiListVideos",
    summary: "List videos (cursor: after = the last id of the previous page)",
    tag: "OpenAI-compatible",
    auth: "key",
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
    tag: "OpenAI-compatible",
    auth: "key",
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
    tag: "OpenAI-compatible",
    auth: "key",
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
    summary: "Download the mp4 (variant=video, Range supported) or its thumbnail (variant=thumbnail, JPEG)",
    tag: "OpenAI-compatible",
    auth: "key",
    params: VideoParams,
    query: VideoContentQuery,
    response: {
      description: "The mp4, or the JPEG thumbnail",
      content: {
        "video/mp4": { schema: { type: "string", format: "binary" } },
        "image/jpeg": { schema: { type: "string", format: "binary" } },
      },
      alsoStatuses: { 206: "A byte range of the mp4" },
    },
    errors: [400, 401, 404, 409, 410, 416],
  })(async ({ request, reply, params, query }) => {
    const task = await videos.get(ownerOf(request.principal), params.video_id);
    if (query.variant === "spritesheet") {
      throw invalid(
        "unsupported_variant",
        "variant spritesheet is not made by this gateway; use video or thumbnail",
        "variant",
      );
    }
    const door: KeyedDoor = {
      param: "video_id",
      notReady: (t) =>
        `video ${t.id} is ${videos.toOpenAi(t).status}; its content can be downloaded once it has completed`,
    };
    return deps.media.sendKeyed(
      request,
      reply,
      task,
      query.variant === "thumbnail" ? "thumbnail" : "video",
      door,
    );
  });

  route(app, {
    method: "POST",
    url: "/v1/videos/:video_id/remix",
    operationId: "openaiRemixVideo",
    summary: "Remix: a new video with the same inputs and parameters and a new prompt",
    tag: "OpenAI-compatible",
    auth: "key",
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
}
