import { type Kysely, type Migration, sql } from "kysely";

/**
 * Billing migrations, to be merged into the main migration provider. Schema builder only (plus
 * portable CHECK expressions), so they run unchanged on SQLite and Postgres. The invariants the
 * database itself enforces:
 * - a ledger idempotency key is unique per account (a hold, capture or release is written once);
 * - one hold row per task (primary key), settled at most once (guarded `status = 'open'` update);
 * - a settled hold's capture never exceeds the hold, a released one captures nothing;
 * - a cached balance never drops below its open holds (`balance >= held`), holds never go negative.
 */
export const billingMigrations: Record<string, Migration> = {
  "0007_billing_modes": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .alterTable("accounts")
        .addColumn("billing_mode", "varchar(16)", (c) => c.notNull().defaultTo("prepaid"))
        .execute();
      await db.schema
        .alterTable("billing_holds")
        .addColumn("metered", "integer", (c) => c.notNull().defaultTo(1))
        .execute();
      // The installation's own account (the first admin, made by the bootstrap) is not metered:
      // its owner pays the upstreams directly and must not be refused for a zero balance.
      await sql`update accounts set billing_mode = 'unmetered' where id = (
        select id from accounts where is_admin = 1 order by created_at, id limit 1)`.execute(db);
    },
  },
  "0004_billing_core": {
    async up(db: Kysely<unknown>) {
      await createPrices(db);
      await createLedger(db);
      await createBalances(db);
      await createHolds(db);
      await createLimits(db);
      await createCounters(db);
    },
    async down(db: Kysely<unknown>) {
      for (const table of [
        "billing_counters",
        "billing_limits",
        "billing_holds",
        "billing_balances",
        "billing_ledger",
        "billing_prices",
      ]) {
        await db.schema.dropTable(table).ifExists().execute();
      }
    },
  },
};

/** 0004: Prices: immutable versions per model. */
async function createPrices(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("billing_prices")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("model", "varchar(100)", (c) => c.notNull())
    .addColumn("version", "integer", (c) => c.notNull())
    .addColumn("currency", "varchar(8)", (c) => c.notNull())
    .addColumn("rule_json", "text", (c) => c.notNull())
    .addColumn("note", "text")
    .addColumn("created_by", "varchar(64)")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addUniqueConstraint("billing_prices_model_version", ["model", "version"])
    .addCheckConstraint("billing_prices_version_positive", sql`version >= 1`)
    .execute();
}

