import type { Core, Paginator, RequestOptions } from "../core.ts";
import {
  APITimeoutError,
  AuthenticationError,
  PermissionDeniedError,
  parseRetryAfter,
  TaskFailedError,
  VidRelayError,
} from "../errors.ts";
import { abortReason, hasNodeFs, linkSignals, nodeModule, randomId, sleep } from "../runtime.ts";
import { parseSSE } from "../sse.ts";
import type {
  ListPage,
  Task,
  TaskCreated,
  TaskEstimate,
  TaskListParams,
  VideoCreateParams,
} from "../types.ts";

export interface CreateOptions extends RequestOptions {
  /**
   * The same key and body within 24 h returns the same task (a different body is a 409). When
   * omitted the SDK generates one per call, so retrying a submit can never create a second task.
   */
  idempotencyKey?: string;
}

export interface WaitOptions {
  /** Called with the task each time it changes (status or progress). */
  onProgress?: (task: Task) => void;
  signal?: AbortSignal;
  /** Give up (APITimeoutError) after this many milliseconds. Default: no limit. */
  timeoutMs?: number;
  /**
   * `auto` (default): Server-Sent Events, falling back to polling if the stream is unavailable or
   * breaks; `sse`: events only; `poll`: polling only.
   */
  transport?: "auto" | "sse" | "poll";
  /**
   * First polling interval, growing ×1.5 per poll up to `maxPollIntervalMs`. Default 1000. When the
   * gateway answers with `Retry-After` (an unfinished task's hint), that delay is used instead.
   */
  pollIntervalMs?: number;
  /** Default 5000; when set, it also caps the gateway's `Retry-After` hint. */
  maxPollIntervalMs?: number;
  /** Return a failed task instead of throwing `TaskFailedError`. Default false. */
  returnFailed?: boolean;
}

export interface EventsOptions {
  signal?: AbortSignal;
  /** Cancel the stream when no byte (not even a keep-alive) arrives for this long. Default 45 000 ms. */
  idleTimeoutMs?: number;
}

type TaskRef = string | { task_id: string } | { id: string };

const isTerminal = (task: Task) => task.status === "succeeded" || task.status === "failed";

function taskIdOf(ref: TaskRef): string {
  if (typeof ref === "string") return ref;
  if ("task_id" in ref && typeof ref.task_id === "string") return ref.task_id;
  if ("id" in ref && typeof ref.id === "string") return ref.id;
  throw new VidRelayError("expected a task id or an object with task_id", { code: "invalid_task" });
}

const path = (id: string, suffix = "") => `/v1/video/generations/${encodeURIComponent(id)}${suffix}`;

export class Videos {
  constructor(private readonly core: Core) {}

  /** Submit a task (`POST /v1/video/generations`). Always sent with an Idempotency-Key, so it is retried safely. */
  /**
   * What `create(params)` would hold on the account and whether it would be accepted now (balance,
   * limits, concurrency), without creating anything: `allowed`, `refusal`, `amount`, `provider`.
   */
  estimate(params: VideoCreateParams, options: RequestOptions = {}): Promise<TaskEstimate> {
    return this.core.request({
      ...options,
      method: "POST",
      path: "/v1/video/generations/estimate",
      json: params,
    });
  }

  create(params: VideoCreateParams, options: CreateOptions = {}): Promise<TaskCreated> {
    const { idempotencyKey, ...request } = options;
    return this.core.request({
      ...request,
      method: "POST",
      path: "/v1/video/generations",
      json: params,
      idempotencyKey: idempotencyKey ?? randomId(),
    });
  }

  get(task: TaskRef, options: RequestOptions = {}): Promise<Task> {
    return this.core.request({ ...options, method: "GET", path: path(taskIdOf(task)) });
  }

  /** Cancel a submitted or running task: it becomes `failed` with `error.code` `cancelled`. 409 once it has finished. */
  cancel(task: TaskRef, options: RequestOptions = {}): Promise<Task> {
    return this.core.request({ ...options, method: "POST", path: path(taskIdOf(task), "/cancel") });
  }

  /** Every task (newest first), optionally filtered; iterate with `for await`. `limit` is the page size. */
  list(params: TaskListParams = {}, options: RequestOptions = {}): Paginator<Task> {
    return this.core.paginate<Task>(
      "/v1/video/generations",
      { limit: params.limit, after: params.after, status: params.status, model: params.model },
      options,
    );
  }

  /** One page of tasks. */
  listPage(params: TaskListParams = {}, options: RequestOptions = {}): Promise<ListPage<Task>> {
    return this.core.request({
      ...options,
      method: "GET",
      path: "/v1/video/generations",
      query: { limit: params.limit, after: params.after, status: params.status, model: params.model },
    });
  }

  /**
   * The task's Server-Sent Events (`GET …/{id}/events`): yields the task object on every change and
   * ends after the terminal one.
   */
  async *events(task: TaskRef, options: EventsOptions = {}): AsyncGenerator<Task, void, undefined> {
    const id = taskIdOf(task);
    const response = await this.core.request({
      method: "GET",
      path: path(id, "/events"),
      accept: "text/event-stream",
      raw: true,
      signal: options.signal,
    });
    const type = response.headers.get("content-type") ?? "";
    if (!type.includes("text/event-stream") || !response.body) {
      await response.body?.cancel().catch(() => {});
      throw new VidRelayError(`the server answered ${type || "no content type"}, not an event stream`, {
        code: "sse_unavailable",
        status: response.status,
      });
    }
    for await (const event of parseSSE(response.body, { idleTimeoutMs: options.idleTimeoutMs ?? 45_000 })) {
      if (event.event === "task") {
        let parsed: Task;
        try {
          parsed = JSON.parse(event.data) as Task;
        } catch {
          throw new VidRelayError("unreadable task event on the event stream", { code: "sse_invalid" });
        }
        yield parsed;
        if (isTerminal(parsed)) return;
      } else if (event.event === "done") {
        return;
      }
    }
  }

