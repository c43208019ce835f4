import { join } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ensurePoster } from "../../tasks/posters.ts";
import type { AppContext } from "../context.ts";
import { sendBlob } from "../range.ts";

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
export async function mediaRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const fileHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const name = (request.params as { name: string }).name;
    const token = /^([A-Za-z0-9]{32})(\.\w+)?$/.exec(name)?.[1];
    const file = token ? await ctx.files.byToken(token) : undefined;
    if (!file) return reply.code(404).send(gone);
    return sendBlob(request, reply, ctx.storage, {
      key: file.storage_key,
      contentType: file.content_type,
      etag: file.sha256.slice(0, 16),
      filename: file.filename,
      maxAgeSeconds: Math.max(0, Math.floor((file.expires_at - Date.now()) / 1000)),
    });
  };
  app.get("/files/:name", { exposeHeadRoute: false }, fileHandler);
  app.head("/files/:name", fileHandler);

  const videoHandler = async (request: FastifyRequest, reply: FastifyReply) => {
    const name = (request.params as { name: string }).name;
    const match = /^([A-Za-z0-9]{32})\.(mp4|png|jpg)$/.exec(name);
    if (!match) return reply.code(404).send(gone);
    const task = await ctx.taskRepo.getByMediaToken(match[1]!);
    if (task?.status !== "succeeded" || (task.expires_at != null && task.expires_at <= Date.now())) {
      return reply.code(404).send(gone);
    }
    const ext = match[2] as "mp4" | "png" | "jpg";
    const key =
      ext === "mp4"
        ? task.output_key
        : ext === "png"
          ? task.last_frame_key
          : await ensurePoster(task, {
              db: ctx.db,
              storage: ctx.storage,
              tmpDir: join(ctx.config.dataDir, "tmp"),
            });
    if (!key) return reply.code(404).send(gone);
    return sendBlob(request, reply, ctx.storage, {
      key,
      contentType: ext === "mp4" ? "video/mp4" : ext === "png" ? "image/png" : "image/jpeg",
      etag: task.media_token.slice(0, 12),
      filename: `${task.id}.${ext}`,
      maxAgeSeconds: task.expires_at ? Math.max(0, Math.floor((task.expires_at - Date.now()) / 1000)) : 3600,
    });
  };
  app.get("/videos/:name", { exposeHeadRoute: false }, videoHandler);
  app.head("/videos/:name", videoHandler);
}
