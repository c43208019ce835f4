import type { Logger } from "pino";

/** One housekeeping step: returns how many things it handled (for the log), or nothing. */
export interface SweepStep {
  name: string;
  run(now: number): Promise<number | undefined>;
}

/**
 * Runs housekeeping steps on an interval, each on its own: a step that throws is logged and the
 * others still run, this round and every later one. (One `try` around them all let a failed blob
 * delete in the first step skip the task-timeout step, for good: stuck tasks kept their holds.)
 */
export class Sweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<Record<string, string>> | undefined;

  constructor(
    private readonly steps: SweepStep[],
    private readonly options: { intervalMs: number; logger: Logger },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.runOnce(), this.options.intervalMs);
    this.timer.unref();
    void this.runOnce();
  }

  /** Stop scheduling, and wait for a round in progress. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One round of every step (a round already running is joined, not doubled): step → "ok" or why not. */
  runOnce(): Promise<Record<string, string>> {
    this.running ??= this.round().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<Record<string, string>> {
    const outcome: Record<string, string> = {};
    for (const step of this.steps) {
      try {
        const handled = await step.run(Date.now());
        outcome[step.name] = "ok";
        if (handled) this.options.logger.info({ step: step.name, handled }, "sweep");
      } catch (error) {
        outcome[step.name] = error instanceof Error ? error.message : String(error);
        this.options.logger.warn(
          { err: error, step: step.name },
          "sweep step failed; it runs again next round",
        );
      }
    }
    return outcome;
  }
}