/** 0004: The ledger: every movement of money, unique per idempotency key. */
async function createLedger(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("billing_ledger")
    .addColumn("id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("account_id", "varchar(64)", (c) => c.notNull())
    .addColumn("kind", "varchar(16)", (c) => c.notNull())
    .addColumn("amount", "bigint", (c) => c.notNull())
    .addColumn("currency", "varchar(8)", (c) => c.notNull())
    .addColumn("task_id", "varchar(64)")
    .addColumn("key_id", "varchar(64)")
    .addColumn("idempotency_key", "varchar(320)", (c) => c.notNull())
    .addColumn("note", "text")
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addUniqueConstraint("billing_ledger_idempotency", ["account_id", "idempotency_key"])
    .addCheckConstraint(
      "billing_ledger_kind",
      sql`kind in ('topup', 'hold', 'capture', 'release', 'adjustment')`,
    )
    .addCheckConstraint("billing_ledger_amount", sql`amount <> 0 and (amount > 0 or kind = 'adjustment')`)
    .addCheckConstraint(
      "billing_ledger_task",
      sql`task_id is not null or kind not in ('hold', 'capture', 'release')`,
    )
    .execute();
  await db.schema
    .createIndex("billing_ledger_account_created")
    .on("billing_ledger")
    .columns(["account_id", "created_at"])
    .execute();
  await db.schema.createIndex("billing_ledger_task").on("billing_ledger").column("task_id").execute();
}

/** 0004: Balances: the ledger's cached sums, never below the open holds. */
async function createBalances(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("billing_balances")
    .addColumn("account_id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("currency", "varchar(8)", (c) => c.notNull())
    .addColumn("balance", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("held", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addCheckConstraint("billing_balances_held", sql`held >= 0`)
    .addCheckConstraint("billing_balances_available", sql`balance >= held`)
    .execute();
}

/** 0004: Holds: one per task, settled once. */
async function createHolds(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("billing_holds")
    .addColumn("task_id", "varchar(64)", (c) => c.primaryKey())
    .addColumn("account_id", "varchar(64)", (c) => c.notNull())
    .addColumn("key_id", "varchar(64)", (c) => c.notNull())
    .addColumn("model", "varchar(100)", (c) => c.notNull())
    .addColumn("resolution", "varchar(16)", (c) => c.notNull())
    .addColumn("seconds", "integer", (c) => c.notNull())
    .addColumn("provider", "varchar(64)", (c) => c.notNull())
    .addColumn("billable", "integer", (c) => c.notNull())
    .addColumn("local_free", "integer", (c) => c.notNull())
    .addColumn("price_id", "varchar(64)")
    .addColumn("price_version", "integer")
    .addColumn("currency", "varchar(8)", (c) => c.notNull())
    .addColumn("amount_held", "bigint", (c) => c.notNull())
    .addColumn("status", "varchar(16)", (c) => c.notNull())
    .addColumn("amount_captured", "bigint")
    .addColumn("amount_computed", "bigint")
    .addColumn("billed_seconds", "integer")
    .addColumn("billed_tokens", "bigint")
    .addColumn("day", "integer", (c) => c.notNull())
    .addColumn("created_at", "bigint", (c) => c.notNull())
    .addColumn("settled_at", "bigint")
    .addCheckConstraint("billing_holds_status", sql`status in ('open', 'captured', 'released')`)
    .addCheckConstraint("billing_holds_amount", sql`amount_held >= 0`)
    .addCheckConstraint(
      "billing_holds_settlement",
      sql`(status = 'open' and settled_at is null and amount_captured is null) or (status <> 'open' and settled_at is not null and amount_captured is not null and amount_captured >= 0 and amount_captured <= amount_held)`,
    )
    .addCheckConstraint("billing_holds_released", sql`status <> 'released' or amount_captured = 0`)
    .execute();
  await db.schema
    .createIndex("billing_holds_account_day")
    .on("billing_holds")
    .columns(["account_id", "day"])
    .execute();
  await db.schema
    .createIndex("billing_holds_key_status")
    .on("billing_holds")
    .columns(["key_id", "status"])
    .execute();
}

/** 0004: Limits per account or key. */
async function createLimits(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("billing_limits")
    .addColumn("scope", "varchar(16)", (c) => c.notNull())
    .addColumn("scope_id", "varchar(64)", (c) => c.notNull())
    .addColumn("requests_per_minute", "integer")
    .addColumn("max_concurrent", "integer")
    .addColumn("daily_spend_cap", "bigint")
    .addColumn("allowed_models_json", "text")
    .addColumn("updated_at", "bigint", (c) => c.notNull())
    .addPrimaryKeyConstraint("billing_limits_pk", ["scope", "scope_id"])
    .addCheckConstraint("billing_limits_scope", sql`scope in ('account', 'key')`)
    .execute();
}

/** 0004: Counters behind the limits (rate, concurrency, daily spend). */
async function createCounters(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable("billing_counters")
    .addColumn("counter_key", "varchar(200)", (c) => c.primaryKey())
    .addColumn("value", "bigint", (c) => c.notNull().defaultTo(0))
    .addColumn("expires_at", "bigint")
    .execute();
  await db.schema
    .createIndex("billing_counters_expires")
    .on("billing_counters")
    .column("expires_at")
    .execute();
}
