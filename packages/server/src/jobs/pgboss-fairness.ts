import { MAX_TURN_KEYS, takeTurns, turnTakenTwice } from "./fair-turns.ts";
import type { JobKind } from "./queue.ts";

/** Whose work a job is (EnqueueOptions.fairKey), as pg-boss stores it: in the job's data. */
const FAIR_KEY = "COALESCE(data->>'fairKey', '')";

type Exec = <Row = Record<string, unknown>>(text: string, values?: unknown[]) => Promise<Row[]>;

/**
 * Fair claims on pg-boss's tables (fair-turns.ts says what is fair): which waiting jobs a claim may
 * take, when the oldest ones are one account's backlog and other accounts' jobs wait too.
 */
export class PgBossFairness {
  constructor(
    private readonly schema: string,
    private readonly exec: Exec,
  ) {}

  /** Accounts are found by skipping through this index, one seek each. */
  async createIndex(): Promise<void> {
    try {
      await this.exec(
        `CREATE INDEX IF NOT EXISTS vidrelay_job_fair ON ${this.schema}.job (name, ${FAIR_KEY}, start_after) WHERE state < 'active'`,
      );
    } catch (error) {
      // Two processes starting at once: the loser of the race sees "already exists".
      if (!String((error as Error).message).includes("already exists")) throw error;
    }
  }

  /** The ids a claim of `limit` jobs may take, or null when the oldest-first claim is fair as it is. */
  async limitTo(kinds: JobKind[], limit: number): Promise<string[] | null> {
    const oldest = await this.exec<{ id: string; fk: string }>(
      `SELECT id::text AS id, ${FAIR_KEY} AS fk FROM ${this.schema}.job
       WHERE name = ANY($1::text[]) AND state < 'active' AND start_after <= now()
       ORDER BY start_after, created_on LIMIT $2`,
      [kinds, limit],
    );
    return (await this.othersWaiting(kinds, oldest)) ? this.takingTurns(kinds, limit) : null;
  }

  /** Whether accounts other than those of the oldest waiting jobs have jobs waiting too. */
  private async othersWaiting(kinds: JobKind[], oldest: Array<{ fk: string }>): Promise<boolean> {
    if (!turnTakenTwice(oldest.map((j) => j.fk))) return false;
    const keys = [...new Set(oldest.map((j) => j.fk))];
    const rows = await this.exec(
      `SELECT 1 FROM ${this.schema}.job
       WHERE name = ANY($1::text[]) AND state < 'active' AND start_after <= now() AND ${FAIR_KEY} <> ALL($2::text[])
       LIMIT 1`,
      [kinds, keys],
    );
    return rows.length > 0;
  }

  /**
   * Waiting jobs taken in turns: every account's oldest, then every account's second, and so on
   * (accounts in the order of their oldest job). Accounts are found by skipping through the
   * `vidrelay_job_fair` index, one seek each.
   */
  private async takingTurns(kinds: JobKind[], limit: number): Promise<string[]> {
    const queues: Array<Array<{ id: string; at: number }>> = [];
    for (const kind of kinds) {
      const keys = await this.exec<{ k: string }>(
        `WITH RECURSIVE keys(k) AS (
           SELECT min(${FAIR_KEY}) FROM ${this.schema}.job
           WHERE name = $1 AND state < 'active' AND start_after <= now()
           UNION ALL
           SELECT (SELECT min(${FAIR_KEY}) FROM ${this.schema}.job
                   WHERE name = $1 AND state < 'active' AND start_after <= now() AND ${FAIR_KEY} > keys.k)
           FROM keys WHERE keys.k IS NOT NULL
         )
         SELECT k FROM keys WHERE k IS NOT NULL LIMIT ${MAX_TURN_KEYS}`,
        [kind],
      );
      for (const { k } of keys) {
        const rows = await this.exec<{ id: string; at: number }>(
          `SELECT id::text AS id, extract(epoch FROM start_after) * 1000 AS at FROM ${this.schema}.job
           WHERE name = $1 AND state < 'active' AND start_after <= now() AND ${FAIR_KEY} = $2
           ORDER BY start_after, created_on LIMIT $3`,
          [kind, k, limit],
        );
        if (rows.length > 0) queues.push(rows);
      }
    }
    return takeTurns(queues, limit, (job) => Number(job.at)).map((job) => job.id);
  }
}
