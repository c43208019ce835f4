import type { Kysely } from "kysely";
import type { Catalog } from "../catalog/models.ts";
import { checkMediaFacts, normalizeSubmit } from "../catalog/validate.ts";
import type { Config } from "../config.ts";
import { ApiError, invalid, notFound } from "../domain/errors.ts";
import type { NormalizedRequest } from "../domain/request.ts";
import type { FileService } from "../files/service.ts";
import type { JobQueue } from "../jobs/queue.ts";
import type { Principal } from "../keys/auth.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { Cursor, Page } from "../store/pagination.ts";
import type { Database, TaskPatch, TaskRow, TaskStatus } from "../store/schema.ts";
import { newCapabilityToken, newTaskId, sha256Hex, unixSeconds } from "../util/ids.ts";
import type { TaskEvents } from "./events.ts";
import type { IdempotencyRepository } from "./idempotency-repository.ts";
import type { TaskRepository, TerminalStatus } from "./repository.ts";

export interface VideoInfo {
  width: number;
  height: number;
  duration: number;
  fps: number;
  has_audio: boolean;
  bytes: number;
}

/** The task object of spec §4: what GET returns, SSE streams and (later) webhooks deliver. */
export interface TaskObject {
  task_id: string;
  id: string;
  object: "video";
  model: string;
  status: TaskStatus;
  progress: number;
  prompt: string;
  seconds: string;
  metadata: Record<string, unknown>;
  provider: string;
  url?: string;
  format: "mp4";
  last_frame_url?: string;
  thumbnail_url?: string;
  video?: VideoInfo;
  usage?: { seconds: number; resolution: string; cost: string; currency: string };
  error?: { code: string; message: string };
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  expires_at: number | null;
}

export interface SubmitResult {
  task: TaskRow;
  /** True when an Idempotency-Key matched an earlier identical request. */
  replayed: boolean;
}

/** Task lifecycle logic: submit, read, list, cancel, finish. I/O lives in the repositories. */
export class TaskService {
  constructor(
    private readonly config: Config,
    private readonly db: Kysely<Database>,
    private readonly catalog: Catalog,
    private readonly tasks: TaskRepository,
    private readonly idempotency: IdempotencyRepository,
    private readonly queue: JobQueue,
    private readonly files: FileService,
    private readonly events: TaskEvents,
    private readonly metrics: Metrics,
    /** Refuses a callback URL the gateway will not deliver to (SSRF guard); set by the webhook module. */
    private readonly checkCallbackUrl: (url: string) => Promise<void> = async () => {},
    /** Chooses who serves a model for a key (an upstream channel or the local engine). */
    private readonly plan: (
      model: string,
      testMode: boolean,
    ) => Promise<{ provider: string; upstream: boolean } | undefined> = async () => ({
      provider: "local",
      upstream: false,
    }),
    /** Billing: the hold taken in the submit transaction, and what a finished task was charged. */
    private readonly billing?: {
      hold(trx: Kysely<Database>, task: TaskRow): Promise<unknown>;
      usage(taskId: string, executor?: Kysely<Database>): Promise<TaskObject["usage"]>;
      usageMany(taskIds: string[]): Promise<Map<string, TaskObject["usage"]>>;
    },
  ) {}

  mediaUrl(task: Pick<TaskRow, "media_token">, ext: "mp4" | "png" | "jpg"): string {
    return `${this.config.publicUrl}/videos/${task.media_token}.${ext}`;
  }

  /** The task object; `usage` comes from billing (see `present`), which knows what was charged. */
  toApi(task: TaskRow, usage?: TaskObject["usage"]): TaskObject {
    const object: TaskObject = {
      task_id: task.id,
      id: task.id,
      object: "video",
      model: task.model,
      status: task.status,
      progress: task.status === "succeeded" ? 100 : task.progress,
      prompt: task.prompt,
      seconds: String(task.seconds),
      metadata: JSON.parse(task.metadata_json) as Record<string, unknown>,
      provider: task.provider,
      format: "mp4",
      created_at: unixSeconds(task.created_at)!,
      started_at: unixSeconds(task.started_at),
      completed_at: unixSeconds(task.completed_at),
      expires_at: unixSeconds(task.expires_at),
    };
    if (task.status === "succeeded" && task.output_key) {
      object.url = this.mediaUrl(task, "mp4");
      if (task.last_frame_key) object.last_frame_url = this.mediaUrl(task, "png");
      object.thumbnail_url = this.mediaUrl(task, "jpg"); // made on first request when missing
      if (task.video_json) object.video = JSON.parse(task.video_json) as VideoInfo;
    }
    if (usage) object.usage = usage;
    if (task.status === "failed") {
      object.error = { code: task.error_code ?? "failed", message: task.error_message ?? "the task failed" };
    }
    return object;
  }

