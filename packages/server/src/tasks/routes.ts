/**
 * The task routes (docs/api.md §3–§4): submit, list, get, cancel, download, and the live event
 * stream. Each is declared with the zod schemas that validate, type and document it.
 */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Config } from "../config.ts";
import { listEnvelope } from "../http/pagination.ts";
import { route, withErrorCode } from "../http/route.ts";
import { IfNoneMatchHeaders, idempotencyHeaders, idParams, PageQuery } from "../http/schema.ts";
import { ownerOf } from "../keys/auth.ts";
import type { RunFacts } from "../providers/types.ts";
import { decodeCursor } from "../store/pagination.ts";
import { streamTaskEvents } from "./event-stream.ts";
import type { TaskEvents } from "./events.ts";
import type { KeyedDoor, TaskMedia } from "./media.ts";
import { matchesEtag, type TaskObjectReader } from "./object-cache.ts";
import { type HintedTask, pollHint } from "./poll-hint.ts";
import type { TaskPresenter } from "./presenter.ts";
import { SubmitBody, TaskCreated, TaskEstimate, TaskList, TaskObject, TaskStatus } from "./schemas.ts";
import type { TaskService } from "./service.ts";
import type { StreamSlots } from "./stream-slots.ts";

/** Every route here is in the Tasks section of the reference and needs a key. */
const KEYED = { tag: "Tasks", auth: "key" } as const;

export interface TaskRouteDeps {
  config: Pick<Config, "maxSubmitBytes">;
  tasks: TaskService;
  presenter: TaskPresenter;
  /** GET's read: unchanged task objects from memory, with their ETag. */
  reader: TaskObjectReader;
  events: TaskEvents;
  media: TaskMedia;
  /** Bounds open event streams per key and per process. */
  streams: StreamSlots;
  /** Whether the key that opened a stream still works (a revoked key's streams end). */
  keyStillValid(authorization: string | undefined): Promise<boolean>;
  /** A provider's typical run time for such a clip (poll-hint.ts), undefined when unknown. */
  typicalRunMs(provider: string, facts: RunFacts): number | undefined;
}

const TaskParams = idParams("task_id", "task_…");

const RELAYDANCE_DOOR: KeyedDoor = {
  param: "task_id",
  notReady: (task) => `task ${task.id} is ${task.status}; the video can be downloaded once it has succeeded`,
};

const STATUS_MESSAGE = `status must be one of ${TaskStatus.options.join(", ")}`;
const TaskListQuery = PageQuery.extend({
  status: withErrorCode(z.enum(TaskStatus.options, { error: STATUS_MESSAGE }), "invalid_status")
    .optional()
    .describe("Only tasks in this status."),
  model: z.string().optional().describe("Only tasks of this model."),
});

