import type { Quote } from "../billing/holds.ts";
import { checkMediaFacts } from "../catalog/media-facts.ts";
import type { Catalog } from "../catalog/models.ts";
import type { ChannelRouting } from "../channels/routing.ts";
import { ApiError, invalid, notFound, shown } from "../domain/errors.ts";
import type { Owner } from "../domain/owner.ts";
import type { NormalizedRequest } from "../domain/request.ts";
import type { FileService } from "../files/service.ts";
import type { EnqueueOptions } from "../jobs/queue.ts";
import { ownerOf, type Principal } from "../keys/auth.ts";
import type { SpooledDataUrl } from "../media/data-url.ts";
import type { CancelOutcome } from "../providers/types.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { Page } from "../store/pagination.ts";
import type { FileRow, TaskRow } from "../store/schema.ts";
import { sha256Hex } from "../util/ids.ts";
import { estimateSubmit } from "./estimate.ts";
import type { IdempotencyRepository } from "./idempotency-repository.ts";
import type { TaskLifecycle } from "./lifecycle.ts";
import { storedKeysOf } from "./media.ts";
import { applySourceSeconds, attachSourceTask } from "./operation-source.ts";
import { prepareTask } from "./prepare.ts";
import type { TaskRepository } from "./repository.ts";
import type { TaskEstimate } from "./schemas.ts";

export interface SubmitResult {
  task: TaskRow;
  /** True when an Idempotency-Key matched an earlier identical request. */
  replayed: boolean;
}

export interface TaskServiceDeps {
  catalog: Catalog;
  tasks: TaskRepository;
  idempotency: IdempotencyRepository;
  files: FileService;
  lifecycle: TaskLifecycle;
  routing: Pick<ChannelRouting, "plan">;
  /** Asks the task's provider to stop it: stopped, or refused with the provider's reason. */
  cancelUpstream(task: TaskRow): Promise<CancelOutcome>;
  /** Refuses a callback URL the gateway will not deliver to (the webhooks' SSRF guard). */
  checkCallbackUrl(url: string): Promise<void>;
  /** Where a task's video, poster and last frame are stored (removed by `delete`; read as an edit's source). */
  storage: Pick<BlobStorage, "delete" | "read">;
  /** What the hold of a task row would be, without writing (BillingHolds.quoteForTaskRow). */
  quote(task: TaskRow): Promise<Quote>;
  /** An Idempotency-Key whose task was deleted: refuse it (409), or start over with a new task. */
  replayOfDeleted: "conflict" | "new";
}

/**
 * The task requests of the API: submit (validate, resolve own media, route, then the lifecycle's
 * submit), read, list, cancel, delete. I/O lives in the repositories, state changes in `TaskLifecycle`.
 */
export class TaskService {
  constructor(private readonly deps: TaskServiceDeps) {}

  /** What a submit with this body would hold and whether it would be accepted (estimate.ts). */
  estimate(principal: Principal, body: unknown): Promise<TaskEstimate> {
    return estimateSubmit(
      { ...this.deps, checkSubmit: (task) => this.deps.lifecycle.checkSubmit(task) },
      principal,
      body,
    );
  }

  async submit(
    principal: Principal,
    body: unknown,
    idempotencyKey?: string,
    options: {
      remixedFrom?: string;
      /** Large data: URLs of the body, on disk while the request lives (http/json-body.ts). */
      spooled?: ReadonlyMap<string, SpooledDataUrl>;
    } = {},
  ): Promise<SubmitResult> {
    const owner = ownerOf(principal);
    const accountId = owner.accountId;
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
      const replay = await this.findIdempotent(owner, idempotencyKey, requestHash);
      if (replay) return { task: replay, replayed: true };
    }