  /**
   * Wait until the task succeeds (returns it) or fails (throws `TaskFailedError`). Uses the event
   * stream when the server has one, else polls with back-off (1 s → 5 s).
   */
  async wait(task: TaskRef, options: WaitOptions = {}): Promise<Task> {
    const id = taskIdOf(task);
    const timeout = new AbortController();
    const linked = linkSignals(options.signal, timeout.signal);
    const timer =
      options.timeoutMs !== undefined
        ? setTimeout(() => timeout.abort(), Math.max(0, options.timeoutMs))
        : undefined;
    let last: Task | undefined;
    let lastJson = "";
    const report = (t: Task) => {
      last = t;
      const json = JSON.stringify(t);
      if (json === lastJson) return;
      lastJson = json;
      options.onProgress?.(t);
    };
    const settle = (t: Task) => {
      if (t.status === "failed" && !options.returnFailed) throw new TaskFailedError(t);
      return t;
    };
    try {
      const transport = options.transport ?? "auto";
      if (transport !== "poll") {
        try {
          for await (const t of this.events(id, { signal: linked.signal })) {
            report(t);
            if (isTerminal(t)) return settle(t);
          }
          if (transport === "sse") {
            throw new VidRelayError(`the event stream of ${id} ended before the task finished`, {
              code: "sse_ended",
            });
          }
        } catch (error) {
          if (linked.signal.aborted || transport === "sse") throw error;
          if (error instanceof AuthenticationError || error instanceof PermissionDeniedError) throw error;
          if (error instanceof TaskFailedError) throw error;
          // Anything else (no SSE route, a proxy that buffers or cuts streams…): poll instead.
        }
      }
      let interval = Math.max(1, options.pollIntervalMs ?? 1000);
      const maxInterval = Math.max(interval, options.maxPollIntervalMs ?? 5000);
      for (;;) {
        const response = await this.core.request({
          method: "GET",
          path: path(id),
          raw: true,
          signal: linked.signal,
        });
        const t = (await response.json()) as Task;
        report(t);
        if (isTerminal(t)) return settle(t);
        // The gateway's Retry-After says when asking again is worth it (from the provider's typical
        // run time and the task's age); without one, back off ×1.5.
        const hint = parseRetryAfter(response.headers);
        const hinted = hint === undefined ? undefined : Math.max(1, Math.round(hint * 1000));
        await sleep(
          hinted === undefined ? interval : Math.min(hinted, options.maxPollIntervalMs ?? hinted),
          linked.signal,
        );
        interval = Math.min(maxInterval, Math.round(interval * 1.5));
      }
    } catch (error) {
      if (timeout.signal.aborted && !options.signal?.aborted) {
        const state = last ? ` (last seen: ${last.status}, ${last.progress}%)` : "";
        throw new APITimeoutError(`task ${id} did not finish within ${options.timeoutMs} ms${state}`, {
          code: "wait_timeout",
        });
      }
      if (options.signal?.aborted) throw abortReason(options.signal);
      throw error;
    } finally {
      clearTimeout(timer);
      linked.dispose();
    }
  }

  /**
   * Download the video of a succeeded task. With a destination path (Node, Bun, Deno) the mp4 is
   * streamed to disk (via `<path>.part`, renamed when complete) and the path is returned; without
   * one, a Blob is returned (browsers).
   */
  download(task: TaskRef | Task, destination: string, options?: RequestOptions): Promise<string>;
  download(task: TaskRef | Task, destination?: undefined, options?: RequestOptions): Promise<Blob>;
  async download(
    task: TaskRef | Task,
    destination?: string,
    options: RequestOptions = {},
  ): Promise<string | Blob> {
    let current = typeof task === "object" && "status" in task ? (task as Task) : undefined;
    if (current?.status !== "succeeded") current = await this.get(task, options);
    if (current.status !== "succeeded") {
      throw new VidRelayError(
        `task ${current.task_id} is ${current.status}; wait for it to succeed before downloading`,
        { code: "video_not_ready" },
      );
    }
    // The public `url` needs no key; /content is the keyed fallback.
    const source = current.url ?? this.core.url(path(current.task_id, "/content"));
    const response = await this.core.request({
      ...options,
      method: "GET",
      path: source,
      accept: "video/mp4, */*",
      raw: true,
    });
    if (destination === undefined) return response.blob();
    if (!hasNodeFs()) {
      await response.body?.cancel().catch(() => {});
      throw new VidRelayError("saving to a path needs Node, Bun or Deno; call download(task) for a Blob", {
        code: "path_unsupported",
      });
    }
    if (!response.body) throw new VidRelayError("the download has no body", { code: "empty_download" });
    const fs = await nodeModule<typeof import("node:fs")>("fs");
    const { Readable } = await nodeModule<typeof import("node:stream")>("stream");
    const { pipeline } = await nodeModule<typeof import("node:stream/promises")>("stream/promises");
    const partial = `${destination}.part`;
    try {
      await pipeline(
        Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>),
        fs.createWriteStream(partial),
      );
      await fs.promises.rename(partial, destination);
    } catch (error) {
      await fs.promises.rm(partial, { force: true }).catch(() => {});
      if (options.signal?.aborted) throw abortReason(options.signal);
      throw error;
    }
    return destination;
  }
}
