/**
 * A per-channel circuit breaker: after `threshold` consecutive failures the channel is skipped for
 * `cooldownMs`; the first attempt after that is the probe — success closes it, failure re-opens it.
 * In-process state: each gateway process learns a channel's health from its own calls.
 */
export class CircuitBreaker {
  private readonly state = new Map<string, { failures: number; openUntil: number }>();

  constructor(
    private readonly threshold: number,
    private readonly cooldownMs: number,
  ) {}

  isOpen(channelId: string, now = Date.now()): boolean {
    const s = this.state.get(channelId);
    return !!s && s.openUntil > now;
  }

  success(channelId: string): void {
    this.state.delete(channelId);
  }

  failure(channelId: string, now = Date.now()): void {
    const s = this.state.get(channelId) ?? { failures: 0, openUntil: 0 };
    s.failures++;
    if (s.failures >= this.threshold) s.openUntil = now + this.cooldownMs;
    this.state.set(channelId, s);
  }

  /** A channel that cannot work at all (bad key, overdue account): open at once. */
  trip(channelId: string, now = Date.now()): void {
    this.state.set(channelId, { failures: this.threshold, openUntil: now + this.cooldownMs });
  }
}
