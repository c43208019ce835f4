/** Public capability URLs of uploaded files and finished videos (docs/api.md §2, §4). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { FileService } from "../../files/service.ts";
import { sendBlob } from "../../http/range.ts";
import { type HttpMethod, type RawResponse, route } from "../../http/route.ts";
import type { BlobStorage } from "../../storage/storage.ts";
import { videoExpired } from "../../tasks/media.ts";
import type { Posters } from "../../tasks/posters.ts";
import type { TaskRepository } from "../../tasks/repository.ts";

export interface MediaRouteDeps {
  storage: BlobStorage;
  posters: Pick<Posters, "ensure">;
  files: Pick<FileService, "byToken">;
  tasks: Pick<TaskRepository, "getByMediaToken">;
}

const MEDIA: RawResponse = {
  description: "The bytes",
  content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
  alsoStatuses: { 206: "A byte range" },
};

const gone = {
  error: {
    message: "no media at this URL: it is unknown or has expired",
    type: "not_found_error",
    code: "media_not_found",
    param: null,
  },
};

/**
 * Public capability URLs (no key): the unguessable token is the authorisation, so upstream
 * providers and browsers can fetch them directly, with Range for video players.
 */
export async function mediaRoutes(app: FastifyInstance, deps: MediaRouteDeps): Promise<void> {
  const { storage, files, tasks, posters } = deps;
  const declare = (method: HttpMethod, url: string, what: string, description: string) =>
    route(app, {
      method,
      url,
      operationId: `${method === "GET" ? "get" : "head"}${what}Media`,
      summary: `${method === "GET" ? "Download" : "Headers of"} ${description}; the unguessable name is the authorisation (Range supported)`,
      tag: "Media",
      auth: "capability",
      params: z.object({
        name: z.string().describe("token and extension, as in the URL the API handed out"),
      }),
      response: MEDIA,
      errors: [404, 416],
      options: { exposeHeadRoute: false },
    });

  const fileHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const name = (request.params as { name: string }).name;
    const token = /^([A-Za-z0-9]{32})(\.\w+)?$/.exec(name)?.[1];
    const file = token ? await files.byToken(token) : undefined;
    if (!file) return reply.code(404).send(gone);
    return sendBlob(request, reply, storage, {
      key: file.storage_key,
      contentType: file.content_type,
      etag: file.sha256.slice(0, 16),
      filename: file.filename,
      maxAgeSeconds: Math.max(0, Math.floor((file.expires_at - Date.now()) / 1000)),
    });
  };
  for (const method of ["GET", "HEAD"] as const) {
    declare(
      method,
      "/files/:name",
      "File",
      "an uploaded file (`url` of the file object)",
    )(({ request, reply }) => fileHandler(request, reply));
  }

  const videoHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const name = (request.params as { name: string }).name;
    const match = /^([A-Za-z0-9]{32})\.(mp4|png|jpg)$/.exec(name);
    if (!match) return reply.code(404).send(gone);
    const task = await tasks.getByMediaToken(match[1]!);
    if (task?.status !== "succeeded" || task.deleted_at != null || videoExpired(task)) {
      return reply.code(404).send(gone);
    }
    const ext = match[2] as "mp4" | "png" | "jpg";
    const key =
      ext === "mp4" ? task.output_key : ext === "png" ? task.last_frame_key : await posters.ensure(task);
    if (!key) return reply.code(404).send(gone);
    return sendBlob(request, reply, storage, {
      key,
      contentType: ext === "mp4" ? "video/mp4" : ext === "png" ? "image/png" : "image/jpeg",
      etag: task.media_token.slice(0, 12),
      filename: `${task.id}.${ext}`,
      maxAgeSeconds: task.expires_at ? Math.max(0, Math.floor((task.expires_at - Date.now()) / 1000)) : 3600,
    });
  };
  for (const method of ["GET", "HEAD"] as const) {
    declare(
      method,
      "/videos/:name",
      "Video",
      "a finished task's mp4, poster (.jpg) or last frame (.png)",
    )(({ request, reply }) => videoHandler(request, reply));
  }
}
