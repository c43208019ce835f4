import type { Kysely, Migration } from "kysely";

/** Operators' model declarations. Schema builder only: SQLite and Postgres alike. */
export const modelMigrations: Record<string, Migration> = {
  "0013_model_declarations": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("model_declarations")
        .addColumn("model", "varchar(100)", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("declaration_json", "text", (c) => c.notNull())
        .addColumn("enabled", "integer", (c) => c.notNull())
        .addColumn("note", "text")
        .addColumn("created_by", "varchar(64)")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("model_declarations_pk", ["model", "version"])
        .execute();
    },
  },
};
