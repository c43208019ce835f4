import { ApiError } from "../domain/errors.ts";

/**
 * How many event streams may be open at once, per API key and in this process. A stream holds a
 * connection, timers and a subscription for as long as its task runs (up to the task timeout), so
 * without a bound one key could hold them all. A refusal is a 429 with Retry-After: polling
 * `GET /v1/video/generations/{id}` works meanwhile.
 */
export class StreamSlots {
  private readonly perKey = new Map<string, number>();
  private open = 0;

  constructor(private readonly limits: { perKey: number; total: number }) {}

  /** Take a slot for `keyId`; returns its release (call it once, when the stream ends). */
  take(keyId: string): () => void {
    const mine = this.perKey.get(keyId) ?? 0;
    if (mine >= this.limits.perKey) {
      throw new ApiError(
        429,
        "rate_limit_error",
        "too_many_streams",
        `this API key already has ${mine} event streams open (at most ${this.limits.perKey}); close one, or poll GET /v1/video/generations/{id}`,
        null,
        { "retry-after": "5" },
      );
    }
    if (this.open >= this.limits.total) {
      throw new ApiError(
        429,
        "rate_limit_error",
        "too_many_streams",
        "this server has as many event streams open as it serves; retry shortly, or poll GET /v1/video/generations/{id}",
        null,
        { "retry-after": "5" },
      );
    }
    this.perKey.set(keyId, mine + 1);
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      const left = (this.perKey.get(keyId) ?? 1) - 1;
      if (left > 0) this.perKey.set(keyId, left);
      else this.perKey.delete(keyId);
    };
  }

  get size(): number {
    return this.open;
  }
}
