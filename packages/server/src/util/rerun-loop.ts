import { setImmediate as nextTurn } from "node:timers/promises";

export interface RerunLoopOptions {
  /** One round of work; true asks for another round at once (e.g. a full batch came back). */
  round: () => Promise<boolean>;
  /** A round threw: the loop ends there and waits for the next tick or wake-up. */
  onError: (error: unknown) => void;
  /** After the loop ends (and while started), it wakes itself again after this long. */
  tickMs: number;
  /** Called when the tick fires, just before it wakes the loop. */
  onTick?: () => void;
  /** Give the event loop one turn before every round (see JobRunner for why). */
  yieldBeforeRound?: boolean;
}

/**
 * A loop of async rounds driven by `wake()`: a wake-up while a round runs is not lost but asks
 * for one more round (any number of them coalesce into one), and the loop never runs twice at
 * once. When it ends, a timer wakes it again after `tickMs`; `stop()` clears that timer and ends
 * the loop after the current round.
 */
export class RerunLoop {
  private stoppedFlag = true;
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RerunLoopOptions) {}

  get stopped(): boolean {
    return this.stoppedFlag;
  }

  start(): void {
    this.stoppedFlag = false;
    this.wake();
  }

  stop(): void {
    this.stoppedFlag = true;
    if (this.timer) clearTimeout(this.timer);
  }

  wake(): void {
    if (this.stoppedFlag) return;
    if (this.running) {
      this.again = true;
      return;
    }
    void this.loop();
  }

  private async loop(): Promise<void> {
    this.running = true;
    if (this.timer) clearTimeout(this.timer);
    try {
      do {
        if (this.options.yieldBeforeRound) await nextTurn();
        this.again = false;
        if (await this.options.round()) this.again = true;
      } while (this.again && !this.stoppedFlag);
    } catch (error) {
      this.options.onError(error);
    } finally {
      this.running = false;
      if (!this.stoppedFlag) {
        this.timer = setTimeout(() => {
          this.options.onTick?.();
          this.wake();
        }, this.options.tickMs);
      }
    }
  }
}
