import type { Kysely } from "kysely";

import type { Database, JobRow } from "../store/schema.ts";

export type JobKind = "render" | "deliver" | "dispatch" | "ingest";

export interface EnqueueOptions {
  kind: JobKind;
  taskId?: string;
  payload?: Record<string, unknown>;
  /** Unix ms; default now. */
  runAt?: number;
  /**
   * Whose work this is (the task's account): claims take turns between keys, so one account's
   * backlog does not delay another account's job past the next free slot.
   */
  fairKey?: string;
  maxAttempts?: number;
}

export interface ClaimedJob {
  id: string;
  kind: JobKind;
  taskId: string | null;
  payload: Record<string, unknown>;
  /** 1 on the first run; >1 after a crash or retry. */
  attempt: number;
  maxAttempts: number;
}

/**
 * The queue every background step goes through. The embedded implementation keeps jobs in the
 * store; a pg-boss implementation can replace it for large Postgres deployments. Claims are
 * leases: a worker that dies stops renewing, and the job becomes claimable again.
 */
export interface JobQueue {
  /** `trx` lets a caller enqueue atomically with its own writes (e.g. task insert + render job). */
  enqueue(job: EnqueueOptions, trx?: Kysely<Database>): Promise<string>;
  claim(kinds: JobKind[], owner: string, leaseMs: number, limit: number): Promise<ClaimedJob[]>;
  /** Extend a lease; false if the lease was lost (another worker owns the job now). */
  renew(id: string, owner: string, leaseMs: number): Promise<boolean>;
  complete(id: string, owner: string): Promise<void>;
  /** Put a job back for a later attempt, or bury it when `retryAt` is null. */
  fail(id: string, owner: string, error: string, retryAt: number | null): Promise<void>;
  /** Give a job back without counting an attempt: at once (graceful shutdown) or at `runAt` (deferral). */
  release(id: string, owner: string, runAt?: number): Promise<void>;
  depth(): Promise<Array<{ kind: string; status: string; n: number }>>;
  /**
   * Called when a job is enqueued in this process, so local workers wake without polling; with
   * the job's kind when it is known (undefined: any kind may have work).
   */
  onEnqueue(listener: (kind?: JobKind) => void): void;
  /** Wake local workers now (e.g. after the transaction that enqueued a `kind` job has committed). */
  poke(kind?: JobKind): void;
  /** Release the queue's own connections (pg-boss has a pool; the built-in queue uses the store's). */
  close?(): Promise<void>;
}

export function rowToClaimed(row: JobRow): ClaimedJob {
  return {
    id: row.id,
    kind: row.kind as JobKind,
    taskId: row.task_id,
    payload: JSON.parse(row.payload) as Record<string, unknown>,
    attempt: row.attempts,
    maxAttempts: row.max_attempts,
  };
}
