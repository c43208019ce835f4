/**
 * The SQL the pg-boss queue (pgboss-queue.ts, whose comment says why each exists) runs on pg-boss's
 * own tables for the jobs it leases: the claim, the writes only the claim's holder can make (renew,
 * complete, dead letter, retry, release), and the depth count. Built once per pg-boss schema; every
 * name is schema-qualified. The table and column meanings are pg-boss's (its src/plans.js).
 */

/** Queued jobs are archived by pg-boss once past `keep_until`; keep them at least this long after they are due. */
const KEEP_QUEUED = "14 days";

/** `started_on` to the microsecond as text: exact, whatever the session's time zone or type parsers. */
const TOKEN = "(extract(epoch FROM j.started_on) * 1000000)::bigint::text";

/**
 * The row a claim took, still held by it: $1 kind (partition, primary key (name, id)), $2 id,
 * $3 the claim's `started_on` token, $4 owner. A re-claim changes `started_on`, so a stale owner
 * matches nothing; `state = 'active'` keeps it off jobs that moved on.
 */
const OWNED = `name = $1 AND id = $2::uuid AND state = 'active'
  AND (extract(epoch FROM started_on) * 1000000)::bigint = $3::bigint
  AND output->>'owner' = $4::text`;

/** A row the claim returns. */
export interface ClaimRow {
  id: string;
  name: string;
  data: { taskId?: string | null; payload?: Record<string, unknown> } | null;
  retry_count: number;
  retry_limit: number;
  /** `started_on` of the claim (TOKEN): what every later write of the holder is keyed by. */
  token: string;
}

export type LeaseStatements = ReturnType<typeof leaseStatements>;

/** The statements for pg-boss schema `s` (a checked name: letters, digits, `_`). */
export function leaseStatements(s: string) {
  return {
    /**
     * pg-boss's fetch (plans.js `fetchNextJob`: `FOR UPDATE SKIP LOCKED`, state → active,
     * `started_on = now()`, `retry_count + 1` when started before, one row per singleton key per
     * batch) across several queues, extended with: due means `start_after <= now()`; an `active`
     * job whose lease expired is claimable again; the lease is written to `expire_in`; a singleton
     * job waits while another job of its key is active, instead of failing the whole batch on the
     * unique index the way pg-boss's fetch does.
     * $1 kinds, $2 limit, $3 lease (ms), $4 owner, $5 the only ids fairness allows (null: any).
     */
    claim: `
      WITH next AS (
        SELECT j.id, j.name, j.singleton_key, j.policy, j.start_after, j.created_on
        FROM ${s}.job j
        WHERE j.name = ANY($1::text[])
          AND (
            (j.state < 'active' AND j.start_after <= now() AND ($5::uuid[] IS NULL OR j.id = ANY($5::uuid[])))
            OR (j.state = 'active' AND j.started_on + j.expire_in < now())
          )
          AND (
            j.policy IS DISTINCT FROM 'singleton' OR j.state = 'active' OR NOT EXISTS (
              SELECT 1 FROM ${s}.job a
              WHERE a.name = j.name AND a.state = 'active' AND a.policy = 'singleton'
                AND COALESCE(a.singleton_key, '') = COALESCE(j.singleton_key, '')
            )
          )
        ORDER BY j.start_after, j.created_on, j.id
        LIMIT $2
        FOR UPDATE SKIP LOCKED
      ), grouped AS (
        SELECT n.id, n.name, row_number() OVER (
          PARTITION BY CASE WHEN n.policy = 'singleton' THEN n.name || '/' || COALESCE(n.singleton_key, '')
                            ELSE n.id::text END
          ORDER BY n.start_after, n.created_on, n.id
        ) AS rn
        FROM next n
      )
      UPDATE ${s}.job j SET
        state = 'active',
        started_on = now(),
        expire_in = $3::int * interval '1 millisecond',
        retry_count = CASE WHEN j.started_on IS NOT NULL THEN j.retry_count + 1 ELSE j.retry_count END,
        output = jsonb_build_object('owner', $4::text)
      FROM grouped g
      WHERE j.name = g.name AND j.id = g.id AND g.rn = 1
      RETURNING j.id::text AS id, j.name, j.data, j.retry_count, j.retry_limit,
        ${TOKEN} AS token`,

    /** The lease stretched to $5 ms from now. */
    renew: `UPDATE ${s}.job
       SET expire_in = (now() - started_on) + $5::int * interval '1 millisecond'
       WHERE ${OWNED}
       RETURNING 1`,

    complete: `UPDATE ${s}.job
       SET state = 'completed', completed_on = now()
       WHERE ${OWNED}`,

    /** pg-boss's `failed` state is final (nothing claims it; archived later). $5 output. */
    deadLetter: `UPDATE ${s}.job
         SET state = 'failed', completed_on = now(), output = $5::jsonb
         WHERE ${OWNED}`,

    /** Back in line at exactly $5 (unix ms); the next claim counts the attempt. $6 output. */
    retry: `UPDATE ${s}.job
       SET state = 'retry',
         start_after = to_timestamp($5::float8 / 1000),
         keep_until = GREATEST(keep_until, to_timestamp($5::float8 / 1000) + interval '${KEEP_QUEUED}'),
         output = $6::jsonb
       WHERE ${OWNED}`,

    /**
     * Undo what the claim counted: a first attempt goes back to `created` with no `started_on`
     * (so the next claim does not count a retry); a later one gets its `retry_count` back, so the
     * next claim's +1 lands on the same attempt number again. Due at $5 (unix ms; null: now).
     */
    release: `UPDATE ${s}.job
       SET state = CASE WHEN retry_count = 0 THEN 'created'::${s}.job_state
                        ELSE 'retry'::${s}.job_state END,
         started_on = CASE WHEN retry_count = 0 THEN NULL ELSE started_on END,
         retry_count = GREATEST(retry_count - 1, 0),
         start_after = COALESCE(to_timestamp($5::float8 / 1000), now()),
         keep_until = GREATEST(keep_until, COALESCE(to_timestamp($5::float8 / 1000), now()) + interval '${KEEP_QUEUED}'),
         output = NULL
       WHERE ${OWNED}`,

    /** Queued and running jobs per kind ($1 kinds). */
    depth: `SELECT name AS kind,
         CASE WHEN state = 'active' THEN 'running' ELSE 'queued' END AS status,
         count(*)::int AS n
       FROM ${s}.job
       WHERE name = ANY($1::text[]) AND state <= 'active'
       GROUP BY 1, 2`,
  };
}
