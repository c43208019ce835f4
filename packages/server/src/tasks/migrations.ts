import type { Kysely, Migration } from "kysely";

/** Columns the tasks table gained after the founding schema (store/migrations.ts). */
export const taskMigrations: Record<string, Migration> = {
  "0005_upstream_ref": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("tasks").addColumn("upstream_ref", "text").execute();
    },
  },
  // The OpenAI-compatible door (openai/): a deleted video disappears from both APIs (its blobs go,
  // the row stays for billing and the ledger), and a remix remembers its source.
  "0008_task_deleted_and_remix": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("tasks").addColumn("deleted_at", "bigint").execute();
      await db.schema.alterTable("tasks").addColumn("remixed_from", "text").execute();
    },
  },
};
