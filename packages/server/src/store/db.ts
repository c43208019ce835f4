import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import {
  Kysely,
  type Migration,
  Migrator,
  PostgresAdapter,
  PostgresDialect,
  SqliteDialect,
  sql,
} from "kysely";
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

/** Apply `migrations` (see src/migrations.ts for the gateway's list) that the store has not seen yet. */
export async function migrateToLatest(
  db: Kysely<Database>,
  migrations: Record<string, Migration>,
): Promise<void> {
  // On Postgres, keep Kysely's bookkeeping tables in our own schema: by default it looks across
  // every schema of the database and would mistake another instance's tables for ours.
  let migrationTableSchema: string | undefined;
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    const { rows } = await sql<{ schema: string }>`select current_schema() as schema`.execute(db);
    migrationTableSchema = rows[0]?.schema;
  }
  const provider = { getMigrations: async () => migrations };
  const migrator = new Migrator({ db, provider, migrationTableSchema });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === "Error");
  if (error || failed) {
    throw new Error(
      `database migration ${failed?.migrationName ?? ""} failed: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
