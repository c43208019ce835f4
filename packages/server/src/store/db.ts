import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type Migration,
  PostgresAdapter,
  PostgresDialect,
  type QueryResult,
  SqliteDialect,
  sql,
  type TransactionSettings,
} from "kysely";
import pg from "pg";
import type { Database } from "./schema.ts";
import { openSqlite, type SqliteConnection } from "./sqlite-driver.ts";
import { isStoreUnavailable, neverSent } from "./unavailable.ts";

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

export interface OpenOptions {
  poolSize?: number;
  /**
   * Errors of idle pooled connections (Postgres restarted, a backend terminated, the network
   * dropped). The pool removes such a connection and opens a new one when next needed; without a
   * listener the pool's `error` event would end the process.
   */
  onConnectionError?: (error: Error) => void;
  /** How long a query waits for a connection before it fails (the store is unreachable). */
  connectTimeoutMs?: number;
  /** Postgres `application_name`, so an operator can tell the gateway's connections apart. */
  applicationName?: string;
}

/**
 * Open the store named by a URL: `sqlite:/path/file.db` (WAL, the laptop default) or
 * `postgres://…`. All dialect differences end here.
 */
export function openDatabase(url: string, options: OpenOptions = {}): DatabaseHandle {
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.poolSize ?? 10,
      // Without a bound a query waits forever for a connection while Postgres is down.
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
      idleTimeoutMillis: 30_000,
      // Half-open connections (a failover, a NAT that forgot us) are found within a minute or so.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...(options.applicationName ? { application_name: options.applicationName } : {}),
    });
    pool.on("error", (error) => options.onConnectionError?.(error));
    // The pool listens for errors only on idle clients. One checked out by a transaction between
    // two statements still emits 'error' when its connection dies, and with no listener that ends
    // the process; its next statement fails on its own ("not queryable"), which is all we need.
    pool.on("connect", (client) => client.on("error", () => {}));
    const db = new Kysely<Database>({ dialect: new ResilientPostgresDialect({ pool }) });
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
 * Kysely's Postgres dialect with a driver that rides out dropped connections: getting a
 * connection is retried briefly (nothing was sent), and a statement that failed because its
 * connection died is sent again on a fresh connection when that cannot run anything twice — a
 * plain read that was the first statement of its checkout, or any statement the client never sent.
 * Everything else fails as before: a write whose connection died in flight may have committed, so
 * only its caller (with its idempotency key, or its job's retry) may decide to repeat it.
 */
class ResilientPostgresDialect extends PostgresDialect {
  override createDriver(): Driver {
    return new ResilientDriver(super.createDriver());
  }
}

const ACQUIRE_RETRY_DELAYS_MS = [100, 400];
const STATEMENT_RETRY_DELAYS_MS = [50, 250];

class ResilientDriver implements Driver {
  constructor(private readonly inner: Driver) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new ResilientConnection(this, await this.acquireInner());
  }

  async acquireInner(): Promise<DatabaseConnection> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.inner.acquireConnection();
      } catch (error) {
        const delay = ACQUIRE_RETRY_DELAYS_MS[attempt];
        if (delay === undefined || !isStoreUnavailable(error)) throw error;
        await sleep(delay);
      }
    }
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = connection as ResilientConnection;
    c.inTransaction = true;
    return this.inner.beginTransaction(c.current, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.endTransaction(connection, "commitTransaction");
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.endTransaction(connection, "rollbackTransaction");
  }

  /** COMMIT or ROLLBACK on the current connection; the transaction is over either way. */
  private async endTransaction(
    connection: DatabaseConnection,
    end: "commitTransaction" | "rollbackTransaction",
  ): Promise<void> {
    const c = connection as ResilientConnection;
    try {
      await this.inner[end](c.current);
    } finally {
      c.inTransaction = false;
    }
  }

  savepoint(
    connection: DatabaseConnection,
    name: string,
    compile: Parameters<NonNullable<Driver["savepoint"]>>[2],
  ) {
    return this.inner.savepoint!((connection as ResilientConnection).current, name, compile);
  }

  rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: Parameters<NonNullable<Driver["rollbackToSavepoint"]>>[2],
  ) {
    return this.inner.rollbackToSavepoint!((connection as ResilientConnection).current, name, compile);
  }

  releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: Parameters<NonNullable<Driver["releaseSavepoint"]>>[2],
  ) {
    return this.inner.releaseSavepoint!((connection as ResilientConnection).current, name, compile);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = connection as ResilientConnection;
    if (c.held) await this.inner.releaseConnection(c.current);
  }

  releaseInner(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(connection);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

class ResilientConnection implements DatabaseConnection {
  inTransaction = false;
  /** False between giving a dead connection back and getting a live one (nothing to release). */
  held = true;
  private statements = 0;

  constructor(
    private readonly driver: ResilientDriver,
    public current: DatabaseConnection,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    // Only the first statement of a checkout outside a transaction may move to a new connection:
    // later ones may belong to a transaction begun with raw SQL on this one.
    const first = this.statements++ === 0 && !this.inTransaction;
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.current.executeQuery<R>(query);
      } catch (error) {
        const delay = STATEMENT_RETRY_DELAYS_MS[attempt];
        const repeatable = first && (neverSent(error) || isPlainRead(query.sql));
        if (delay === undefined || !repeatable || !isStoreUnavailable(error)) throw error;
        // The dead connection goes back to the pool, which discards it; the retry gets a live one.
        this.held = false;
        await this.driver.releaseInner(this.current);
        await sleep(delay);
        this.current = await this.driver.acquireInner();
        this.held = true;
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    this.statements++;
    return this.current.streamQuery<R>(query, chunkSize);
  }
}

/** A single SELECT that takes no locks: running it again changes nothing. */
function isPlainRead(text: string): boolean {
  return /^\s*select\b/i.test(text) && !/\bfor\s+(update|share|no\s+key\s+update|key\s+share)\b/i.test(text);
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
/** How many rows a table has. */
export async function countRows(db: Kysely<Database>, table: keyof Database): Promise<number> {
  const row = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<number>().as("n"))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

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
