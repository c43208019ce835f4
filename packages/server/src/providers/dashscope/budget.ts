/**
 * A query budget: at most `limit` calls in any window of `windowMs`, first come first served.
 *
 * DashScope allows 20 task queries per second per Alibaba Cloud account (docs/providers.md §2.1) and
 * answers 429 `Throttling.RateQuota` beyond. Every status call of the channels that share an
 * account takes a slot here first, so polling more tasks than the budget allows slows polling
 * down instead of collecting 429s. A sliding window is stricter than a token bucket (a bucket lets
 * a full burst through right after a full second), which is what a per-second quota needs; the
 * window is a little longer than a second to absorb network jitter between us and the provider.
 */
export class QueryBudget {
  /** Start times handed out, ascending (FIFO: a later caller never starts before an earlier one). */
  private readonly slots: number[] = [];
  private pausedUntil = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
    /** A caller that would wait longer than this is refused instead (it retries on a later poll). */
    readonly maxWaitMs: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(limit >= 1)) throw new RangeError(`a query budget needs limit >= 1, got ${limit}`);
  }

  /** When the next call may start, without taking the slot. */
  nextStart(): number {
    const now = this.now();
    this.prune(now);
    let at = Math.max(now, this.pausedUntil, this.slots.at(-1) ?? 0);
    if (this.slots.length >= this.limit) {
      at = Math.max(at, this.slots[this.slots.length - this.limit]! + this.windowMs);
    }
    return at;
  }

  /** Wait for a slot. Throws `BudgetExhausted` (without waiting) when the wait would exceed maxWaitMs. */
  async take(signal?: AbortSignal): Promise<void> {
    const at = this.nextStart();
    const wait = at - this.now();
    if (wait > this.maxWaitMs) throw new BudgetExhausted(wait);
    this.slots.push(at);
    if (wait > 0) await sleep(wait, signal);
  }

  /** The provider throttled us anyway (another client on the account): hold every caller back. */
  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
  }

  /** Slots currently counted against the window (for tests and metrics). */
  get inWindow(): number {
    this.prune(this.now());
    return this.slots.length;
  }

  private prune(now: number): void {
    // Keep the last `limit` slots even when old: nextStart reads the limit-th most recent one.
    while (this.slots.length > this.limit && this.slots[0]! <= now - this.windowMs) this.slots.shift();
  }
}

export class BudgetExhausted extends Error {
  constructor(readonly waitMs: number) {
    super(`the channel's query budget is used up for the next ${Math.ceil(waitMs)} ms; polling later`);
    this.name = "BudgetExhausted";
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
