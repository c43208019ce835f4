/**
 * The store's migrator: it stays inside its own schema (another tenant of the database dropping a
 * schema at the same moment must not break a start — it did, on CI, under Kysely's Migrator), it
 * serialises concurrent starts, it continues stores that Kysely's Migrator began, it refuses a
 * store from a newer version, and a failing migration leaves nothing behind.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, test } from "node:test";
import { type Kysely, Migrator, sql } from "kysely";
import pg from "pg";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../src/store/db.ts";
import type { Database } from "../../src/store/schema.ts";
import { randomAlphanumeric } from "../../src/util/ids.ts";
import { freshPostgres, freshSqlite, POSTGRES_URL, type TestDatabase } from "../helpers/databases.ts";

async function appliedNames(db: Kysely<Database>): Promise<string[]> {
  const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
  return rows.map((r) => r.name);
}

async function tableExists(
  db: Kysely<Database>,
  name: string,
  dialect: "sqlite" | "postgres",
): Promise<boolean> {
  const { rows } =
    dialect === "sqlite"
      ? await sql`select name from sqlite_master where type = 'table' and name = ${name}`.execute(db)
      : await sql`select table_name from information_schema.tables where table_schema = current_schema() and table_name = ${name}`.execute(
          db,
        );
  return rows.length > 0;
}

/**
 * Run the gateway's migrations plus one that records its run, in a separate node process: the way
 * two gateway processes start on one store (SQLite's driver is synchronous, so two connections in
 * one process cannot wait on each other).
 */
