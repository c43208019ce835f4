import { setMaxListeners } from "node:events";
import type { Clock } from "./clock.ts";

/** How one callback/webhook is delivered. Times are real ms (HTTP timeouts are wall-clock). */
export interface DeliveryPolicy {
  /** Extra attempts after the first when the receiver does not answer 2xx in time (default 0). */
  retries?: number;
  /** How long the receiver has to answer 2xx (default 5000). */
  ackTimeoutMs?: number;
  /** Pause between attempts (default 100). */
  retryDelayMs?: number;
  /** Extra copies sent after the delivery finishes (default 0). */
  duplicates?: number;
  /** Do not send at all; the attempt is still recorded, with `dropped: true`. */
  drop?: boolean;
  /**
   * Out of order: keep this delivery back and send it only after the next `terminal` delivery
   * with the same key has gone out (e.g. `running` after `succeeded`).
   */
  hold?: boolean;
}

export interface Delivery extends DeliveryPolicy {
  url: string;
  /** JSON-serialisable payload (sent as application/json). */
  body: unknown;
  headers?: Record<string, string>;
  /** Signs the exact body text; its headers are added (e.g. fal's Ed25519, Standard Webhooks). */
  sign?: (bodyText: string, attempt: number) => Record<string, string>;
  /** Ordering key (e.g. a task id): deliveries with one key go out one at a time, in order. */
  key?: string;
  /** A label for assertions, e.g. the status the callback reports. */
  event?: string;
  /** Releases the held deliveries of its key once sent. */
  terminal?: boolean;
}

export type AttemptKind = "original" | "retry" | "duplicate" | "late";

/** One outbound POST (or a dropped one). */
export interface CallbackAttempt {
  seq: number;
  deliveryId: number;
  key?: string;
  event?: string;
  url: string;
  /** 1-based attempt number within its delivery. */
  attempt: number;
  kind: AttemptKind;
  body: unknown;
  headers: Record<string, string>;
  /** Simulated time (epoch ms) the attempt started. */
  time: number;
  realTime: number;
  dropped: boolean;
  /** Receiver's HTTP status, if it answered. */
  status?: number;
  /** Timeout or connection error. */
  error?: string;
  ok: boolean;
  durationMs: number;
}

export class Callbacks {
  #attempts: CallbackAttempt[] = [];
  #seq = 0;
  #deliverySeq = 0;
  #chains = new Map<string, Promise<void>>();
  #held = new Map<string, Delivery[]>();
  #inflight = new Set<Promise<void>>();
  /**
   * Aborts every pending retry delay and send at close. Each one listens on it only while it
   * waits (and removes itself), so thousands of callbacks in flight are not a leak: no listener cap.
   */
  #abort = (() => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  })();
  /** Defaults merged under every delivery's own policy. */
  defaults: Required<Pick<DeliveryPolicy, "ackTimeoutMs" | "retryDelayMs">> = {
    ackTimeoutMs: 5000,
    retryDelayMs: 100,
  };

  constructor(private readonly clock: Clock) {}

