/**
 * Query budgets: at most `limit` calls in any window of `windowMs`, first come first served.
 *
 * DashScope allows 20 task queries per second per Alibaba Cloud account (docs/providers.md §2.1) and
 * answers 429 `Throttling.RateQuota` beyond; the poller keeps each channel under
 * VIDRELAY_UPSTREAM_QUERY_RPS. Every call takes a slot first, so more demand than the budget allows
 * slows calls down instead of collecting 429s. A sliding window is stricter than a token bucket (a
 * bucket lets a full burst through right after a full second), which is what a per-second quota
 * needs; windows are a little longer than a second to absorb network jitter.
 *
 * Budgets are part of the adapter contract: the gateway hands adapters a `QueryBudgets` factory,
 * which is store-backed (channels/shared-budgets.ts) so that every process of a deployment draws on
 * one budget — two workers polling one account must not send it twice its quota.
 */
export interface QueryBudget {
  /** Wait for a slot. Throws `BudgetExhausted` (without waiting) when the wait would exceed maxWaitMs. */
  take(signal?: AbortSignal): Promise<void>;
  /** The provider throttled us anyway (another client on the account): hold every caller back. */
  pause(ms: number): Promise<void>;
}

export interface BudgetSpec {
  /** What shares the budget, e.g. `dashscope:account:123:20` or `poll:<channel id>`. */
  key: string;
  limit: number;
  windowMs: number;
  /** A caller that would wait longer than this is refused instead (it retries later). */
  maxWaitMs: number;
}

/** Hands out the budget for a spec; the same key gives the same budget. */
export type QueryBudgets = (spec: BudgetSpec) => QueryBudget;

/** A budget's state: the start times handed out (ascending, at most `limit` kept) and any pause. */
export interface BudgetState {
  slots: number[];
  pausedUntil: number;
}

/**
 * Reserve the next slot: when it may start, and the state after. Pure, so the in-memory budget and
 * the store-backed one share it. FIFO: a later caller never starts before an earlier one.
 */
export function reserveSlot(
  state: BudgetState,
  now: number,
  spec: Pick<BudgetSpec, "limit" | "windowMs">,
): { at: number; state: BudgetState } {
  // Only the last `limit` slots matter: the next start waits for the limit-th most recent one.
  const slots = state.slots.slice(-spec.limit);
  let at = Math.max(now, state.pausedUntil, slots.at(-1) ?? 0);
  if (slots.length >= spec.limit) at = Math.max(at, slots[slots.length - spec.limit]! + spec.windowMs);
  slots.push(at);
  return { at, state: { slots: slots.slice(-spec.limit), pausedUntil: state.pausedUntil } };
}

/** A budget held in this process only (tests, and the default for an adapter built on its own). */
export class MemoryQueryBudget implements QueryBudget {
  private state: BudgetState = { slots: [], pausedUntil: 0 };

  constructor(
    readonly spec: BudgetSpec,
    private readonly now: () => number = Date.now,
  ) {
    checkSpec(spec);
  }

  /** When the next call may start, without taking the slot. */
  nextStart(): number {
    return reserveSlot(this.state, this.now(), this.spec).at;
  }

  async take(signal?: AbortSignal): Promise<void> {
    const now = this.now();
    const next = reserveSlot(this.state, now, this.spec);
    const wait = next.at - now;
    if (wait > this.spec.maxWaitMs) throw new BudgetExhausted(wait);
    this.state = next.state;
    if (wait > 0) await sleep(wait, signal);
  }

  async pause(ms: number): Promise<void> {
    this.state.pausedUntil = Math.max(this.state.pausedUntil, this.now() + ms);
  }
}

/** One in-memory budget per key. */
export function memoryBudgets(): QueryBudgets {
  const budgets = new Map<string, MemoryQueryBudget>();
  return (spec) => {
    let budget = budgets.get(spec.key);
    if (!budget) {
      budget = new MemoryQueryBudget(spec);
      budgets.set(spec.key, budget);
    }
    return budget;
  };
}

export function checkSpec(spec: BudgetSpec): void {
  if (!(spec.limit >= 1)) throw new RangeError(`a query budget needs limit >= 1, got ${spec.limit}`);
}

export class BudgetExhausted extends Error {
  constructor(readonly waitMs: number) {
    super(`the query budget is used up for the next ${Math.ceil(waitMs)} ms; trying later`);
    this.name = "BudgetExhausted";
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