export async function taskRoutes(app: FastifyInstance, deps: TaskRouteDeps): Promise<void> {
  const { tasks, presenter, reader } = deps;

  route(app, {
    method: "POST",
    url: "/v1/video/generations",
    operationId: "createVideo",
    summary: "Submit a video generation task",
    ...KEYED,
    body: SubmitBody,
    bodyMode: "domain",
    headers: idempotencyHeaders("task"),
    response: TaskCreated,
    errors: [400, 401, 403, 404, 409, 413, 429],
    // data: URLs carry media as base64: the body may be large, and those strings stream to disk.
    options: { bodyLimit: deps.config.maxSubmitBytes, config: { spoolDataUrls: true } },
  })(async ({ request, reply, body, headers }) => {
    const { task, replayed } = await tasks.submit(request.principal, body, headers["Idempotency-Key"], {
      spooled: request.spooled,
    });
    if (replayed) reply.header("idempotent-replayed", "true");
    request.log.info({ task_id: task.id, model: task.model, replayed }, "task submitted");
    return {
      task_id: task.id,
      id: task.id,
      object: "video",
      model: task.model,
      status: "submitted",
      progress: 0,
      created_at: Math.floor(task.created_at / 1000),
    };
  });

  route(app, {
    method: "POST",
    url: "/v1/video/generations/estimate",
    operationId: "estimateVideo",
    summary: "What a submit with this body would cost, and whether it would be accepted (nothing is created)",
    ...KEYED,
    body: SubmitBody,
    bodyMode: "domain",
    response: TaskEstimate,
    errors: [400, 401, 404, 413],
    // Like a submit: data: URLs stream to disk (they are checked, not stored).
    options: { bodyLimit: deps.config.maxSubmitBytes, config: { spoolDataUrls: true } },
  })(async ({ request, body }) => tasks.estimate(request.principal, body));

  route(app, {
    method: "GET",
    url: "/v1/video/generations",
    operationId: "listVideos",
    summary: "List tasks, newest first",
    ...KEYED,
    query: TaskListQuery,
    response: TaskList,
    errors: [400, 401],
  })(async ({ request, query }) => {
    const after = query.after ? decodeCursor(query.after, "after") : undefined;
    const model = query.model || undefined;
    const page = await tasks.list(
      ownerOf(request.principal),
      { status: query.status, model },
      query.limit,
      after,
    );
    return listEnvelope(await presenter.presentMany(page.items), page.nextCursor);
  });

  route(app, {
    method: "GET",
    url: "/v1/video/generations/:task_id",
    operationId: "getVideo",
    summary: "Get a task",
    ...KEYED,
    params: TaskParams,
    headers: IfNoneMatchHeaders,
    response: TaskObject,
    errors: [401, 404],
    alsoStatuses: { 304: "Not modified since the ETag sent in If-None-Match (no body)" },
  })(async ({ request, reply, params, headers }) => {
    const { object, etag } = await reader.read(ownerOf(request.principal), params.task_id);
    reply.header("etag", etag);
    // Unfinished: when asking again is worth it (the SDK's wait honours it).
    const hint = pollHint(object as HintedTask, deps.typicalRunMs);
    if (hint !== undefined) reply.header("retry-after", String(hint));
    // A poller that sends back the ETag it has gets 304 and no body until the task changes.
    if (matchesEtag(headers["If-None-Match"], etag)) return reply.code(304).send() as never;
    return object;
  });

  route(app, {
    method: "POST",
    url: "/v1/video/generations/:task_id/cancel",
    operationId: "cancelVideo",
    summary: "Cancel a task (it becomes failed with error.code = cancelled)",
    ...KEYED,
    params: TaskParams,
    response: TaskObject,
    errors: [401, 404, 409],
  })(async ({ request, params }) =>
    presenter.present(await tasks.cancel(ownerOf(request.principal), params.task_id)),
  );

  declareMedia(app, deps);
}

/** The task's video and its live event stream. */
function declareMedia(app: FastifyInstance, deps: TaskRouteDeps): void {
  const { tasks, presenter } = deps;
  route(app, {
    method: "GET",
    url: "/v1/video/generations/:task_id/content",
    operationId: "downloadVideo",
    summary: "Download the video (Range supported)",
    ...KEYED,
    params: TaskParams,
    response: {
      description: "The mp4",
      content: { "video/mp4": { schema: { type: "string", format: "binary" } } },
      alsoStatuses: { 206: "A byte range of the mp4" },
    },
    errors: [401, 404, 409, 410, 416],
  })(async ({ request, reply, params }) => {
    const task = await tasks.get(ownerOf(request.principal), params.task_id);
    return deps.media.sendKeyed(request, reply, task, "video", RELAYDANCE_DOOR);
  });

  route(app, {
    method: "GET",
    url: "/v1/video/generations/:task_id/events",
    operationId: "videoEvents",
    summary: "Server-Sent Events: `task` events with the task object on every change, then `done`",
    ...KEYED,
    params: TaskParams,
    response: {
      description: "An event stream",
      content: { "text/event-stream": { schema: { type: "string" } } },
    },
    errors: [401, 404, 429],
  })(async ({ request, reply, params }) => {
    const owner = ownerOf(request.principal);
    const first = await tasks.get(owner, params.task_id);
    if (request.method === "HEAD") {
      // The stream's headers and nothing else: a HEAD answer has no body, let alone an endless one.
      return reply
        .header("content-type", "text/event-stream; charset=utf-8")
        .header("cache-control", "no-cache, no-transform")
        .send() as never;
    }
    const release = deps.streams.take(request.principal.key.id);
    reply.hijack();
    streamTaskEvents({
      res: reply.raw,
      request,
      taskId: first.id,
      read: async () => {
        const task = await tasks.get(owner, first.id);
        return { object: await presenter.present(task), version: task.updated_at };
      },
      keyStillValid: () => deps.keyStillValid(request.headers.authorization),
      events: deps.events,
      release,
    });
  });
}
