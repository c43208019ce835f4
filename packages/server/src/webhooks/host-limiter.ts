/**
 * Bounds concurrent deliveries per receiving host. A job whose host is busy waits in-process for a
 * slot (no delay when one frees), but only while few others wait for that host; past that it is
 * handed back to the queue, so a slow receiver can never occupy more than `limit + maxWaiting`
 * of the global delivery slots.
 */
export class HostLimiter {
  private readonly hosts = new Map<string, { active: number; waiting: Array<() => void> }>();

  constructor(
    private readonly limit: number,
    private readonly maxWaiting: number,
  ) {}

  /** Resolves with a release function, or with null when the host is saturated (defer the job). */
  async acquire(host: string, signal: AbortSignal): Promise<(() => void) | null> {
    let state = this.hosts.get(host);
    if (!state) {
      state = { active: 0, waiting: [] };
      this.hosts.set(host, state);
    }
    if (state.active < this.limit) {
      state.active++;
      return this.releaser(host);
    }
    if (state.waiting.length >= this.maxWaiting) return null;
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
    return () => {
      if (released) return;
      released = true;
      const state = this.hosts.get(host);
      if (!state) return;
      const next = state.waiting.shift();
      if (next) next();
      else if (--state.active === 0) this.hosts.delete(host);
    };
  }

  inFlight(host: string): number {
    return this.hosts.get(host)?.active ?? 0;
  }
}