  /** Queue a delivery; resolves once it (and any duplicates) has been sent or given up on. */
  deliver(delivery: Delivery): Promise<void> {
    if (delivery.hold && delivery.key !== undefined) {
      const held = this.#held.get(delivery.key) ?? [];
      held.push({ ...delivery, hold: false });
      this.#held.set(delivery.key, held);
      return Promise.resolve();
    }
    const id = ++this.#deliverySeq;
    const key = delivery.key ?? `#${id}`;
    const prev = this.#chains.get(key) ?? Promise.resolve();
    const run = prev.then(() => this.#run(id, delivery, "original"));
    this.#chains.set(key, run);
    this.#track(run);
    void run.then(() => {
      if (this.#chains.get(key) === run) this.#chains.delete(key);
    });
    return run;
  }

  /** Every attempt so far (optionally only those for one key or event). */
  attempts(filter: { key?: string; event?: string; url?: string } = {}): CallbackAttempt[] {
    return this.#attempts.filter(
      (a) =>
        (filter.key === undefined || a.key === filter.key) &&
        (filter.event === undefined || a.event === filter.event) &&
        (filter.url === undefined || a.url === filter.url),
    );
  }

  clear(): void {
    this.#attempts = [];
  }

  /** Resolve once nothing is being delivered (held deliveries do not count). */
  async idle(): Promise<void> {
    while (this.#inflight.size > 0) await Promise.allSettled([...this.#inflight]);
  }

  /** Drop held deliveries for a key (e.g. when its task is deleted). */
  discardHeld(key: string): void {
    this.#held.delete(key);
  }

  /** Abort in-flight requests and stop retrying. */
  close(): void {
    this.#abort.abort();
    this.#held.clear();
  }

  #track(p: Promise<void>): void {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }

  async #run(id: number, d: Delivery, kind: AttemptKind): Promise<void> {
    if (d.drop) {
      this.#record({
        id,
        d,
        attempt: 1,
        kind,
        headers: {},
        dropped: true,
        ok: false,
        started: performance.now(),
      });
    } else {
      const retries = kind === "duplicate" ? 0 : (d.retries ?? 0);
      for (let attempt = 1; attempt <= retries + 1; attempt++) {
        if (this.#abort.signal.aborted) return;
        const ok = await this.#post(id, d, attempt === 1 ? kind : "retry", attempt);
        if (ok) break;
        if (attempt <= retries) await delay(d.retryDelayMs ?? this.defaults.retryDelayMs, this.#abort.signal);
      }
      for (let i = 0; i < (kind === "original" ? (d.duplicates ?? 0) : 0); i++) {
        if (this.#abort.signal.aborted) return;
        await this.#post(id, d, "duplicate", 1);
      }
    }
    if (d.terminal && d.key !== undefined) {
      const held = this.#held.get(d.key) ?? [];
      this.#held.delete(d.key);
      for (const late of held) await this.#run(++this.#deliverySeq, late, "late");
    }
  }

  async #post(id: number, d: Delivery, kind: AttemptKind, attempt: number): Promise<boolean> {
    const text = JSON.stringify(d.body);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "vidrelay-test-double/1",
      ...(d.headers ?? {}),
      ...(d.sign ? d.sign(text, attempt) : {}),
    };
    const started = performance.now();
    const startedSim = this.clock.now();
    const timeout = AbortSignal.timeout(d.ackTimeoutMs ?? this.defaults.ackTimeoutMs);
    try {
      const res = await fetch(d.url, {
        method: "POST",
        headers,
        body: text,
        signal: AbortSignal.any([timeout, this.#abort.signal]),
      });
      await res.arrayBuffer().catch(() => undefined);
      const ok = res.status >= 200 && res.status < 300;
      this.#record({
        id,
        d,
        attempt,
        kind,
        headers,
        dropped: false,
        ok,
        status: res.status,
        started,
        startedSim,
      });
      return ok;
    } catch (err) {
      const e = err as Error;
      const error = timeout.aborted ? "timeout" : ((e.cause as Error | undefined)?.message ?? e.message);
      this.#record({ id, d, attempt, kind, headers, dropped: false, ok: false, error, started, startedSim });
      return false;
    }
  }

  #record(r: {
    id: number;
    d: Delivery;
    attempt: number;
    kind: AttemptKind;
    headers: Record<string, string>;
    dropped: boolean;
    ok: boolean;
    status?: number;
    error?: string;
    started: number;
    startedSim?: number;
  }): void {
    this.#attempts.push({
      seq: ++this.#seq,
      deliveryId: r.id,
      key: r.d.key,
      event: r.d.event,
      url: r.d.url,
      attempt: r.attempt,
      kind: r.kind,
      body: r.d.body,
      headers: r.headers,
      time: r.startedSim ?? this.clock.now(),
      realTime: Date.now(),
      dropped: r.dropped,
      status: r.status,
      error: r.error,
      ok: r.ok,
      durationMs: Math.round(performance.now() - r.started),
    });
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