    const { task, request, metadataEcho, sourceTaskId, plan, model } = await prepareTask(
      this.deps,
      principal,
      body,
      {
        remixedFrom: options.remixedFrom,
      },
    );
    // A refusal that needs no media (balance, limits) comes before any data: URL is stored: a key
    // that may not submit must not be able to fill storage with them.
    if (request.content.some((m) => m.url.startsWith("data:")) || sourceTaskId) {
      await this.deps.lifecycle.checkSubmit(task);
    }
    const stored = await this.storeMedia(principal, request, model, sourceTaskId, options.spooled);
    await applySourceSeconds(this.deps, request, metadataEcho);
    task.seconds = request.seconds;
    task.metadata_json = JSON.stringify(metadataEcho);
    task.request_json = JSON.stringify(request);
    const firstJob: EnqueueOptions = plan.upstream
      ? { kind: "dispatch", taskId: task.id, maxAttempts: 8, fairKey: accountId }
      : { kind: "render", taskId: task.id, fairKey: accountId };
    try {
      await this.deps.lifecycle.submit(
        task,
        firstJob,
        idempotencyKey !== undefined && requestHash
          ? {
              account_id: accountId,
              test_mode: owner.testMode,
              idem_key: idempotencyKey,
              request_hash: requestHash,
              task_id: task.id,
              created_at: task.created_at,
            }
          : undefined,
      );
    } catch (error) {
      // Not accepted: the files made from its data: URLs go with it.
      for (const file of stored) await this.deps.files.delete(owner, file.id).catch(() => {});
      // Two identical idempotent requests raced: the loser returns the winner's task.
      if (idempotencyKey !== undefined && requestHash) {
        const replay = await this.findIdempotent(owner, idempotencyKey, requestHash);
        if (replay) return { task: replay, replayed: true };
      }
      throw error;
    }
    return { task, replayed: false };
  }

  private async findIdempotent(owner: Owner, key: string, hash: string): Promise<TaskRow | undefined> {
    const existing = await this.deps.idempotency.find(owner, key);
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
    const task = await this.deps.tasks.getById(existing.task_id);
    if (task?.deleted_at == null) return task;
    if (this.deps.replayOfDeleted === "new") {
      // The key starts over: the deleted task's record goes, and this submit makes a new task.
      await this.deps.idempotency.forget(owner, key);
      return undefined;
    }
    throw new ApiError(
      409,
      "idempotency_error",
      "idempotency_task_deleted",
      `the task this Idempotency-Key created (${task.id}) was deleted; send the request with a new key`,
      "Idempotency-Key",
    );
  }

  /**
   * The request's media made ours: an edit's source task copied into a file, our own file URLs
   * checked, `data:` URLs stored. Returns the files made.
   */
  private async storeMedia(
    principal: Principal,
    request: NormalizedRequest,
    model: NonNullable<ReturnType<Catalog["get"]>>,
    sourceTaskId: string | undefined,
    spooled: ReadonlyMap<string, SpooledDataUrl> | undefined,
  ): Promise<FileRow[]> {
    const owner = ownerOf(principal);
    const source = sourceTaskId
      ? await attachSourceTask(this.deps, owner, request, model, sourceTaskId)
      : undefined;
    try {
      return [
        ...(source ? [source] : []),
        ...(await this.resolveOwnMedia(principal, request, model, spooled)),
      ];
    } catch (error) {
      if (source) await this.deps.files.delete(owner, source.id).catch(() => {});
      throw error;
    }
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
    spooled?: ReadonlyMap<string, SpooledDataUrl>,
  ): Promise<FileRow[]> {
    const facts: Parameters<typeof checkMediaFacts>[1] = [];
    const stored: FileRow[] = [];
    try {
      for (const media of request.content) {
        const param = `metadata.content[${media.position}].${media.kind}_url.url`;
        if (media.url.startsWith("data:")) {
          const file = await this.deps.files.createFromDataUrl(
            ownerOf(principal),
            spooled?.get(media.url) ?? media.url,
            media.kind,
            param,
            `inline-${media.kind}${media.index}`,
          );
          stored.push(file);
          if (file.kind !== media.kind) {
            throw invalid(
              "media_kind_mismatch",
              `this data: URL holds ${file.kind} data, not ${media.kind}`,
              param,
            );
          }
          media.url = this.deps.files.urlOf(file);
          media.fileToken = file.token;
          facts.push(factsOf(media.position, file));
          continue;
        }
        const token = this.deps.files.ownFileToken(media.url);
        if (token) {
          const file = await this.deps.files.byToken(token);
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
    } catch (error) {
      // Refused: what its data: URLs became is not kept.
      for (const file of stored) await this.deps.files.delete(ownerOf(principal), file.id).catch(() => {});
      throw error;
    }
    return stored;
  }

  async get(owner: Owner, id: string): Promise<TaskRow> {
    const task = await this.deps.tasks.get(owner, id);
    if (!task) throw taskNotFound(id);
    return task;
  }

  /** The repository's `list`: (owner, filters, limit, after, order). */
  list(...args: Parameters<TaskRepository["list"]>): Promise<Page<TaskRow>> {
    return this.deps.tasks.list(...args);
  }

  /**
   * Cancel honestly: a task at a provider is marked cancelled only once the provider has stopped
   * it. When the provider refuses (it has started), the answer is 409 and the task runs on to its
   * end and is settled as usual — never "cancelled" here while it runs, and bills, upstream.
   */
  async cancel(owner: Owner, id: string): Promise<TaskRow> {
    const task = await this.get(owner, id);
    if (task.status === "succeeded" || task.status === "failed") throw alreadyFinished(id, task.status);
    if (task.channel_id && !task.upstream_id)
      throw notCancellable(
        `task ${id} is being handed to ${task.provider} at this moment; retry the cancel in a few seconds`,
      );
    if (task.upstream_id) {
      const outcome = await this.deps.cancelUpstream(task);
      if (!outcome.cancelled)
        throw notCancellable(
          `task ${id} cannot be cancelled: ${outcome.reason}. It runs on to its end and is settled as usual (a failed task is not billed)`,
        );
    }
    const finished = await this.deps.lifecycle.finish(task.id, "failed", {
      error_code: "cancelled",
      error_message: "the task was cancelled by the client",
    });
    if (finished) return finished;
    throw alreadyFinished(id, (await this.get(owner, id)).status);
  }

  /**
   * Delete a task for its owner: an unfinished one is cancelled first (honestly: a 409 when its
   * provider cannot stop it), its stored media are removed, and neither API shows it again. The
   * row stays, for the ledger and usage reports.
   */
  async delete(owner: Owner, id: string): Promise<TaskRow> {
    let task = await this.get(owner, id);
    if (task.status === "submitted" || task.status === "running") task = await this.cancel(owner, id);
    await this.deps.tasks.markDeleted(owner, task.id);
    for (const key of storedKeysOf(task)) await this.deps.storage.delete(key);
    return task;
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

function alreadyFinished(id: string, status: string) {
  return notCancellable(`task ${id} has already ${status}; only submitted or running tasks can be cancelled`);
}

function notCancellable(message: string) {
  return new ApiError(409, "invalid_request_error", "task_not_cancellable", message, "task_id");
}

function taskNotFound(id: string) {
  return notFound("task_not_found", `no task ${shown(id)} exists for this API key's account`, "task_id");
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
