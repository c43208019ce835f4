import type { Kysely, Migration } from "kysely";

/** The built-in queue's `jobs` table after the founding schema (store/migrations.ts). */
export const jobMigrations: Record<string, Migration> = {
  // Fair claims (store-queue.ts): whose work a job is, so one account's backlog does not stand in
  // front of another's next job. Jobs queued before this belong to nobody in particular ('').
  "0012_jobs_fair_key": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("jobs")
        .addColumn("fair_key", "varchar(64)", (c) => c.notNull().defaultTo(""))
        .execute();
      await db.schema
        .createIndex("jobs_fair")
        .on("jobs")
        .columns(["status", "kind", "fair_key", "run_at"])
        .execute();
    },
  },
};
