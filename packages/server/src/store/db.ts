import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { Kysely, type Migration, PostgresAdapter, PostgresDialect, SqliteDialect, sql } from "kysely";
import pg from "pg";
import type { Database } from "./schema.ts";
import { openSqlite, type SqliteConnection } from "./sqlite-driver.ts";

export type Dialect = "sqlite" | "postgres";

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: Dialect;
  /**
   * A number that changes whenever another connection (another process) commits to the store,
   * and only then; absent where there is no cheap way to know (Postgres). SQLite's `data_version`.
   */
  externalChanges?: () => number;
  close(): Promise<void>;
}

// int8 (bigint) columns hold unix-ms timestamps and byte counts, all well inside 2^53.
pg.types.setTypeParser(20, (value) => Number.parseInt(value, 10));
// float8 arrives as a string by default in some setups; make it a number.
pg.types.setTypeParser(701, (value) => Number.parseFloat(value));

/**
 * Open the store named by a URL: `sqlite:/path/file.db` (WAL, the laptop default) or
 * `postgres://…`. All dialect differences end here.
 */
export function openDatabase(url: string, options: { poolSize?: number } = {}): DatabaseHandle {
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    const pool = new pg.Pool({ connectionString: url, max: options.poolSize ?? 10 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    return { db, dialect: "postgres", close: () => db.destroy() };
  }
  const path = url.replace(/^sqlite:(\/\/)?/, "");
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const sqlite = openSqlite(path);
  sqlite.exec("pragma journal_mode = WAL");
  sqlite.exec("pragma synchronous = NORMAL");
  sqlite.exec("pragma busy_timeout = 5000");
  sqlite.exec("pragma foreign_keys = ON");
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(sqlite) }) });
  // Same connection as every query: the driver is synchronous, so this never interleaves
  // with a statement, and inside an open transaction it only reads the WAL header.
  const dataVersion = sqlite.scalar("pragma data_version");
  return {
    db,
    dialect: "sqlite",
    externalChanges: dataVersion,
    close: () => db.destroy(),
  };
}

/**
 * Kysely's SQLite driver prepares every query afresh; compiling the statement was the largest
 * single cost of a GET in the benchmark. Prepared statements are reusable (one connection, one
 * query at a time), so keep the most recent ones by SQL text.
 */
function withStatementCache(sqlite: SqliteConnection, max = 500): SqliteConnection {
  const cache = new Map<string, ReturnType<SqliteConnection["prepare"]>>();
  return {
    ...sqlite,
    prepare(source: string) {
      let statement = cache.get(source);
      if (statement) {
        cache.delete(source); // keep recently used ones at the end
      } else {
        statement = sqlite.prepare(source);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      }
      cache.set(source, statement);
      return statement;
    },
  };
}

/**
 * The table that records applied migrations. It keeps the name and shape Kysely's Migrator gave it,
 * so stores migrated by earlier versions (which used that Migrator) carry on where they were.
 */
const MIGRATION_TABLE = "kysely_migration";

/**
 * Apply `migrations` (see src/migrations.ts for the gateway's list) that the store has not seen yet,
 * in name order, all in one transaction: a failing migration leaves the store as it was.
 *
 * Not Kysely's Migrator: it finds its bookkeeping tables through introspection of *every* schema in
 * the database (`has_schema_privilege` on each), which fails with "schema … does not exist" when
 * another tenant of the database drops a schema at that moment (CI caught it; any shared database
 * can). Here everything is unqualified, so it stays in this connection's own schema, and concurrent
 * starts are serialised by an advisory lock on Postgres and by `begin immediate` on SQLite.
 */
export async function migrateToLatest(
  db: Kysely<Database>,
  migrations: Record<string, Migration>,
): Promise<void> {
  const postgres = db.getExecutor().adapter instanceof PostgresAdapter;
  await db.connection().execute(async (conn) => {
    await sql.raw(postgres ? "begin" : "begin immediate").execute(conn);
    try {
      if (postgres) {
        // Keyed by schema: instances in other schemas of the same database do not wait on us.
        await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.vidrelay_migrations'))`.execute(
          conn,
        );
      }
      await sql`create table if not exists ${sql.table(MIGRATION_TABLE)} (
        name varchar(255) not null primary key,
        timestamp varchar(255) not null
      )`.execute(conn);
      const { rows } = await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(
        conn,
      );
      const applied = new Set(rows.map((r) => r.name));
      const unknown = [...applied].filter((name) => !(name in migrations)).sort();
      if (unknown.length > 0) {
        throw new Error(
          `database migration failed: the store has migration ${unknown.join(", ")}, which this version of vidrelay does not know; it was migrated by a newer version, so run that version (or a newer one) against it`,
        );
      }
      for (const name of Object.keys(migrations).sort()) {
        if (applied.has(name)) continue;
        try {
          await migrations[name]!.up(conn);
        } catch (error) {
          throw new Error(
            `database migration ${name} failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
        await sql`insert into ${sql.table(MIGRATION_TABLE)} (name, timestamp) values (${name}, ${new Date().toISOString()})`.execute(
          conn,
        );
      }
      await sql`commit`.execute(conn);
    } catch (error) {
      await sql`rollback`.execute(conn).catch(() => {});
      throw error;
    }
  });
}
