/**
 * A process-wide pool of frame workers (worker threads running frame-kernel.ts). Frames of every
 * render share it, so the number of pixel-pushing threads stays at the core count however many
 * renders run. Workers are unref'd: an idle pool never keeps the process alive.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { handleKernelRequest, type KernelRequest, type KernelResult } from "./frame-kernel.ts";

interface Pending {
  request: KernelRequest;
  resolve: (result: KernelResult) => void;
  reject: (error: Error) => void;
}

interface PooledWorker {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * Worker bootstrap (CommonJS, evaluated). The kernel is TypeScript and module hooks are not
 * inherited by eval'd workers (neither `--import tsx` nor the CLI's programmatic register()), so
 * register tsx inside the worker first. Register before the first import: a failed import is cached.
 */
const BOOTSTRAP = `
const { workerData } = require("node:worker_threads");
const load = workerData.tsx
  ? import(workerData.tsx).then((api) => { api.register(); return import(workerData.entry); })
  : import(workerData.entry);
load.catch((error) => { setImmediate(() => { throw error; }); });
`;

function tsxApiUrl(): string | undefined {
  try {
    return import.meta.resolve("tsx/esm/api");
  } catch {
    return undefined;
  }
}

export class FrameWorkerPool {
  private readonly workers: PooledWorker[] = [];
  private nextId = 1;
  private broken = false;

  constructor(readonly size = Math.max(1, Math.min(4, availableParallelism()))) {}

  /**
   * Run a kernel request on the least busy worker (or in-process if workers cannot start). Inputs
   * are shared buffers or copied, never transferred, so a request can be retried in-process.
   */
  run(request: KernelRequest): Promise<KernelResult> {
    if (this.broken) return Promise.resolve().then(() => handleKernelRequest(request));
    const pooled = this.pick();
    if (!pooled) return Promise.resolve().then(() => handleKernelRequest(request));
    const id = this.nextId++;
    return new Promise<KernelResult>((resolve, reject) => {
      pooled.pending.set(id, { request, resolve, reject });
      // While a request is outstanding the worker must keep the process alive.
      pooled.worker.ref();
      pooled.worker.postMessage({ id, request });
    });
  }

  private pick(): PooledWorker | undefined {
    if (this.workers.length < this.size) {
      const spawned = this.spawn();
      if (spawned) return spawned;
    }
    let best: PooledWorker | undefined;
    for (const pooled of this.workers) {
      if (!best || pooled.pending.size < best.pending.size) best = pooled;
    }
    return best;
  }

  private spawn(): PooledWorker | undefined {
    let worker: Worker;
    try {
      worker = new Worker(BOOTSTRAP, {
        eval: true,
        workerData: { entry: new URL("./frame-worker.ts", import.meta.url).href, tsx: tsxApiUrl() },
      });
    } catch {
      this.broken = true;
      return undefined;
    }
    const pooled: PooledWorker = { worker, pending: new Map() };
    worker.on("message", (message: { id: number; result?: KernelResult; error?: string }) => {
      const pending = pooled.pending.get(message.id);
      if (!pending) return;
      pooled.pending.delete(message.id);
      if (pooled.pending.size === 0) worker.unref();
      if (message.error !== undefined) pending.reject(new Error(message.error));
      else pending.resolve(message.result!);
    });
    const fail = (error: Error) => {
      const index = this.workers.indexOf(pooled);
      if (index >= 0) this.workers.splice(index, 1);
      for (const pending of pooled.pending.values()) {
        if (this.broken) {
          try {
            pending.resolve(handleKernelRequest(pending.request));
          } catch (inline) {
            pending.reject(inline instanceof Error ? inline : new Error(String(inline)));
          }
        } else pending.reject(error);
      }
      pooled.pending.clear();
    };
    worker.on("error", (error) => {
      // A worker that cannot even load the kernel will not do better next time: stay in-process.
      if (/Cannot find|Unknown file extension|ERR_/.test(error.message)) this.broken = true;
      fail(error);
    });
    worker.on("exit", (code) => {
      fail(new Error(`frame worker exited with code ${code}`));
    });
    // After the listeners: attaching a "message" listener refs the worker's port again, and an idle
    // pool must never keep the process alive (SIGTERM would then wait for SIGKILL).
    worker.unref();
    this.workers.push(pooled);
    return pooled;
  }

  /**
   * Start every worker now rather than on first use: a worker takes a moment to boot (it loads the
   * TypeScript kernel), which renders otherwise pay at their start. Idempotent.
   */
  warm(): void {
    while (!this.broken && this.workers.length < this.size) {
      if (!this.spawn()) break;
    }
  }

  /** Worker threads currently running. */
  get threads(): number {
    return this.workers.length;
  }

  /** True once workers proved unable to start, so kernel work runs on the calling thread. */
  get inProcess(): boolean {
    return this.broken;
  }

  /** Stop every worker (tests and shutdown). */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map(({ worker }) => worker.terminate()));
  }
}

let shared: FrameWorkerPool | undefined;

export function frameWorkers(): FrameWorkerPool {
  shared ??= new FrameWorkerPool();
  return shared;
}
