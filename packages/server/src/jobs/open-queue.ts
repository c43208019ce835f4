import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { Database } from "../store/schema.ts";
import { openPgBossQueue } from "./pgboss-queue.ts";
import type { JobQueue } from "./queue.ts";
import { StoreJobQueue } from "./store-queue.ts";

/**
 * The job queue this process uses. On Postgres it is pg-boss (the default, `VIDRELAY_JOB_QUEUE=auto`),
 * in its own schema of the same database, so a task and its first job still commit in one
 * transaction; SQLite keeps the built-in queue (pg-boss needs Postgres).
 */
export async function openJobQueue(
  config: Pick<Config, "databaseUrl" | "jobQueue" | "pgbossSchema">,
  db: Kysely<Database>,
  logger: Logger,
  configError: (problem: string) => Error = (problem) => new Error(problem),
): Promise<JobQueue> {
  if (config.jobQueue === "pgboss" && !isPostgres(config)) {
    throw configError(
      "VIDRELAY_JOB_QUEUE=pgboss needs a Postgres store (VIDRELAY_DATABASE_URL=postgres://…)",
    );
  }
  if (!usesPgBoss(config)) return new StoreJobQueue(db);
  const log = logger.child({ component: "pg-boss" });
  return openPgBossQueue({
    connectionString: config.databaseUrl,
    schema: config.pgbossSchema,
    onError: (error) => log.warn({ err: error }, "pg-boss error"),
  });
}

type QueueSettings = Pick<Config, "databaseUrl" | "jobQueue">;

function isPostgres(config: QueueSettings): boolean {
  return /^postgres(ql)?:\/\//.test(config.databaseUrl);
}

/** Whether this configuration runs its jobs on pg-boss (rather than the built-in queue). */
export function usesPgBoss(config: QueueSettings): boolean {
  return isPostgres(config) && config.jobQueue !== "builtin";
}
