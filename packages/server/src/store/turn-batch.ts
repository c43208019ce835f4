/**
 * Group commit for small writes: every item added within one turn of the event loop is written by
 * a single `flush` just after that turn, and each caller's promise settles with it (a failed
 * flush rejects every caller in it, as their own failed write would have).
 *
 * On SQLite each commit is a WAL write plus lock traffic, far more than the statement itself, and a
 * burst (webhooks answered together, jobs finishing together) asks for many tiny commits at once.
 * A caller still only hears "done" once its row is committed, so nothing is reported early; a crash
 * before the flush is the same as a crash just before the caller's own write.
 */
export class TurnBatch<T> {
  private pending:
    | { items: T[]; waiters: Array<{ resolve(): void; reject(error: unknown): void }> }
    | undefined;

  constructor(private readonly flush: (items: T[]) => Promise<void>) {}

  add(item: T): Promise<void> {
    let batch = this.pending;
    if (!batch) {
      const created: NonNullable<typeof this.pending> = { items: [], waiters: [] };
      this.pending = batch = created;
      setImmediate(() => void this.run(created));
    }
    batch.items.push(item);
    return new Promise<void>((resolve, reject) => batch.waiters.push({ resolve, reject }));
  }

  private async run(batch: NonNullable<typeof this.pending>): Promise<void> {
    if (this.pending === batch) this.pending = undefined;
    try {
      await this.flush(batch.items);
      for (const waiter of batch.waiters) waiter.resolve();
    } catch (error) {
      for (const waiter of batch.waiters) waiter.reject(error);
    }
  }
}

/** Well under SQLite's bound-parameter limit (32,766) and Postgres's (65,535) for id lists. */
export const MAX_IDS_PER_STATEMENT = 500;

/** `items` in consecutive slices of at most `size`. */
export function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let start = 0; start < items.length; start += size) yield items.slice(start, start + size);
}
