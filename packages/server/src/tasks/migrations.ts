import { type Kysely, type Migration, sql } from "kysely";

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
  // An Idempotency-Key never crosses modes (domain/owner.ts): the mode joins the primary key. The
  // table is rebuilt (SQLite cannot change a primary key in place); a record's mode is its task's.
  "0010_idempotency_by_mode": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("idempotency_keys_by_mode")
        .addColumn("account_id", "varchar(64)", (c) => c.notNull())
        .addColumn("test_mode", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("idem_key", "varchar(255)", (c) => c.notNull())
        .addColumn("request_hash", "varchar(64)", (c) => c.notNull())
        .addColumn("task_id", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("idempotency_keys_by_mode_pk", ["account_id", "test_mode", "idem_key"])
        .execute();
      await sql`insert into idempotency_keys_by_mode
          (account_id, test_mode, idem_key, request_hash, task_id, created_at)
        select i.account_id, coalesce(t.test_mode, 0), i.idem_key, i.request_hash, i.task_id, i.created_at
        from idempotency_keys i left join tasks t on t.id = i.task_id`.execute(db);
      await db.schema.dropTable("idempotency_keys").execute();
      await db.schema.alterTable("idempotency_keys_by_mode").renameTo("idempotency_keys").execute();
    },
  },
  // Per-task deadlines (metadata.deadline_seconds): the sweep finds unfinished tasks past theirs.
  "0014_task_deadline": {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable("tasks").addColumn("deadline_at", "bigint").execute();
      await db.schema.createIndex("tasks_deadline").on("tasks").column("deadline_at").execute();
    },
  },
};