  /** toApi with the charged usage looked up (inside `executor`'s transaction when given). */
  async present(task: TaskRow, executor?: Kysely<Database>): Promise<TaskObject> {
    const usage =
      task.status === "succeeded" || task.status === "failed"
        ? await this.billing?.usage(task.id, executor)
        : undefined;
    return this.toApi(task, usage);
  }

  async presentMany(tasks: TaskRow[]): Promise<TaskObject[]> {
    const done = tasks.filter((t) => t.status === "succeeded" || t.status === "failed").map((t) => t.id);
    const usage = done.length && this.billing ? await this.billing.usageMany(done) : new Map();
    return tasks.map((t) => this.toApi(t, usage.get(t.id)));
  }

  async submit(principal: Principal, body: unknown, idempotencyKey?: string): Promise<SubmitResult> {
    const accountId = principal.account.id;
    let requestHash: string | undefined;
    if (idempotencyKey !== undefined) {
      if (!/^[\x21-\x7e]{1,255}$/.test(idempotencyKey)) {
        throw invalid(
          "invalid_idempotency_key",
          "Idempotency-Key must be 1–255 printable ASCII characters without spaces",
          "Idempotency-Key",
        );
      }
      requestHash = sha256Hex(stableStringify(body));
      const replay = await this.findIdempotent(accountId, idempotencyKey, requestHash);
      if (replay) return { task: replay, replayed: true };
    }

    const { request, callbackUrl, metadataEcho } = normalizeSubmit(body, this.catalog);
    if (callbackUrl) await this.checkCallbackUrl(callbackUrl);
    const plan = await this.plan(request.model, principal.key.test_mode === 1);
    if (!plan) {
      throw notFound(
        "model_not_available",
        `no provider on this gateway serves ${request.model} for this key; GET /v1/models lists what you can use`,
        "model",
      );
    }
    const model = this.catalog.get(request.model)!;
    await this.resolveOwnMedia(principal, request, model);

    const now = Date.now();
    const task: TaskRow = {
      id: newTaskId(),
      account_id: accountId,
      api_key_id: principal.key.id,
      model: request.model,
      status: "submitted",
      progress: 0,
      prompt: request.prompt,
      seconds: request.seconds,
      request_json: JSON.stringify(request),
      metadata_json: JSON.stringify(metadataEcho),
      callback_url: callbackUrl,
      provider: plan.provider,
      test_mode: principal.key.test_mode,
      error_code: null,
      error_message: null,
      video_json: null,
      output_key: null,
      poster_key: null,
      last_frame_key: null,
      media_token: newCapabilityToken(),
      channel_id: null,
      upstream_id: null,
      upstream_ref: null,
      upstream_status: null,
      next_poll_at: null,
      poll_owner: null,
      poll_lease_until: null,
      poll_count: 0,
      created_at: now,
      started_at: null,
      completed_at: null,
      expires_at: null,
      updated_at: now,
    };
    try {
      await this.db.transaction().execute(async (trx) => {
        await this.tasks.insert(task, trx);
        // The worst-case price is held in the same transaction: too little balance → 403, no task.
        await this.billing?.hold(trx, task);
        if (idempotencyKey !== undefined && requestHash) {
          await this.idempotency.record(trx, {
            account_id: accountId,
            idem_key: idempotencyKey,
            request_hash: requestHash,
            task_id: task.id,
            created_at: now,
          });
        }
        await this.queue.enqueue(
          plan.upstream
            ? { kind: "dispatch", taskId: task.id, maxAttempts: 8 }
            : { kind: "render", taskId: task.id },
          trx,
        );
      });
    } catch (error) {
      // Two identical idempotent requests raced: the loser returns the winner's task.
      if (idempotencyKey !== undefined && requestHash) {
        const replay = await this.findIdempotent(accountId, idempotencyKey, requestHash);
        if (replay) return { task: replay, replayed: true };
      }
      throw error;
    }
    this.queue.poke(); // the job is committed now: wake workers without waiting for a poll
    this.events.changed(task.id);
    return { task, replayed: false };
  }

