/**
 * Fair claims, the part both queues share: given each account's waiting jobs (oldest first), take
 * them in turns — every account's oldest, then every account's second, and so on — with accounts
 * in the order of their oldest job. One account's backlog then never stands in front of another
 * account's next job for longer than one turn.
 */
export function takeTurns<T>(queues: T[][], limit: number, oldestOf: (job: T) => number): T[] {
  const ordered = queues.filter((q) => q.length > 0).sort((a, b) => oldestOf(a[0]!) - oldestOf(b[0]!));
  const picked: T[] = [];
  for (let turn = 0; picked.length < limit; turn++) {
    let any = false;
    for (const queue of ordered) {
      const job = queue[turn];
      if (job === undefined) continue;
      any = true;
      picked.push(job);
      if (picked.length >= limit) break;
    }
    if (!any) break;
  }
  return picked;
}

/** The most accounts one fair claim takes turns between (beyond them, the first in key order). */
export const MAX_TURN_KEYS = 256;

/** Whether the oldest waiting jobs hold some account's turn twice (then others may be waiting). */
export function turnTakenTwice(keys: string[]): boolean {
  return keys.length > 0 && new Set(keys).size < keys.length;
}