function migrateInAnotherProcess(url: string): Promise<{ code: number | null; stderr: string }> {
  const script = `
    import { sql } from "kysely";
    import { ALL_MIGRATIONS } from ${JSON.stringify(new URL("../../src/migrations.ts", import.meta.url).href)};
    import { migrateToLatest, openDatabase } from ${JSON.stringify(new URL("../../src/store/db.ts", import.meta.url).href)};
    const handle = openDatabase(process.env.STORE_URL);
    await migrateToLatest(handle.db, {
      ...ALL_MIGRATIONS,
      "9999_count": { up: (db) => sql\`insert into probe_runs (n) values (1)\`.execute(db) },
    });
    await handle.close();
  `;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      env: { ...process.env, STORE_URL: url },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

const DIALECTS = [
  { name: "sqlite", make: freshSqlite },
  { name: "postgres", make: freshPostgres },
] as const;

for (const { name: dialect, make } of DIALECTS) {
  describe(`migrateToLatest on ${dialect}`, () => {
    /** A fresh store and a handle on it, both gone afterwards. */
    async function withStore(fn: (handle: DatabaseHandle, url: string) => Promise<void>): Promise<void> {
      const database: TestDatabase = await make();
      const handle = openDatabase(database.url);
      try {
        await fn(handle, database.url);
      } finally {
        await handle.close();
        await database.drop();
      }
    }

    test("applies every migration once; a second run applies nothing", async () => {
      await withStore(async (handle) => {
        await migrateToLatest(handle.db, ALL_MIGRATIONS);
        const names = Object.keys(ALL_MIGRATIONS).sort();
        assert.deepEqual(await appliedNames(handle.db), names);
        await migrateToLatest(handle.db, ALL_MIGRATIONS);
        assert.deepEqual(await appliedNames(handle.db), names);
        assert.ok(await tableExists(handle.db, "tasks", dialect));
      });
    });

    test("processes starting together on one store: each migration runs exactly once", async () => {
      await withStore(async (handle, url) => {
        // Migration runs are counted in a table outside the migrations.
        await sql`create table probe_runs (n integer)`.execute(handle.db);
        const results = await Promise.all([0, 1, 2].map(() => migrateInAnotherProcess(url)));
        for (const r of results) assert.equal(r.code, 0, r.stderr);
        const { rows } = await sql<{ n: number }>`select count(*) as n from probe_runs`.execute(handle.db);
        assert.equal(Number(rows[0]!.n), 1);
        assert.equal((await appliedNames(handle.db)).length, Object.keys(ALL_MIGRATIONS).length + 1);
      });
    });

    test("a store begun by Kysely's Migrator (earlier versions) carries on where it was", async () => {
      await withStore(async (handle) => {
        const names = Object.keys(ALL_MIGRATIONS).sort();
        const firstHalf = Object.fromEntries(names.slice(0, 3).map((n) => [n, ALL_MIGRATIONS[n]!]));
        if (dialect === "sqlite") {
          const { error } = await new Migrator({
            db: handle.db,
            provider: { getMigrations: async () => firstHalf },
          }).migrateToLatest();
          assert.equal(error, undefined);
        } else {
          // Kysely's Migrator itself cannot run here: it looks for its tables in every schema of the
          // shared test database (the very flaw this migrator replaces). Build what it left in a
          // store (earlier versions pinned it to the connection's schema): its two tables, its
          // lock row, and a row per applied migration.
          await sql`create table kysely_migration (name varchar(255) not null primary key, timestamp varchar(255) not null)`.execute(
            handle.db,
          );
          await sql`create table kysely_migration_lock (id varchar(255) not null primary key, is_locked integer not null default 0)`.execute(
            handle.db,
          );
          await sql`insert into kysely_migration_lock (id, is_locked) values ('migration_lock', 0)`.execute(
            handle.db,
          );
          for (const [name, migration] of Object.entries(firstHalf)) {
            await migration.up(handle.db);
            await sql`insert into kysely_migration (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(
              handle.db,
            );
          }
        }
        assert.deepEqual(await appliedNames(handle.db), names.slice(0, 3));
        await migrateToLatest(handle.db, ALL_MIGRATIONS);
        assert.deepEqual(await appliedNames(handle.db), names);
      });
    });

    test("a store migrated by a newer version is refused, naming the migration it does not know", async () => {
      await withStore(async (handle) => {
        await migrateToLatest(handle.db, {
          ...ALL_MIGRATIONS,
          "9999_future": { up: async () => {} },
        });
        await assert.rejects(
          migrateToLatest(handle.db, ALL_MIGRATIONS),
          /has migration 9999_future, which this version of vidrelay does not know.*newer version/,
        );
      });
    });

    test("a failing migration names itself and leaves the store as it was", async () => {
      await withStore(async (handle) => {
        await assert.rejects(
          migrateToLatest(handle.db, {
            ...ALL_MIGRATIONS,
            "9999_broken": {
              async up(db) {
                await sql`select * from no_such_table`.execute(db);
              },
            },
          }),
          /database migration 9999_broken failed: .*no_such_table/,
        );
        assert.equal(await tableExists(handle.db, "tasks", dialect), false);
        assert.equal(await tableExists(handle.db, "kysely_migration", dialect), false);
        // And the store still migrates cleanly afterwards.
        await migrateToLatest(handle.db, ALL_MIGRATIONS);
        assert.ok(await tableExists(handle.db, "tasks", dialect));
      });
    });
  });
}

describe("migrateToLatest on Postgres while other schemas of the database come and go", () => {
  test("fresh schemas migrate while another tenant creates and drops schemas as fast as it can", async () => {
    // The churn: a schema with a table (so catalog scans see it) created and dropped in a loop.
    const churner = new pg.Client({ connectionString: POSTGRES_URL });
    await churner.connect();
    let churning = true;
    let churned = 0;
    const churn = (async () => {
      while (churning) {
        const schema = `churn_${randomAlphanumeric(10).toLowerCase()}`;
        await churner.query(`create schema ${schema}; create table ${schema}.t (id serial primary key)`);
        await churner.query(`drop schema ${schema} cascade`);
        churned++;
      }
    })();
    try {
      for (let i = 0; i < 12; i++) {
        const database = await freshPostgres();
        const handle = openDatabase(database.url);
        try {
          await migrateToLatest(handle.db, ALL_MIGRATIONS);
        } finally {
          await handle.close();
          await database.drop();
        }
      }
    } finally {
      churning = false;
      await churn;
      await churner.end();
    }
    assert.ok(churned > 12, `the churn ran alongside (${churned} schemas)`);
  });
});
