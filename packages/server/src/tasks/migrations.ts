import type { Kysely, Migration } from "kysely";

/** Columns the tasks table gained after the founding schema (store/migrations.ts). */
export const taskMigrations: Record<string, Migration> = {
  "0005_upstream_ref": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("tasks").addColumn("upstream_ref", "text").execute();
    },
  },
};
