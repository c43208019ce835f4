/** Public capability URLs of uploaded files and finished videos (docs/api.md §2, §4). */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { FileService } from "../../files/service.ts";
import { sendBlob } from "../../http/range.ts";
import { type HttpMethod, type RawResponse, route } from "../../http/route.ts";
import type { BlobStorage } from "../../storage/storage.ts";
import { NOT_FOUND_HERE, type TaskMedia, VARIANT_OF_EXTENSION } from "../../tasks/media.ts";
import type { TaskRepository } from "../../tasks/repository.ts";

export interface MediaRouteDeps {
  storage: BlobStorage;
  media: Pick<TaskMedia, "sendPublic">;
  files: Pick<FileService, "byToken">;
  tasks: Pick<TaskRepository, "getByMediaToken">;
}

const MEDIA: RawResponse = {
  description: "The bytes",
  content: { "application/octet-stream": { schema: { type: "string", format: "binary" } } },
  alsoStatuses: { 206: "A byte range" },
};

/**
 * Public capability URLs (no key): the unguessable token is the authorisation, so upstream
 * providers and browsers can fetch them directly, with Range for video players.
 */
export async function mediaRoutes(app: FastifyInstance, deps: MediaRouteDeps): Promise<void> {
  const { storage, files, tasks, media } = deps;
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
    if (!file) return reply.code(404).send(NOT_FOUND_HERE);
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
    const task = match ? await tasks.getByMediaToken(match[1]!) : undefined;
    return media.sendPublic(request, reply, task, VARIANT_OF_EXTENSION[match?.[2] ?? "mp4"]!);
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
