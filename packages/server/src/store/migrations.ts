import type { Kysely, Migration } from "kysely";

/**
 * The founding schema (accounts, keys, files, tasks, jobs, idempotency), shipped as one migration
 * before the concerns had folders of their own. Every later migration lives with the concern that
 * owns its tables (`webhooks/`, `channels/`, `billing/`, `tasks/migrations.ts`) and `migrations.ts`
 * at the top lists them all. Migrations are code and use only Kysely's schema builder, so they run
 * unchanged on SQLite and Postgres. Never edit a shipped migration; add a new one.
 */
export const foundingMigrations: Record<string, Migration> = {
  "0001_spine": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("accounts")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("name", "varchar(200)", (c) => c.notNull())
        .addColumn("is_admin", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("api_keys")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("account_id", "varchar(64)", (c) => c.notNull().references("accounts.id"))
        .addColumn("name", "varchar(200)", (c) => c.notNull())
        .addColumn("key_hash", "varchar(64)", (c) => c.notNull().unique())
        .addColumn("key_prefix", "varchar(32)", (c) => c.notNull())
        .addColumn("test_mode", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("revoked_at", "bigint")
        .addColumn("last_used_at", "bigint")
        .execute();
      await db.schema.createIndex("api_keys_account").on("api_keys").column("account_id").execute();

      await db.schema
        .createTable("files")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("account_id", "varchar(64)", (c) => c.notNull().references("accounts.id"))
        .addColumn("storage_key", "varchar(300)", (c) => c.notNull())
        .addColumn("token", "varchar(64)", (c) => c.notNull().unique())
        .addColumn("filename", "varchar(300)", (c) => c.notNull())
        .addColumn("bytes", "bigint", (c) => c.notNull())
        .addColumn("content_type", "varchar(100)", (c) => c.notNull())
        .addColumn("kind", "varchar(16)", (c) => c.notNull())
        .addColumn("width", "integer")
        .addColumn("height", "integer")
        .addColumn("duration", "double precision")
        .addColumn("sha256", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("expires_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex("files_account_created")
        .on("files")
        .columns(["account_id", "id"])
        .execute();
      await db.schema.createIndex("files_expires").on("files").column("expires_at").execute();

      await db.schema
        .createTable("tasks")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("account_id", "varchar(64)", (c) => c.notNull().references("accounts.id"))
        .addColumn("api_key_id", "varchar(64)", (c) => c.notNull())
        .addColumn("model", "varchar(100)", (c) => c.notNull())
        .addColumn("status", "varchar(16)", (c) => c.notNull())
        .addColumn("progress", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("prompt", "text", (c) => c.notNull())
        .addColumn("seconds", "integer", (c) => c.notNull())
        .addColumn("request_json", "text", (c) => c.notNull())
        .addColumn("metadata_json", "text", (c) => c.notNull())
        .addColumn("callback_url", "text")
        .addColumn("provider", "varchar(64)", (c) => c.notNull())
        .addColumn("test_mode", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("error_code", "varchar(100)")
        .addColumn("error_message", "text")
        .addColumn("video_json", "text")
        .addColumn("output_key", "varchar(300)")
        .addColumn("poster_key", "varchar(300)")
        .addColumn("last_frame_key", "varchar(300)")
        .addColumn("media_token", "varchar(64)", (c) => c.notNull().unique())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("started_at", "bigint")
        .addColumn("completed_at", "bigint")
        .addColumn("expires_at", "bigint")
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("tasks_account_id").on("tasks").columns(["account_id", "id"]).execute();
      await db.schema.createIndex("tasks_status").on("tasks").column("status").execute();

      await db.schema
        .createTable("idempotency_keys")
        .addColumn("account_id", "varchar(64)", (c) => c.notNull())
        .addColumn("idem_key", "varchar(255)", (c) => c.notNull())
        .addColumn("request_hash", "varchar(64)", (c) => c.notNull())
        .addColumn("task_id", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addPrimaryKeyConstraint("idempotency_keys_pk", ["account_id", "idem_key"])
        .execute();

      await db.schema
        .createTable("jobs")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("kind", "varchar(32)", (c) => c.notNull())
        .addColumn("task_id", "varchar(64)")
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("status", "varchar(16)", (c) => c.notNull())
        .addColumn("run_at", "bigint", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("max_attempts", "integer", (c) => c.notNull())
        .addColumn("lease_owner", "varchar(100)")
        .addColumn("lease_until", "bigint")
        .addColumn("last_error", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("jobs_claim").on("jobs").columns(["status", "kind", "run_at"]).execute();
      await db.schema.createIndex("jobs_task").on("jobs").column("task_id").execute();

      await db.schema
        .createTable("kv")
        .addColumn("key", "varchar(200)", (c) => c.primaryKey())
        .addColumn("value", "text", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
    },
  },
};
