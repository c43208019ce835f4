/**
 * The task's share of housekeeping (jobs/sweeper.ts runs the steps): deleting videos past their
 * expiry, and ending tasks that outlived the task timeout.
 */
import { join } from "node:path";
import type { Logger } from "pino";
import type { Billing } from "../billing/billing.ts";
import type { Config } from "../config.ts";
import type { FileService } from "../files/service.ts";
import { sweepTmp } from "../jobs/scratch.ts";
import { Sweeper, type SweepStep } from "../jobs/sweeper.ts";
import type { CancelOutcome } from "../providers/types.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { TaskRow } from "../store/schema.ts";
import type { ChannelSlots } from "./channel-slots.ts";
import type { IdempotencyRepository } from "./idempotency-repository.ts";
import type { TaskLifecycle } from "./lifecycle.ts";
import { storedKeysOf } from "./media.ts";
import type { TaskRepository } from "./repository.ts";

const BATCH = 100;

/** Delete the stored video, thumbnail and last frame of tasks past `expires_at`. */
export function expiredMediaSweep(deps: {
  tasks: Pick<TaskRepository, "listExpiredMedia" | "forgetMedia">;
  storage: Pick<BlobStorage, "delete">;
}): SweepStep {
  return {
    name: "expired videos",
    async run(now) {
      let removed = 0;
      for (;;) {
        const batch = await deps.tasks.listExpiredMedia(now, BATCH);
        for (const task of batch) {
          // A delete that fails (storage away) throws: the task keeps its keys and the next round
          // tries again; nothing is forgotten that is still stored.
          for (const key of storedKeysOf(task)) await deps.storage.delete(key);
          await deps.tasks.forgetMedia(task.id);
          removed++;
        }
        if (batch.length < BATCH) return removed;
      }
    },
  };
}

/** What ending an unfinished task needs: its provider asked to stop it, then the lifecycle. */
interface EndDeps {
  lifecycle: Pick<TaskLifecycle, "finish">;
  cancelUpstream(task: TaskRow): Promise<CancelOutcome>;
  logger: Logger;
}

/**
 * Fail an unfinished task with `code` (never billed), cancelling it at its provider first where the
 * provider can stop it; the message says whether it could. True when this call finished it.
 */
async function endUnfinished(deps: EndDeps, task: TaskRow, code: string, why: string): Promise<boolean> {
  let upstream = "";
  if (task.upstream_id) {
    const outcome = await deps.cancelUpstream(task).catch((error: unknown) => {
      deps.logger.warn(
        { err: error, task_id: task.id },
        `${code}: the provider could not be asked to cancel`,
      );
      return { cancelled: false as const, reason: "the provider could not be reached" };
    });
    upstream = outcome.cancelled
      ? "; it was cancelled at the provider"
      : `; the provider could not stop it (${outcome.reason})`;
  }
  const finished = await deps.lifecycle.finish(task.id, "failed", {
    error_code: code,
    error_message: `${why}${upstream}`,
  });
  return finished !== undefined;
}

/**
 * Tasks still unfinished `timeoutSeconds` after they were accepted fail with `timeout` (and are
 * never billed). One at a provider is cancelled there first where the provider can stop it; a task
 * whose provider has finished is left to its ingest, which has a deadline of its own.
 */
export function taskTimeoutSweep(
  deps: EndDeps & { timeoutSeconds: number; tasks: Pick<TaskRepository, "listActiveOlderThan"> },
): SweepStep {
  return {
    name: "task timeouts",
    async run(now) {
      const stuck = await deps.tasks.listActiveOlderThan(now - deps.timeoutSeconds * 1000, BATCH);
      let ended = 0;
      for (const task of stuck) {
        if (task.upstream_status === "succeeded") continue;
        const why = `the task did not finish within ${deps.timeoutSeconds} s`;
        if (await endUnfinished(deps, task, "timeout", why)) ended++;
      }
      return ended;
    },
  };
}

/**
 * Tasks past their own deadline (metadata.deadline_seconds) fail with `deadline_exceeded`, the same
 * way: cancelled upstream where possible, never billed. A task whose provider has finished is left
 * to its ingest (the video exists; the client would rather have it).
 */
export function deadlineSweep(
  deps: EndDeps & { tasks: Pick<TaskRepository, "listPastDeadline"> },
): SweepStep {
  return {
    name: "task deadlines",
    async run(now) {
      let ended = 0;
      for (const task of await deps.tasks.listPastDeadline(now, BATCH)) {
        if (task.upstream_status === "succeeded") continue;
        const seconds = Math.round(((task.deadline_at ?? now) - task.created_at) / 1000);
        const why = `the task did not finish within its deadline of ${seconds} s (metadata.deadline_seconds)`;
        if (await endUnfinished(deps, task, "deadline_exceeded", why)) ended++;
      }
      return ended;
    },
  };
}

/**
 * Every housekeeping step of a process, on the sweep interval: expired files and videos, task
 * timeouts and deadlines, old Idempotency-Keys and limit counters, and a killed process's leftovers in tmp/.
 */
export function housekeeping(deps: {
  config: Pick<Config, "dataDir" | "taskTimeoutSeconds" | "requestTimeoutSeconds" | "sweepIntervalSeconds">;
  files: Pick<FileService, "sweepExpired">;
  tasks: Pick<
    TaskRepository,
    "listExpiredMedia" | "forgetMedia" | "listActiveOlderThan" | "listPastDeadline"
  >;
  storage: Pick<BlobStorage, "delete">;
  lifecycle: Pick<TaskLifecycle, "finish">;
  idempotency: Pick<IdempotencyRepository, "purgeExpired">;
  billing: Pick<Billing, "repository">;
  cancelUpstream(task: TaskRow): Promise<CancelOutcome>;
  slots: Pick<ChannelSlots, "reconcile">;
  logger: Logger;
}): Sweeper {
  const { config, logger } = deps;
  const tmpDir = join(config.dataDir, "tmp");
  // A live tmp entry is bounded by the request timeout; an older one is a killed process's.
  const tmpAgeMs = Math.max(3600, 2 * config.requestTimeoutSeconds) * 1000;
  return new Sweeper(
    [
      { name: "expired files", run: (now) => deps.files.sweepExpired(now) },
      expiredMediaSweep(deps),
      taskTimeoutSweep({
        ...deps,
        timeoutSeconds: config.taskTimeoutSeconds,
        logger: logger.child({ component: "upstream" }),
      }),
      deadlineSweep({ ...deps, logger: logger.child({ component: "upstream" }) }),
      { name: "idempotency keys", run: (now) => deps.idempotency.purgeExpired(now).then(() => undefined) },
      { name: "limit counters", run: (now) => deps.billing.repository.purgeExpiredCounters(now) },
      // A slot that leaked (a bug, a hand-edited row) would shrink a channel's capacity for good.
      { name: "channel slots", run: () => deps.slots.reconcile().then(() => undefined) },
      { name: "tmp leftovers", run: (now) => sweepTmp(tmpDir, tmpAgeMs, now) },
    ],
    { intervalMs: config.sweepIntervalSeconds * 1000, logger: logger.child({ component: "sweeper" }) },
  );
}
