/**
 * A deterministic, compressible clock for test doubles.
 *
 * Simulated time runs `scale` times faster than wall-clock time (scale 600: one simulated minute
 * per 100 real ms). `scale: 0` freezes it, so only `advance()` moves it: fully deterministic.
 * Timers are kept in simulated time and fire in due order, whether time passes by itself or
 * through `advance()`.
 */

export interface ClockOptions {
  /** Simulated ms per real ms. Default 600 (1 simulated minute = 100 ms). 0 = manual only. */
  scale?: number;
  /** Simulated epoch ms at start. Default: Date.now(). */
  start?: number;
}

export interface ClockTimer {
  readonly id: number;
  readonly due: number;
  cancel(): void;
}

interface TimerEntry {
  id: number;
  due: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

const MAX_TIMEOUT = 2 ** 31 - 1;

export class Clock {
  #scale: number;
  #base: number;
  #anchor: number;
  #timers: TimerEntry[] = [];
  #real: NodeJS.Timeout | undefined;
  #seq = 0;
  #firing = false;
  #closed = false;

  constructor(options: ClockOptions = {}) {
    this.#scale = checkScale(options.scale ?? 600);
    this.#base = options.start ?? Date.now();
    this.#anchor = performance.now();
  }

  /** Simulated time, epoch ms (integer). */
  now(): number {
    return Math.floor(this.#base + (performance.now() - this.#anchor) * this.#scale);
  }

  /** Simulated time as Unix seconds. */
  nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }

  get scale(): number {
    return this.#scale;
  }

  /** Change the speed; simulated time already elapsed is kept. */
  setScale(scale: number): void {
    this.#rebase();
    this.#scale = checkScale(scale);
    this.#arm();
  }

  /**
   * Move simulated time forward by `ms`, firing every timer that falls due in due order; while a
   * timer runs, now() reads its due time (so timers it sets are placed correctly).
   */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`advance(ms) needs ms >= 0, got ${ms}`);
    this.#rebase();
    const target = this.#base + ms;
    // Step through the due timers so each runs with now() equal to its own due time.
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.due > target || this.#firing) break;
      if (next.due > this.#base) this.#base = next.due;
      this.#fire();
    }
    this.#base = Math.max(this.#base, target);
    this.#fire();
  }

  /** Real milliseconds that `simMs` of simulated time takes at the current scale (Infinity when frozen). */
  toReal(simMs: number): number {
    return this.#scale === 0 ? Number.POSITIVE_INFINITY : simMs / this.#scale;
  }

  /** Run `fn` once simulated time reaches `due` (epoch ms). */
  at(due: number, fn: () => void): ClockTimer {
    const entry: TimerEntry = { id: ++this.#seq, due, seq: this.#seq, fn, cancelled: false };
    if (!this.#closed) {
      this.#timers.push(entry);
      this.#timers.sort((a, b) => a.due - b.due || a.seq - b.seq);
      if (!this.#firing) this.#arm();
    }
    return {
      id: entry.id,
      due,
      cancel: () => {
        entry.cancelled = true;
        this.#timers = this.#timers.filter((t) => t !== entry);
        if (!this.#firing) this.#arm();
      },
    };
  }

  /** Run `fn` after `ms` of simulated time. */
  after(ms: number, fn: () => void): ClockTimer {
    return this.at(this.now() + ms, fn);
  }

  /** Resolve after `ms` of simulated time. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.after(ms, resolve));
  }

  /** Number of pending timers. */
  get pending(): number {
    return this.#timers.length;
  }

  /** Drop every timer; the clock keeps telling time. */
  close(): void {
    this.#closed = true;
    this.#timers = [];
    if (this.#real) clearTimeout(this.#real);
    this.#real = undefined;
  }

  #rebase(): void {
    const now = performance.now();
    this.#base += (now - this.#anchor) * this.#scale;
    this.#anchor = now;
  }

  #fire(): void {
    if (this.#firing) return;
    this.#firing = true;
    try {
      for (;;) {
        const next = this.#timers[0];
        if (!next || next.due > this.now()) break;
        this.#timers.shift();
        if (!next.cancelled) next.fn();
      }
    } finally {
      this.#firing = false;
    }
    this.#arm();
  }

  #arm(): void {
    if (this.#real) clearTimeout(this.#real);
    this.#real = undefined;
    const next = this.#timers[0];
    if (!next || this.#scale === 0 || this.#closed) return;
    const wait = Math.max(0, Math.ceil((next.due - this.now()) / this.#scale));
    this.#real = setTimeout(() => this.#fire(), Math.min(wait, MAX_TIMEOUT));
  }
}

function checkScale(scale: number): number {
  if (!(scale >= 0) || !Number.isFinite(scale))
    throw new RangeError(`clock scale must be >= 0, got ${scale}`);
  return scale;
}

/** `YYYYMMDDThhmmssZ` (UTC), as in TOS/S3 presigned URLs. */
export function isoBasic(ms: number): string {
  return new Date(ms)
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d{3}/, "");
}
