import type { Kysely, Migration } from "kysely";

/** The files table's changes after the founding schema (store/migrations.ts). */
export const fileMigrations: Record<string, Migration> = {
  // Test mode is its own world: a test key's uploads are not a live key's (domain/owner.ts). Files
  // stored before this are live ones.
  "0009_files_test_mode": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("files")
        .addColumn("test_mode", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
};
