/**
 * Bounds concurrent deliveries per receiving host. A job whose host is busy waits in-process for a
 * slot (no delay when one frees), but only while few enough others wait for that host that its
 * turn comes soon; past that it is handed back to the queue. How many may wait follows how fast the
 * host answers: a receiver that holds a slot for 2 ms may have hundreds waiting (they drain in well
 * under a second), one that takes seconds only `minWaiting`, so a slow receiver can never occupy
 * more than `limit + minWaiting` of the global delivery slots, and a fast one is not starved by
 * jobs bouncing in and out of the queue.
 *
 * How many deliveries a host gets at once adapts too (additive increase, multiplicative decrease,
 * as TCP does): every host starts at `limit`; each quick success adds 1/allowed (so about one more
 * slot per round of successes) up to `maxLimit`, and an answer that says "too much" (429, 5xx, a
 * timeout or a refused connection) halves it, never below `limit`. A receiver that answers in
 * milliseconds earns the parallelism to take a burst quickly; a struggling one is not pushed harder.
 */
export interface HostLimiterOptions {
  /** Deliveries in flight per host to begin with, and the least a host is ever cut down to. */
  limit: number;
  /** Most deliveries in flight per host, earned by answering quickly (= `limit`: no adapting). */
  maxLimit: number;
  /** A success that held its slot at most this long (ms) counts as quick. */
  quickMs: number;
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
/**
 * What an attempt's answer says about the host's capacity: `ok` (a 2xx), `overloaded` (429, 5xx,
 * a timeout or a connection failure), `neutral` (anything else, or no answer of its own making:
 * our own abort, a 4xx that is about the payload).
 */
export type HostVerdict = "ok" | "overloaded" | "neutral";

/** Hosts whose speed is remembered (the oldest is forgotten first). */
const REMEMBERED_HOSTS = 10_000;

export class HostLimiter {
  private readonly hosts = new Map<string, { active: number; waiting: Array<() => void> }>();
  /** How long a delivery to each host recently held its slot: an exponential moving average, ms. */
  private readonly heldMs = new Map<string, number>();
  /** Slots each host has earned (fractional: quick successes add 1/allowed); absent = `limit`. */
  private readonly allowed = new Map<string, number>();
  private readonly options: HostLimiterOptions;

  constructor(options: Partial<HostLimiterOptions> & Pick<HostLimiterOptions, "limit">) {
    const minWaiting = options.minWaiting ?? options.limit * 2;
    this.options = {
      limit: options.limit,
      maxLimit: Math.max(options.limit, options.maxLimit ?? options.limit),
      quickMs: options.quickMs ?? 250,
      minWaiting,
      maxWaiting: Math.max(minWaiting, options.maxWaiting ?? options.limit * 64),
      waitBudgetMs: options.waitBudgetMs ?? 1000,
      clock: options.clock ?? (() => performance.now()),
    };
  }

  /** How many jobs may wait in-process for `host` now. */
  maxWaiting(host: string): number {
    const { minWaiting, maxWaiting, waitBudgetMs } = this.options;
    const held = this.heldMs.get(host);
    if (held === undefined) return minWaiting;
    const drainable = Math.floor((this.slots(host) * waitBudgetMs) / Math.max(held, 0.5));
    return Math.min(maxWaiting, Math.max(minWaiting, drainable));
  }

  /** Resolves with a release function, or with null when the host is saturated (defer the job). */
  async acquire(host: string, signal: AbortSignal): Promise<((verdict?: HostVerdict) => void) | null> {
    let state = this.hosts.get(host);
    if (!state) {
      state = { active: 0, waiting: [] };
      this.hosts.set(host, state);
    }
    if (state.active < this.slots(host)) {
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

  /** Deliveries `host` may have in flight now. */
  slots(host: string): number {
    return Math.floor(this.allowed.get(host) ?? this.options.limit);
  }

  private releaser(host: string): (verdict?: HostVerdict) => void {
    let released = false;
    const since = this.options.clock();
    return (verdict = "neutral") => {
      if (released) return;
      released = true;
      const held = this.options.clock() - since;
      this.observe(host, held);
      this.adapt(host, verdict, held);
      const state = this.hosts.get(host);
      if (!state) return;
      const next = state.waiting.shift();
      if (next) next();
      else if (--state.active === 0) this.hosts.delete(host);
      // A slot earned just now goes to a waiter at once rather than at the next release.
      while (state.active > 0 && state.active < this.slots(host) && state.waiting.length > 0) {
        state.active++;
        state.waiting.shift()!();
      }
    };
  }

  private adapt(host: string, verdict: HostVerdict, heldMs: number): void {
    const { limit, maxLimit, quickMs } = this.options;
    if (maxLimit === limit || verdict === "neutral") return;
    const current = this.allowed.get(host) ?? limit;
    let next = current;
    if (verdict === "overloaded") next = Math.max(limit, current / 2);
    else if (heldMs <= quickMs) next = Math.min(maxLimit, current + 1 / current);
    this.allowed.delete(host); // re-inserted last, like heldMs
    if (next !== limit) this.allowed.set(host, next);
    if (this.allowed.size > REMEMBERED_HOSTS) this.allowed.delete(this.allowed.keys().next().value!);
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
