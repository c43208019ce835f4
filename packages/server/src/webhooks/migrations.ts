import type { Kysely, Migration } from "kysely";

/**
 * A signing-secret table as 0002 created it. 0011 makes the test-mode one with the same columns on
 * purpose; a later change to either table is a new migration, never an edit here.
 */
function createSecretsTable(db: Kysely<unknown>, name: string): Promise<void> {
  return db.schema
    .createTable(name)
    .addColumn("account_id", "varchar(64)", (c) => c.primaryKey().references("accounts.id"))
    .addColumn("secret", "varchar(200)", (c) => c.notNull())
    .addColumn("previous_secret", "varchar(200)")
    .addColumn("previous_expires_at", "bigint")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("rotated_at", "bigint")
    .execute();
}

/** The webhook tables (secrets, deliveries, attempts). Schema builder only: SQLite and Postgres alike. */
export const webhookMigrations: Record<string, Migration> = {
  "0002_webhooks": {
    async up(db: Kysely<unknown>) {
      await createSecretsTable(db, "webhook_secrets");

      await db.schema
        .createTable("webhook_deliveries")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("task_id", "varchar(64)", (c) => c.notNull())
        .addColumn("account_id", "varchar(64)", (c) => c.notNull())
        .addColumn("url", "text", (c) => c.notNull())
        .addColumn("payload", "text", (c) => c.notNull())
        .addColumn("status", "varchar(16)", (c) => c.notNull())
        .addColumn("attempts", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("next_attempt_at", "bigint")
        .addColumn("last_status_code", "integer")
        .addColumn("last_error", "text")
        .addColumn("created_at", "bigint", (c) => c.notNull())
        .addColumn("updated_at", "bigint", (c) => c.notNull())
        .addColumn("delivered_at", "bigint")
        .execute();
      await db.schema
        .createIndex("webhook_deliveries_task")
        .on("webhook_deliveries")
        .column("task_id")
        .execute();

      await db.schema
        .createTable("webhook_attempts")
        .addColumn("id", "varchar(64)", (c) => c.primaryKey())
        .addColumn("delivery_id", "varchar(64)", (c) => c.notNull())
        .addColumn("attempted_at", "bigint", (c) => c.notNull())
        .addColumn("status_code", "integer")
        .addColumn("latency_ms", "integer", (c) => c.notNull())
        .addColumn("error", "text")
        .addColumn("response_excerpt", "text")
        .execute();
      await db.schema
        .createIndex("webhook_attempts_delivery")
        .on("webhook_attempts")
        .columns(["delivery_id", "attempted_at"])
        .execute();
    },
  },
  // Test mode signs with a secret of its own (domain/owner.ts): a test key must not read or rotate
  // the live one. Same shape as webhook_secrets.
  "0011_webhook_test_secrets": {
    async up(db: Kysely<unknown>) {
      await createSecretsTable(db, "webhook_test_secrets");
      await db.schema
        .alterTable("webhook_deliveries")
        .addColumn("test_mode", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
};
