/**
 * The live event stream of one task (`GET /v1/video/generations/{id}/events`): a `task` event with
 * the task object on every change, `done` once it is terminal, and an `error` event when the key
 * that opened it is revoked. The route checks the task and takes a stream slot; this owns the
 * connection from then on.
 */
import type { ServerResponse } from "node:http";
import type { FastifyRequest } from "fastify";
import type { TaskEvents } from "./events.ts";
import type { TaskObject } from "./schemas.ts";

/** How often a stream re-reads its task anyway: often when changes made elsewhere are not
 * announced (SQLite), rarely when a bridge announces them (Postgres LISTEN/NOTIFY) — a safety net. */
const RESYNC_MS = 1000;
const RESYNC_BRIDGED_MS = 15_000;
const HEARTBEAT_MS = 15_000;

export interface TaskEventStreamOptions {
  res: ServerResponse;
  request: Pick<FastifyRequest, "raw" | "log">;
  taskId: string;
  /** The task object as GET shows it now, and its row's `updated_at` (the event id). */
  read(): Promise<{ object: TaskObject; version: number }>;
  keyStillValid(): Promise<boolean>;
  events: Pick<TaskEvents, "subscribe" | "crossProcess">;
  /** Give back the stream slot. */
  release(): void;
}

export function streamTaskEvents(options: TaskEventStreamOptions): void {
  const { res, request, events } = options;
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    // No Connection header of our own: node answers a client's "Connection: close" correctly.
    "x-accel-buffering": "no",
  });
  res.write("retry: 2000\n\n");
  let lastSent = "";
  let closed = false;
  let sending = false;
  let again = false;
  const send = async (): Promise<void> => {
    if (closed) return;
    if (sending) {
      // A change arrived while we were reading: read once more afterwards, or it is missed.
      again = true;
      return;
    }
    sending = true;
    try {
      if (!(await options.keyStillValid())) {
        res.write(
          `event: error\ndata: ${JSON.stringify({ code: "invalid_api_key", message: "the API key that opened this stream was revoked" })}\n\n`,
        );
        close();
        return;
      }
      const { object, version } = await options.read();
      const body = JSON.stringify(object);
      if (body !== lastSent) {
        lastSent = body;
        res.write(`id: ${version}\nevent: task\ndata: ${body}\n\n`);
      }
      if (object.status === "succeeded" || object.status === "failed") {
        res.write(
          `event: done\ndata: ${JSON.stringify({ task_id: options.taskId, status: object.status })}\n\n`,
        );
        close();
      }
    } catch (error) {
      request.log.warn({ err: error }, "SSE update failed");
    } finally {
      sending = false;
    }
    if (again) {
      again = false;
      await send();
    }
  };
  const unsubscribe = events.subscribe(options.taskId, () => void send());
  const resync = setInterval(() => void send(), events.crossProcess ? RESYNC_BRIDGED_MS : RESYNC_MS);
  const heartbeat = setInterval(() => res.write(": keep-alive\n\n"), HEARTBEAT_MS);
  const close = () => {
    if (closed) return;
    closed = true;
    options.release();
    unsubscribe();
    clearInterval(resync);
    clearInterval(heartbeat);
    res.end();
  };
  request.raw.on("close", close);
  void send();
}
