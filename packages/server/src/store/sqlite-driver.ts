/**
 * The SQLite connection under Kysely: better-sqlite3, or Node's built-in `node:sqlite` where
 * better-sqlite3 12 is unsafe. On Node 24 better-sqlite3 ≤ 12 aborts the process
 * (`Assertion failed: (env) != nullptr` in a Statement destructor: Node 24's ObjectWrap registers
 * cleanup hooks it then cannot remove); the release that fixes it (13) requires Node ≥ 22, and
 * this project still supports 20. Both drivers are synchronous, one connection, the same SQL.
 */
import { createRequire } from "node:module";
import type { SqliteDatabase, SqliteStatement } from "kysely";

const require = createRequire(import.meta.url);

export type SqliteDriverName = "better-sqlite3" | "node:sqlite";

/** What the store needs from a connection, beyond Kysely's `SqliteDatabase`. */
export interface SqliteConnection extends SqliteDatabase {
  readonly driver: SqliteDriverName;
  /** Run statements without results (pragmas). */
  exec(sql: string): void;
  /** A prepared single-value read, e.g. `pragma data_version`. */
  scalar(sql: string): () => number;
}

/**
 * Which driver: `VIDRELAY_SQLITE_DRIVER` when set; otherwise node:sqlite from Node 24 on, where it
 * is available without a flag and better-sqlite3 12 crashes, and better-sqlite3 before.
 */
export function chooseSqliteDriver(
  env: Record<string, string | undefined> = process.env,
  nodeMajor = Number(process.versions.node.split(".")[0]),
): SqliteDriverName {
  const asked = env.VIDRELAY_SQLITE_DRIVER;
  if (asked === "better-sqlite3" || asked === "node:sqlite") return asked;
  if (asked) throw new Error(`VIDRELAY_SQLITE_DRIVER must be better-sqlite3 or node:sqlite, not "${asked}"`);
  return nodeMajor >= 24 ? "node:sqlite" : "better-sqlite3";
}

export function openSqlite(path: string, driver: SqliteDriverName = chooseSqliteDriver()): SqliteConnection {
  return driver === "node:sqlite" ? openNodeSqlite(path) : openBetterSqlite(path);
}

function openBetterSqlite(path: string): SqliteConnection {
  // Loaded only when chosen: on Node 24 the module must not be used at all.
  const SQLite = require("better-sqlite3") as typeof import("better-sqlite3");
  const db = new SQLite(path);
  return {
    driver: "better-sqlite3",
    prepare: (sql) => db.prepare(sql) as unknown as SqliteStatement,
    close: () => db.close(),
    exec: (sql) => db.exec(sql),
    scalar: (sql) => {
      const statement = db.prepare(sql).pluck();
      return () => statement.get() as number;
    },
  };
}

/** The part of node:sqlite used here (its types are not in @types/node 20). */
interface NodeStatement {
  all(...parameters: unknown[]): unknown[];
  run(...parameters: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...parameters: unknown[]): Record<string, unknown> | undefined;
  iterate(...parameters: unknown[]): IterableIterator<unknown>;
  columns(): unknown[];
}
interface NodeDatabase {
  prepare(sql: string): NodeStatement;
  exec(sql: string): void;
  close(): void;
}

function openNodeSqlite(path: string): SqliteConnection {
  const { DatabaseSync } = require("node:sqlite") as { DatabaseSync: new (path: string) => NodeDatabase };
  const db = new DatabaseSync(path);
  return {
    driver: "node:sqlite",
    prepare: (sql) => {
      const statement = db.prepare(sql);
      // Kysely reads `reader` to choose all() (rows) or run() (changes).
      const reader = statement.columns().length > 0;
      return {
        reader,
        all: (parameters) => statement.all(...parameters),
        run: (parameters) => statement.run(...parameters),
        iterate: (parameters) => statement.iterate(...parameters),
      };
    },
    close: () => db.close(),
    exec: (sql) => db.exec(sql),
    scalar: (sql) => {
      const statement = db.prepare(sql);
      return () => Object.values(statement.get() ?? {})[0] as number;
    },
  };
}
