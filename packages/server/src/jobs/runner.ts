import type { Logger } from "pino";
import { isStorageUnavailable } from "../storage/unavailable.ts";
import { isStoreUnavailable } from "../store/unavailable.ts";
import { RerunLoop } from "../util/rerun-loop.ts";
import type { ClaimedJob, JobKind, JobQueue } from "./queue.ts";

export interface JobContext {
  /** Aborted when the lease is lost or the process shuts down without waiting. */
  signal: AbortSignal;
  logger: Logger;
}

/** How long a job whose store went away waits before it runs again (no attempt spent). */
const STORE_RETRY_MS = 2000;

/** Thrown by a handler to ask for another attempt later (transient trouble). */
export class RetryLater extends Error {
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/**
 * Thrown by a handler that cannot run the job right now for a reason that is not the job's fault
 * (e.g. its target host is at its concurrency limit): the job goes back without using an attempt.
 */
export class Deferred extends Error {
  constructor(readonly delayMs: number) {
    super(`deferred for ${delayMs} ms`);
  }
}

export interface JobHandler {
  concurrency: number;
  handle(job: ClaimedJob, context: JobContext): Promise<void>;
  /** Called when a job has used its last attempt (e.g. fail the task so it is never left hanging). */
  exhausted?(job: ClaimedJob, error: unknown): Promise<void>;
}

interface Running {
  job: ClaimedJob;
  controller: AbortController;
  done: Promise<void>;
  /** The handler has returned or thrown; only the queue bookkeeping of this attempt is left. */
  handled: boolean;
}

/**
 * Pulls jobs from the queue and runs them with a bounded concurrency per kind. Leases are renewed
 * while a handler runs; a crashed process simply stops renewing and another worker (or this one
 * after restart) claims the job again.
 */
export class JobRunner {
  private readonly running = new Map<string, Running>();
  /**
   * Claim rounds: back to back while some kind fills all its free slots, else when woken (a job
   * enqueued or finished) or every `pollMs`. A synchronous store (better-sqlite3) answers every
   * claim in a microtask: without a turn of the event loop before each round, jobs that finish at
   * once (e.g. deferred because their host is busy) wake the pump again before any socket, timer
   * or lease renewal can run, and the process spins claiming and handing back the same due jobs.
   */
  private readonly pump: RerunLoop;
  /**
   * Kinds whose last claim found nothing at all, with when: for `emptyKindRecheckMs` they are not
   * asked again unless a job of theirs is enqueued here or a poke names them (or names no kind).
   * Without this, every job that finished started a claim for every kind: in a burst, thousands
   * of claims that found nothing. The pause is short because work enqueued by another process
   * (the API's dispatch jobs, for a worker) has no local event: a kind that keeps finding jobs is
   * never paused, and an empty one is looked at again within the pause.
   */
  private readonly drained = new Map<JobKind, number>();

  constructor(
    private readonly queue: JobQueue,
    private readonly handlers: Partial<Record<JobKind, JobHandler>>,
    private readonly options: {
      owner: string;
      leaseMs: number;
      pollMs?: number;
      /** How long a kind whose claim found nothing is left alone (default 100 ms; see `drained`). */
      emptyKindRecheckMs?: number;
      logger: Logger;
    },
  ) {
    this.pump = new RerunLoop({
      round: () => this.claimRound(),
      // The store away for a moment (a restart, a failover) is expected weather, not an error.
      onError: (error) => {
        if (isStoreUnavailable(error))
          this.options.logger.warn({ err: error }, "job claim: the store does not answer; retrying");
        else this.options.logger.error({ err: error }, "job claim failed; retrying");
      },
      tickMs: options.pollMs ?? 500,
      onTick: () => this.drained.clear(),
      yieldBeforeRound: true,
    });
    queue.onEnqueue((kind) => {
      if (kind) this.drained.delete(kind);
      else this.drained.clear();
      this.wake();
    });
  }

  start(): void {
    this.pump.start();
  }

  activeCount(kind?: JobKind): number {
    if (!kind) return this.running.size;
    let n = 0;
    for (const r of this.running.values()) if (r.job.kind === kind) n++;
    return n;
  }

  private recentlyDrained(kind: JobKind): boolean {
    const at = this.drained.get(kind);
    return at !== undefined && Date.now() - at < (this.options.emptyKindRecheckMs ?? 100);
  }

  private wake(): void {
    this.pump.wake();
  }

  /** Claims for every kind with free slots; true when some kind filled them all (claim again). */
  private async claimRound(): Promise<boolean> {
    let more = false;
    for (const [kind, handler] of Object.entries(this.handlers) as Array<[JobKind, JobHandler]>) {
      const free = handler.concurrency - this.activeCount(kind);
      if (free <= 0 || this.pump.stopped || this.recentlyDrained(kind)) continue;
      const jobs = await this.queue.claim([kind], this.options.owner, this.options.leaseMs, free);
      for (const job of jobs) this.launch(job, handler);
      if (jobs.length === free) more = true;
      else if (jobs.length === 0) this.drained.set(kind, Date.now());
    }
    return more;
  }