  private async findIdempotent(accountId: string, key: string, hash: string): Promise<TaskRow | undefined> {
    const existing = await this.idempotency.find(accountId, key);
    if (!existing) return undefined;
    if (existing.request_hash !== hash) {
      throw new ApiError(
        409,
        "idempotency_error",
        "idempotency_key_reused",
        "this Idempotency-Key was already used with a different request body in the last 24 h; use a new key",
        "Idempotency-Key",
      );
    }
    return this.tasks.getById(existing.task_id);
  }

  /**
   * Our own file URLs are checked against the store (they must exist and be unexpired) and
   * `data:` URLs become stored files, so workers never carry megabytes of base64 in a job and
   * every media fact that is known at submit is checked at submit.
   */
  private async resolveOwnMedia(
    principal: Principal,
    request: NormalizedRequest,
    model: NonNullable<ReturnType<Catalog["get"]>>,
  ): Promise<void> {
    const facts: Parameters<typeof checkMediaFacts>[1] = [];
    for (const media of request.content) {
      const param = `metadata.content[${media.position}].${media.kind}_url.url`;
      if (media.url.startsWith("data:")) {
        const file = await this.files.createFromDataUrl(
          principal.account.id,
          media.url,
          media.kind,
          param,
          `inline-${media.kind}${media.index}`,
        );
        if (file.kind !== media.kind) {
          throw invalid(
            "media_kind_mismatch",
            `this data: URL holds ${file.kind} data, not ${media.kind}`,
            param,
          );
        }
        media.url = this.files.urlOf(file);
        media.fileToken = file.token;
        facts.push(factsOf(media.position, file));
        continue;
      }
      const token = this.files.ownFileToken(media.url);
      if (token) {
        const file = await this.files.byToken(token);
        if (!file) {
          throw invalid(
            "file_not_found",
            "this file URL is unknown or has expired; upload the file again with POST /v1/files",
            param,
          );
        }
        if (file.kind !== media.kind) {
          throw invalid(
            "media_kind_mismatch",
            `this file is ${file.kind}, but the entry is ${media.kind}_url; use type "${file.kind}_url"`,
            param,
          );
        }
        media.fileToken = file.token;
        facts.push(factsOf(media.position, file));
      }
    }
    checkMediaFacts(request, facts, model);
  }

  async get(accountId: string, id: string): Promise<TaskRow> {
    const task = await this.tasks.get(accountId, id);
    if (!task) throw taskNotFound(id);
    return task;
  }

  list(
    accountId: string,
    filters: { status?: TaskStatus; model?: string },
    limit: number,
    after?: Cursor,
  ): Promise<Page<TaskRow>> {
    return this.tasks.list(accountId, filters, limit, after);
  }

  async cancel(accountId: string, id: string): Promise<TaskRow> {
    const task = await this.get(accountId, id);
    const finished = await this.finish(task.id, "failed", {
      error_code: "cancelled",
      error_message: "the task was cancelled by the client",
    });
    if (finished) return finished;
    const current = await this.get(accountId, id);
    throw new ApiError(
      409,
      "invalid_request_error",
      "task_not_cancellable",
      `task ${id} has already ${current.status}; only submitted or running tasks can be cancelled`,
      "task_id",
    );
  }

  /** The single guarded terminal transition, plus the side effects every finish has. */
  async finish(id: string, status: TerminalStatus, patch: TaskPatch = {}): Promise<TaskRow | undefined> {
    const expiresAt = status === "succeeded" ? Date.now() + this.config.videoTtlSeconds * 1000 : null;
    const row = await this.tasks.finish(id, status, { ...patch, expires_at: expiresAt });
    if (row) {
      this.queue.poke(); // jobs enqueued by finish hooks (webhook deliveries) are committed now
      this.metrics.taskFinished.inc({ status, model: row.model, provider: row.provider });
      this.events.changed(id);
    }
    return row;
  }
}

function factsOf(
  position: number,
  file: { kind: string; width: number | null; height: number | null; duration: number | null; bytes: number },
) {
  return {
    position,
    kind: file.kind as "image" | "video" | "audio",
    width: file.width ?? undefined,
    height: file.height ?? undefined,
    duration: file.duration ?? undefined,
    bytes: file.bytes,
  };
}

function taskNotFound(id: string) {
  return notFound("task_not_found", `no task ${id} exists for this API key's account`, "task_id");
}

/** JSON with sorted object keys, so semantically identical bodies hash the same. */
export function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}
