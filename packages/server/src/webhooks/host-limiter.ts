/**
 * Bounds concurrent deliveries per receiving host. A job whose host is busy waits in-process for a
 * slot (no delay when one frees), but only while few enough others wait for that host that its
 * turn comes soon; past that it is handed back to the queue. How many may wait follows how fast the
 * host answers: a receiver that holds a slot for 2 ms may have hundreds waiting (they drain in well
 * under a second), one that takes seconds only `minWaiting`, so a slow receiver can never occupy
 * more than `limit + minWaiting` of the global delivery slots, and a fast one is not starved by
 * jobs bouncing in and out of the queue.
 */
export interface HostLimiterOptions {
  /** Deliveries in flight per host. */
  limit: number;
  /** Waiters allowed for a host whose speed is unknown or slow. */
  minWaiting: number;
  /** Waiters allowed for the fastest host. */
  maxWaiting: number;
  /** A waiter should get its slot within about this long (ms), judged by the host's recent speed. */
  waitBudgetMs: number;
  /** Milliseconds, monotonic (tests pass their own). */
  clock: () => number;
}

/** How much the newest delivery moves a host's recent-latency average. */
const SMOOTHING = 0.2;
/** Hosts whose speed is remembered (the oldest is forgotten first). */
const REMEMBERED_HOSTS = 10_000;

export class HostLimiter {
  private readonly hosts = new Map<string, { active: number; waiting: Array<() => void> }>();
  /** How long a delivery to each host recently held its slot: an exponential moving average, ms. */
  private readonly heldMs = new Map<string, number>();
  private readonly options: HostLimiterOptions;

  constructor(options: Partial<HostLimiterOptions> & Pick<HostLimiterOptions, "limit">) {
    const minWaiting = options.minWaiting ?? options.limit * 2;
    this.options = {
      limit: options.limit,
      minWaiting,
      maxWaiting: Math.max(minWaiting, options.maxWaiting ?? options.limit * 64),
      waitBudgetMs: options.waitBudgetMs ?? 1000,
      clock: options.clock ?? (() => performance.now()),
    };
  }

  /** How many jobs may wait in-process for `host` now. */
  maxWaiting(host: string): number {
    const { limit, minWaiting, maxWaiting, waitBudgetMs } = this.options;
    const held = this.heldMs.get(host);
    if (held === undefined) return minWaiting;
    const drainable = Math.floor((limit * waitBudgetMs) / Math.max(held, 0.5));
    return Math.min(maxWaiting, Math.max(minWaiting, drainable));
  }

  /** Resolves with a release function, or with null when the host is saturated (defer the job). */
  async acquire(host: string, signal: AbortSignal): Promise<(() => void) | null> {
    let state = this.hosts.get(host);
    if (!state) {
      state = { active: 0, waiting: [] };
      this.hosts.set(host, state);
    }
    if (state.active < this.options.limit) {
      state.active++;
      return this.releaser(host);
    }
    if (state.waiting.length >= this.maxWaiting(host)) return null;
    const entry = state;
    await new Promise<void>((resolve, reject) => {
      const wake = () => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
      const onAbort = () => {
        entry.waiting = entry.waiting.filter((w) => w !== wake);
        reject(signal.reason);
      };
      entry.waiting.push(wake);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    // The releasing job handed its slot straight to us (active unchanged).
    return this.releaser(host);
  }

  private releaser(host: string): () => void {
    let released = false;
    const since = this.options.clock();
    return () => {
      if (released) return;
      released = true;
      this.observe(host, this.options.clock() - since);
      const state = this.hosts.get(host);
      if (!state) return;
      const next = state.waiting.shift();
      if (next) next();
      else if (--state.active === 0) this.hosts.delete(host);
    };
  }

  private observe(host: string, ms: number): void {
    const previous = this.heldMs.get(host);
    this.heldMs.delete(host); // re-inserted last: the Map's order is least recently used first
    this.heldMs.set(host, previous === undefined ? ms : previous + SMOOTHING * (ms - previous));
    if (this.heldMs.size > REMEMBERED_HOSTS) this.heldMs.delete(this.heldMs.keys().next().value!);
  }

  inFlight(host: string): number {
    return this.hosts.get(host)?.active ?? 0;
  }
}
