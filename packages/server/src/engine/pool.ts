/**
 * A bounded concurrency limiter for renders. Each render already keeps both ffmpeg and the frame
 * workers busy, so running more renders than cores only adds memory and latency: extra renders
 * wait in a FIFO queue. A queued render whose signal aborts leaves the queue without starting.
 */
import { availableParallelism } from "node:os";
import { renderClip } from "./render.ts";
import type { RenderInput, RenderResult } from "./types.ts";

export interface RenderPoolOptions {
  /** Renders allowed at once; default: the number of cores. */
  concurrency?: number;
  /** The render function (tests substitute a fake). */
  render?: (input: RenderInput) => Promise<RenderResult>;
}

interface Waiter {
  start: () => void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

export class RenderPool {
  readonly concurrency: number;
  private readonly render: (input: RenderInput) => Promise<RenderResult>;
  private running = 0;
  private readonly queue: Waiter[] = [];

  constructor(options: RenderPoolOptions = {}) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? availableParallelism()));
    this.render = options.render ?? renderClip;
  }

  /** Renders in progress. */
  get active(): number {
    return this.running;
  }

  /** Renders waiting for a slot. */
  get waiting(): number {
    return this.queue.length;
  }

  async run(input: RenderInput): Promise<RenderResult> {
    await this.acquire(input.signal);
    try {
      return await this.render(input);
    } finally {
      this.release();
    }
  }

  private acquire(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { start: resolve, signal };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.queue.indexOf(waiter);
          if (index >= 0) this.queue.splice(index, 1);
          reject(abortReason(signal));
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.queue.push(waiter);
    });
  }

  private release(): void {
    const next = this.queue.shift();
    if (!next) {
      this.running--;
      return;
    }
    // The slot passes straight to the next waiter, so `running` stays the same.
    if (next.signal && next.onAbort) next.signal.removeEventListener("abort", next.onAbort);
    next.start();
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error("render aborted");
  error.name = "AbortError";
  return error;
}
