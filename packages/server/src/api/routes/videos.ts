import type { FastifyInstance } from "fastify";
import { ApiError, invalid } from "../../domain/errors.ts";
import type { TaskStatus } from "../../store/schema.ts";
import type { AppContext } from "../context.ts";
import { listEnvelope, parseListQuery } from "../pagination.ts";
import { sendBlob } from "../range.ts";

const STATUSES: TaskStatus[] = ["submitted", "running", "succeeded", "failed"];
const SSE_RESYNC_MS = 1000;
const SSE_HEARTBEAT_MS = 15_000;

export async function videoRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.post(
    "/v1/video/generations",
    // data: URLs may carry images up to the upload limit as base64.
    {
      bodyLimit:
        Math.ceil(Math.max(ctx.config.maxImageBytes, ctx.config.maxAudioBytes) * 1.4) * 3 + 1_000_000,
    },
    async (request, reply) => {
      const idempotencyKey = request.headers["idempotency-key"];
      const { task, replayed } = await ctx.tasks.submit(
        request.principal,
        request.body,
        Array.isArray(idempotencyKey) ? idempotencyKey[0] : idempotencyKey,
      );
      if (replayed) reply.header("idempotent-replayed", "true");
      request.log.info({ task_id: task.id, model: task.model, replayed }, "task submitted");
      return {
        task_id: task.id,
        id: task.id,
        object: "video",
        model: task.model,
        status: task.status,
        progress: task.progress,
        created_at: Math.floor(task.created_at / 1000),
      };
    },
  );

  app.get("/v1/video/generations", async (request) => {
    const query = request.query as Record<string, unknown>;
    const { limit, after } = parseListQuery(query);
    let status: TaskStatus | undefined;
    if (query.status !== undefined) {
      if (!STATUSES.includes(query.status as TaskStatus)) {
        throw invalid("invalid_status", `status must be one of ${STATUSES.join(", ")}`, "status");
      }
      status = query.status as TaskStatus;
    }
    const model = typeof query.model === "string" && query.model !== "" ? query.model : undefined;
    const page = await ctx.tasks.list(request.principal.account.id, { status, model }, limit, after);
    return listEnvelope(await ctx.presenter.presentMany(page.items), page.nextCursor);
  });

  app.get<{ Params: { id: string } }>("/v1/video/generations/:id", async (request) => {
    return ctx.presenter.present(await ctx.tasks.get(request.principal.account.id, request.params.id));
  });

  app.post<{ Params: { id: string } }>("/v1/video/generations/:id/cancel", async (request) => {
    const task = await ctx.tasks.cancel(request.principal.account.id, request.params.id);
    return ctx.presenter.present(task);
  });

  app.get<{ Params: { id: string } }>("/v1/video/generations/:id/content", async (request, reply) => {
    const task = await ctx.tasks.get(request.principal.account.id, request.params.id);
    if (task.status !== "succeeded" || !task.output_key) {
      throw new ApiError(
        409,
        "invalid_request_error",
        "video_not_ready",
        `task ${task.id} is ${task.status}; the video can be downloaded once it has succeeded`,
        "task_id",
      );
    }
    return sendBlob(request, reply, ctx.storage, {
      key: task.output_key,
      contentType: "video/mp4",
      etag: task.media_token.slice(0, 12),
      filename: `${task.id}.mp4`,
    });
  });

  app.get<{ Params: { id: string } }>("/v1/video/generations/:id/events", async (request, reply) => {
    const accountId = request.principal.account.id;
    const first = await ctx.tasks.get(accountId, request.params.id);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    res.write("retry: 2000\n\n");
    let lastSent = "";
    let closed = false;
    let sending = false;
    const send = async () => {
      if (closed || sending) return;
      sending = true;
      try {
        const task = await ctx.tasks.get(accountId, first.id);
        const object = await ctx.presenter.present(task);
        const body = JSON.stringify(object);
        if (body !== lastSent) {
          lastSent = body;
          res.write(`id: ${task.updated_at}\nevent: task\ndata: ${body}\n\n`);
        }
        if (object.status === "succeeded" || object.status === "failed") {
          res.write(`event: done\ndata: ${JSON.stringify({ task_id: task.id, status: task.status })}\n\n`);
          close();
        }
      } catch (error) {
        request.log.warn({ err: error }, "SSE update failed");
      } finally {
        sending = false;
      }
    };
    const unsubscribe = ctx.events.subscribe(first.id, () => void send());
    const resync = setInterval(() => void send(), SSE_RESYNC_MS);
    const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), SSE_HEARTBEAT_MS);
    const close = () => {
      if (closed) return;
      closed = true;
      unsubscribe();
      clearInterval(resync);
      clearInterval(heartbeat);
      res.end();
    };
    request.raw.on("close", close);
    await send();
  });
}