  private launch(job: ClaimedJob, handler: JobHandler): void {
    const controller = new AbortController();
    const logger = this.options.logger.child({ job_id: job.id, task_id: job.taskId, kind: job.kind });
    if (job.attempt > job.maxAttempts) {
      // Claimed back after its lease lapsed once too often: every earlier attempt ended with its
      // process (killed, out of memory, stuck past its lease). Running it again could take down
      // this one too, so it ends here, as a job that failed its last attempt does.
      this.bury(job, handler, logger);
      return;
    }
    // Claimed again while an earlier attempt still runs here: that attempt's lease lapsed (its
    // renewals failed, e.g. the store was unreachable for a while) and this process won the job
    // back. Leases are held by owner, so the queue cannot tell the two apart: stop the earlier
    // one, and `superseded()` keeps it from completing or failing the job under the new claim.
    const earlier = this.running.get(job.id);
    if (earlier && !earlier.handled && !earlier.controller.signal.aborted) {
      logger.warn(
        { attempt: job.attempt },
        "job claimed again while an earlier attempt runs here; stopping that one",
      );
      earlier.controller.abort(new Error("lease lost: the job was claimed again"));
    }
    const superseded = () => this.running.get(job.id)?.controller !== controller;
    const renewEvery = Math.max(200, Math.floor(this.options.leaseMs / 3));
    const heartbeat = setInterval(() => {
      this.queue.renew(job.id, this.options.owner, this.options.leaseMs).then(
        (ok) => {
          if (!ok && !controller.signal.aborted) {
            logger.warn("job lease lost; stopping this attempt");
            controller.abort(new Error("lease lost"));
          }
        },
        (error) => logger.warn({ err: error }, "lease renewal failed"),
      );
    }, renewEvery);

    const entry: Running = { job, controller, done: Promise.resolve(), handled: false };
    entry.done = (async () => {
      try {
        await handler.handle(job, { signal: controller.signal, logger }).finally(() => {
          entry.handled = true;
        });
        if (superseded()) return; // the later attempt owns the job's outcome
        await this.queue.complete(job.id, this.options.owner);
      } catch (error) {
        if (controller.signal.aborted && this.pump.stopped) return; // released below by stop()
        if (superseded()) return;
        if (error instanceof Deferred) {
          await this.queue.release(job.id, this.options.owner, Date.now() + Math.round(error.delayMs));
          return;
        }
        if (isStoreUnavailable(error) || isStorageUnavailable(error)) {
          // The store or the blob storage went away under the job (Postgres restarting, an S3
          // outage): not the job's fault, so no attempt is spent. If the store is still away this release fails too, and the lease
          // lapses instead, which costs the attempt a crash would.
          logger.warn({ err: error }, "store unavailable during the job; it runs again shortly");
          await this.queue.release(job.id, this.options.owner, Date.now() + STORE_RETRY_MS);
          return;
        }
        const message = error instanceof Error ? error.message : String(error);
        const last = job.attempt >= job.maxAttempts;
        if (last) {
          logger.error({ err: error, attempt: job.attempt }, "job failed on its last attempt");
          try {
            await handler.exhausted?.(job, error);
          } catch (hookError) {
            logger.error({ err: hookError }, "exhausted-job hook failed");
          }
          await this.queue.fail(job.id, this.options.owner, message, null);
        } else {
          const delay =
            error instanceof RetryLater ? error.delayMs : Math.min(60_000, 1000 * 2 ** job.attempt);
          logger.warn(
            { err: error, attempt: job.attempt, retry_in_ms: delay },
            "job attempt failed; will retry",
          );
          await this.queue.fail(job.id, this.options.owner, message, Date.now() + Math.round(delay));
        }
      } finally {
        clearInterval(heartbeat);
        // A job handed back (Deferred) may already be running again here under the same id: only
        // this attempt's entry is ours to remove.
        if (this.running.get(job.id)?.controller === controller) this.running.delete(job.id);
        this.wake();
      }
    })().catch((error) => logger.error({ err: error }, "job bookkeeping failed"));
    this.running.set(job.id, entry);
  }

  private bury(job: ClaimedJob, handler: JobHandler, logger: Logger): void {
    const message = `the job's lease lapsed on all ${job.maxAttempts} attempts (each process running it stopped)`;
    logger.error({ attempt: job.attempt }, "job claimed past its last attempt; not run again");
    const done = (async () => {
      try {
        await handler.exhausted?.(job, new Error(message));
      } catch (hookError) {
        logger.error({ err: hookError }, "exhausted-job hook failed");
      }
      await this.queue.fail(job.id, this.options.owner, message, null);
    })()
      .catch((error) => logger.error({ err: error }, "job bookkeeping failed"))
      .finally(() => {
        if (this.running.get(job.id)?.done === done) this.running.delete(job.id);
        this.wake();
      });
    this.running.set(job.id, { job, controller: new AbortController(), done, handled: true });
  }

  /**
   * Stop claiming; give in-flight jobs `graceMs` to finish, then abort them and hand them back
   * to the queue so the next process picks them up at once.
   */
  async stop(graceMs: number): Promise<void> {
    this.pump.stop();
    const inFlight = [...this.running.values()];
    if (inFlight.length === 0) return;
    await Promise.race([
      Promise.all(inFlight.map((r) => r.done)),
      new Promise((resolve) => setTimeout(resolve, graceMs)),
    ]);
    const left = [...this.running.values()];
    for (const r of left) r.controller.abort(new Error("shutting down"));
    await Promise.all(
      left.map(async (r) => {
        await r.done;
        await this.queue.release(r.job.id, this.options.owner).catch(() => {});
      }),
    );
  }
}
