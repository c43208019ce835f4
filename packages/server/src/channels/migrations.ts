import type { Kysely, Migration } from "kysely";

/** The upstream channel tables. Schema builder only: SQLite and Postgres alike. */
export const channelMigrations: Record<string, Migration> = {
  "0003_channels": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("channels")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("name", "varchar(200)", (c) => c.notNull())
        .addColumn("provider", "varchar(32)", (c) => c.notNull())
        .addColumn("base_url", "text", (c) => c.notNull())
        .addColumn("api_key_sealed", "text", (c) => c.notNull())
        .addColumn("models_json", "text", (c) => c.notNull())
        .addColumn("priority", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("weight", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("max_concurrent", "integer", (c) => c.notNull().defaultTo(10))
        .addColumn("in_flight", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("enabled", "integer", (c) => c.notNull().defaultTo(1))
        .addColumn("callback_token", "varchar(64)", (c) => c.notNull())
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      for (const [name, type] of [
        ["channel_id", "varchar(64)"],
        ["upstream_id", "varchar(200)"],
        ["upstream_status", "varchar(64)"],
        ["next_poll_at", "bigint"],
        ["poll_owner", "varchar(100)"],
        ["poll_lease_until", "bigint"],
      ] as const) {
        await db.schema.alterTable("tasks").addColumn(name, type).execute();
      }
      await db.schema
        .alterTable("tasks")
        .addColumn("poll_count", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex("tasks_next_poll").on("tasks").columns(["next_poll_at"]).execute();
      await db.schema
        .createIndex("tasks_channel_status")
        .on("tasks")
        .columns(["channel_id", "status"])
        .execute();
      await db.schema
        .createIndex("tasks_upstream")
        .on("tasks")
        .columns(["channel_id", "upstream_id"])
        .execute();
    },
  },
  "0006_shared_channel_state": {
    // What every process must agree on about a channel: its breaker, and the query budgets of the
    // upstream accounts behind it (two workers must not each spend a provider's whole quota).
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("channel_breakers")
        .addColumn("channel_id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("failures", "integer", (c) => c.notNull())
        .addColumn("open_until", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("query_budgets")
        .addColumn("key", "varchar(300)", (c) => c.primaryKey())
        .addColumn("slots_json", "text", (c) => c.notNull())
        .addColumn("paused_until", "bigint", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .execute();
    },
  },
};
