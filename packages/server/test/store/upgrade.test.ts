/**
 * A store written by any earlier release (the first landed schema onward) opens in this one with
 * every row intact. The earlier releases are rebuilt from the migration history: for every prefix
 * of the migration list, a store is migrated only that far, every table that exists then gets rows
 * generated from its introspected columns (so a table or column a later migration adds is covered
 * without touching this file), the store is migrated to the latest, and every row must still be
 * there with the same value in every column, the columns added since holding their declared
 * defaults. For the oldest and the newest of those stores the real gateway is then started on the
 * upgraded store and serves an old key and an old finished task over HTTP.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { type Kysely, type Migration, sql } from "kysely";
import pg from "pg";
import { loadConfig } from "../../src/config.ts";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { startServer } from "../../src/server.ts";
import { type DatabaseHandle, type Dialect, migrateToLatest, openDatabase } from "../../src/store/db.ts";
import type { Database } from "../../src/store/schema.ts";
import { freshPostgres, freshSqlite, POSTGRES_URL, type TestDatabase } from "../helpers/databases.ts";

type Value = string | number | null;
type Row = Record<string, Value>;

interface ColumnInfo {
  name: string;
  /** As declared (SQLite) or as `format_type` prints it (Postgres), lower case. */
  type: string;
  nullable: boolean;
  /** The default's SQL text, or null when the column has none. */
  defaultSql: string | null;
}

interface TableInfo {
  name: string;
  columns: ColumnInfo[];
  primaryKey: string[];
  /** column → the table and column its foreign key points at. */
  references: Map<string, { table: string; column: string }>;
}

// ---------------------------------------------------------------------------------------------
// What the test must be told (everything else comes from the store itself)

/**
 * CHECK constraints are invisible to introspection; these rows satisfy the ones billing declares
 * (billing/migrations.ts). `full` is the row with every nullable column filled, `sparse` the one
 * with them null. A new CHECK that generic values break fails the insert, naming the table.
 */
const CHECKED: Record<string, (row: Row, variant: "full" | "sparse" | "extra") => Row> = {
  billing_ledger: (row) => ({
    // A hold/capture/release needs a task_id; the sparse row has none.
    kind: row.task_id === null ? "adjustment" : "hold",
  }),
  billing_balances: (row) => ({ held: (row.balance as number) - 1_000 }),
  // Settled: captured within the hold, with a settled_at; open: neither.
  billing_holds: (row, variant): Row =>
    variant === "full"
      ? { status: "captured", amount_captured: (row.amount_held as number) - 7 }
      : { status: "open", settled_at: null, amount_captured: null },
  billing_limits: (_row, variant) => ({ scope: variant === "full" ? "account" : "key" }),
};

/** The old installation the gateway must still serve: its admin key, and a task it finished. */
const OLD_KEY = `sk-upgrade${"Q".repeat(36)}`;
const OLD_ACCOUNT = "acct_upgrade_admin";
const OLD_TASK = "task_upgrade_succeeded";
const OLD_PROMPT = `a "slow" push-in over l'été's sea, 漢字 🎬 \\ done`;
const OLD_METADATA = { ratio: "16:9", resolution: "480p", generate_audio: false };
const DAY = 24 * 3600 * 1000;

/**
 * Rows added on top of the generated ones where the gateway needs realistic values (a key hash it
 * can match, a task it can present). Columns not named here are generated like the sparse row's.
 */
function realisticRows(now: number): Record<string, Row[]> {
  return {
    accounts: [
      // The only account with is_admin = 1: migration 0007 makes it the unmetered installation owner.
      { id: OLD_ACCOUNT, name: "admin", is_admin: 1, billing_mode: "unmetered", created_at: now - 2 * DAY },
    ],
    api_keys: [
      {
        id: "key_upgrade_bootstrap",
        account_id: OLD_ACCOUNT,
        name: "bootstrap",
        key_hash: createHash("sha256").update(OLD_KEY).digest("hex"),
        key_prefix: "sk-upgr…QQQQ",
        test_mode: 0,
        created_at: now - 2 * DAY,
        revoked_at: null,
        last_used_at: null,
      },
    ],
    tasks: [
      {
        id: OLD_TASK,
        account_id: OLD_ACCOUNT,
        api_key_id: "key_upgrade_bootstrap",
        model: "seedance-1-5-pro-no-audio",
        status: "succeeded",
        progress: 100,
        prompt: OLD_PROMPT,
        seconds: 4,
        request_json: JSON.stringify({
          model: "seedance-1-5-pro-no-audio",
          mode: "text",
          prompt: OLD_PROMPT,
          seconds: 4,
          ratio: "16:9",
          resolution: "480p",
          generateAudio: false,
          content: [],
          citations: [],
        }),
        metadata_json: JSON.stringify(OLD_METADATA),
        provider: "local",
        test_mode: 0,
        video_json: JSON.stringify({
          width: 864,
          height: 496,
          duration: 4,
          fps: 24,
          has_audio: false,
          bytes: 91931,
        }),
        output_key: `videos/${OLD_TASK}.mp4`,
        poster_key: `videos/${OLD_TASK}.jpg`,
        media_token: "UpgradeMediaToken0123456789abcdef",
        created_at: now - DAY,
        started_at: now - DAY + 10,
        completed_at: now - DAY + 2_000,
        expires_at: now + 29 * DAY,
        updated_at: now - DAY + 2_000,
        poll_count: 0,
      },
    ],
  };
}

/**
 * Values migrations set on purpose, beyond a new column's default. Keyed by migration: applied to
 * the expected rows when the upgrade runs that migration. Any other change of a value fails.
 */
const DATA_MIGRATIONS: Record<string, (rows: Map<string, Row[]>) => void> = {
  "0007_billing_modes": (rows) => {
    // The first admin account (by created_at, id) is the installation's own and is not metered.
    const admins = (rows.get("accounts") ?? []).filter((a) => a.is_admin === 1);
    admins.sort((a, b) =>
      a.created_at === b.created_at
        ? String(a.id).localeCompare(String(b.id))
        : (a.created_at as number) - (b.created_at as number),
    );
    if (admins[0]) admins[0].billing_mode = "unmetered";
  },
};

/** Tables or columns a migration removed on purpose ("table" or "table.column"). None so far. */
const DROPPED: ReadonlySet<string> = new Set();

// ---------------------------------------------------------------------------------------------
// Introspection, confined to the connection's own schema

/**
 * Tables, columns, primary and foreign keys of the store. Not Kysely's `getTables()`: on Postgres it
 * reads every schema of the database (`has_schema_privilege` on each) and fails when a parallel
 * suite drops its schema meanwhile (the reason store/db.ts has its own migrator); it also leaves
 * out the lengths, default values and keys this test needs.
 */
async function describeStore(db: Kysely<Database>, dialect: Dialect): Promise<Map<string, TableInfo>> {
  const tables = new Map<string, TableInfo>();
  const table = (name: string) => {
    let info = tables.get(name);
    if (!info) {
      info = { name, columns: [], primaryKey: [], references: new Map() };
      tables.set(name, info);
    }
    return info;
  };
  if (dialect === "sqlite") {
    const { rows: columns } = await sql<{
      table_name: string;
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }>`select m.name as table_name, p.name, p.type, p."notnull", p.dflt_value, p.pk
       from sqlite_master m join pragma_table_info(m.name) p
       where m.type = 'table' and m.name not like 'sqlite_%' and m.name not like 'kysely_%'
       order by m.name, p.cid`.execute(db);
    for (const c of columns) {
      const info = table(c.table_name);
      info.columns.push({
        name: c.name,
        type: c.type.toLowerCase(),
        nullable: c.notnull === 0,
        defaultSql: c.dflt_value,
      });
      if (c.pk > 0) info.primaryKey[c.pk - 1] = c.name;
    }
    // SQLite lets a non-integer primary key hold NULL unless it is declared NOT NULL (a legacy quirk
    // the migrations do not guard against); no row the gateway writes has one, so neither do ours.
    for (const info of tables.values()) {
      for (const c of info.columns) if (info.primaryKey.includes(c.name)) c.nullable = false;
    }
    const { rows: keys } = await sql<{ table_name: string; from: string; table: string; to: string }>`
      select m.name as table_name, f."from", f."table", f."to"
      from sqlite_master m join pragma_foreign_key_list(m.name) f
      where m.type = 'table' and m.name not like 'kysely_%'`.execute(db);
    for (const k of keys) table(k.table_name).references.set(k.from, { table: k.table, column: k.to });
    return tables;
  }
  const { rows: columns } = await sql<{
    table_name: string;
    name: string;
    type: string;
    not_null: boolean;
    default_sql: string | null;
  }>`select c.relname as table_name, a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
            a.attnotnull as not_null, pg_get_expr(d.adbin, d.adrelid) as default_sql
     from pg_class c
     join pg_namespace n on n.oid = c.relnamespace
     join pg_attribute a on a.attrelid = c.oid
     left join pg_attrdef d on d.adrelid = c.oid and d.adnum = a.attnum
     where n.nspname = current_schema() and c.relkind in ('r', 'p') and a.attnum > 0
       and not a.attisdropped and c.relname not like 'kysely_%'
     order by c.relname, a.attnum`.execute(db);
  for (const c of columns) {
    table(c.table_name).columns.push({
      name: c.name,
      type: c.type.toLowerCase(),
      nullable: !c.not_null,
      defaultSql: c.default_sql,
    });
  }
  const { rows: keys } = await sql<{
    kind: "p" | "f";
    table_name: string;
    name: string;
    ref_table: string | null;
    ref_column: string | null;
  }>`select con.contype as kind, c.relname as table_name, a.attname as name,
            f.relname as ref_table, fa.attname as ref_column
     from pg_constraint con
     join pg_class c on c.oid = con.conrelid
     join pg_namespace n on n.oid = c.relnamespace
     cross join lateral unnest(con.conkey, coalesce(con.confkey, con.conkey))
       with ordinality as k(attnum, ref_attnum, position)
     join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
     left join pg_class f on f.oid = con.confrelid
     left join pg_attribute fa on fa.attrelid = con.confrelid and fa.attnum = k.ref_attnum
     where n.nspname = current_schema() and con.contype in ('p', 'f') and c.relname not like 'kysely_%'
     order by c.relname, con.conname, k.position`.execute(db);
  for (const k of keys) {
    const info = table(k.table_name);
    if (k.kind === "p") info.primaryKey.push(k.name);
    else info.references.set(k.name, { table: k.ref_table!, column: k.ref_column! });
  }
  return tables;
}

type Kind = "integer" | "bigint" | "float" | "text";

function kindOf(column: ColumnInfo, table: string): Kind {
  const t = column.type;
  if (t === "bigint" || t === "int8") return "bigint";
  if (t.includes("int")) return "integer";
  if (/double|real|float/.test(t)) return "float";
  if (/char|text|clob/.test(t)) return "text";
  throw new Error(`${table}.${column.name} has type ${t}, which this test cannot fill yet: teach valueFor`);
}

function maxLength(column: ColumnInfo): number | undefined {
  const m = /\((\d+)\)/.exec(column.type);
  return m ? Number(m[1]) : undefined;
}

/** The value a column's declared default gives a row, as the driver reads it back. */
function declaredDefault(column: ColumnInfo, table: string): Value {
  if (column.defaultSql === null) return null;
  // Postgres prints `'prepaid'::character varying` and `(-1)`; SQLite keeps the text as written.
  const text = column.defaultSql.replace(/::[a-z ]+(\(\d+\))?$/i, "").trim();
  const quoted = /^'((?:[^']|'')*)'$/.exec(text);
  const bare = quoted ? quoted[1]!.replaceAll("''", "'") : text.replace(/^\((.*)\)$/, "$1");
  if (kindOf(column, table) === "text") {
    if (quoted) return bare;
  } else if (/^-?\d+(\.\d+)?$/.test(bare)) {
    return Number(bare);
  }
  throw new Error(
    `cannot read the default of ${table}.${column.name} (${column.defaultSql}): teach declaredDefault`,
  );
}

/** Quotes, an apostrophe, accents, CJK, a character beyond the BMP, a backslash and a newline. */
const AWKWARD_TEXT = `'"é漢🎬\\\n`;

/**
 * A value of the column's type. Each row (`tag`) and column differ, so a swapped or copied column
 * shows. Integers fill most of 32 bits, bigints go past them (and, read as unix ms, lie in the
 * 2120s, so no sweep of the started gateway touches them), floats have a fraction.
 */
function valueFor(table: string, column: ColumnInfo, index: number, tag: number): Value {
  switch (kindOf(column, table)) {
    case "integer":
      return 1_000_000 * (tag + 1) + index;
    case "bigint":
      return 5_000_000_000_000 + 1_000_000 * tag + index;
    case "float":
      return 1000 * (tag + 1) + index + 0.25;
    case "text": {
      // The tag comes first: it keeps unique columns unique when a short varchar cuts the rest.
      const text = [...`r${tag}${AWKWARD_TEXT}${table}.${column.name}`];
      return text.slice(0, maxLength(column) ?? text.length).join("");
    }
  }
}

/** Tables in an order where every foreign key points at a table inserted before. */
function insertOrder(tables: Map<string, TableInfo>): TableInfo[] {
  const order: TableInfo[] = [];
  const placed = new Set<string>();
  while (order.length < tables.size) {
    const ready = [...tables.values()].filter(
      (t) => !placed.has(t.name) && [...t.references.values()].every((r) => placed.has(r.table)),
    );
    if (ready.length === 0) throw new Error("foreign keys form a cycle: teach insertOrder");
    for (const t of ready) {
      order.push(t);
      placed.add(t.name);
    }
  }
  return order;
}

/**
 * Write rows into every table: a `full` one (every column set), a `sparse` one (nullable columns
 * null) and the realistic ones, foreign keys pointing at the same kind of row of the table they
 * reference. Returns the rows as written, by table.
 */
async function writeRows(
  db: Kysely<Database>,
  tables: Map<string, TableInfo>,
  now: number,
): Promise<Map<string, Row[]>> {
  const realistic = realisticRows(now);
  const written = new Map<string, Row[]>();
  for (const table of insertOrder(tables)) {
    assert.ok(table.primaryKey.length > 0, `${table.name} has no primary key to find its rows by`);
    const plans: { variant: "full" | "sparse" | "extra"; overrides: Row }[] = [
      { variant: "full", overrides: {} },
      { variant: "sparse", overrides: {} },
      ...(realistic[table.name] ?? []).map((overrides) => ({ variant: "extra" as const, overrides })),
    ];
    const rows: Row[] = [];
    for (const [tag, plan] of plans.entries()) {
      const row: Row = {};
      table.columns.forEach((column, index) => {
        const reference = table.references.get(column.name);
        if (plan.variant !== "full" && column.nullable) row[column.name] = null;
        else if (reference) {
          // The referenced table's row of the same kind (its realistic row for a realistic one).
          const target = written.get(reference.table)!;
          row[column.name] = target[Math.min(tag, target.length - 1)]![reference.column]!;
        } else row[column.name] = valueFor(table.name, column, index, tag);
      });
      Object.assign(row, CHECKED[table.name]?.(row, plan.variant));
      for (const [name, value] of Object.entries(plan.overrides)) if (name in row) row[name] = value;
      const names = Object.keys(row);
      try {
        await sql`insert into ${sql.table(table.name)} (${sql.join(names.map((n) => sql.ref(n)))})
                  values (${sql.join(names.map((n) => row[n]))})`.execute(db);
      } catch (error) {
        throw new Error(
          `writing the ${plan.variant} row of ${table.name} failed (a constraint generated values miss? add it to CHECKED): ${(error as Error).message}`,
        );
      }
      rows.push(row);
    }
    written.set(table.name, rows);
  }
  return written;
}

const keyOf = (table: TableInfo, row: Row) => JSON.stringify(table.primaryKey.map((c) => row[c]));

/** Every row of the table by primary key, as plain objects of the given columns. */
async function readRows(db: Kysely<Database>, table: TableInfo): Promise<Map<string, Row>> {
  const { rows } = await sql<Row>`select * from ${sql.table(table.name)}`.execute(db);
  // Copied into plain objects: node:sqlite returns null-prototype rows, which deepEqual tells apart.
  return new Map(
    rows.map((r) => [keyOf(table, r), Object.fromEntries(table.columns.map((c) => [c.name, r[c.name]!]))]),
  );
}

/** The rows as the latest schema should hold them: old values, new columns at their defaults. */
function expectedAfterUpgrade(
  written: Map<string, Row[]>,
  before: Map<string, TableInfo>,
  latest: Map<string, TableInfo>,
  pending: string[],
): Map<string, Row[]> {
  const expected = new Map<string, Row[]>();
  for (const [name, rows] of written) {
    const now = latest.get(name);
    if (!now) {
      assert.ok(DROPPED.has(name), `table ${name} and its ${rows.length} rows are gone after the upgrade`);
      continue;
    }
    const old = new Set(before.get(name)!.columns.map((c) => c.name));
    for (const column of old) {
      assert.ok(
        now.columns.some((c) => c.name === column) || DROPPED.has(`${name}.${column}`),
        `column ${name}.${column} is gone after the upgrade`,
      );
    }
    expected.set(
      name,
      rows.map((row) =>
        Object.fromEntries(
          now.columns.map((c) => [c.name, old.has(c.name) ? row[c.name]! : declaredDefault(c, name)]),
        ),
      ),
    );
  }
  for (const migration of pending) DATA_MIGRATIONS[migration]?.(expected);
  return expected;
}

// ---------------------------------------------------------------------------------------------
// The cases

const NAMES = Object.keys(ALL_MIGRATIONS).sort();
/** After 0001 only, after 0001+0002, …, up to the last but one. */
const PREFIXES = NAMES.slice(0, -1).map((_, i) => NAMES.slice(0, i + 1));

const subset = (names: string[]): Record<string, Migration> =>
  Object.fromEntries(names.map((n) => [n, ALL_MIGRATIONS[n]!]));

const DIALECTS = [
  { dialect: "sqlite", make: freshSqlite },
  { dialect: "postgres", make: freshPostgres },
] as const;

test("the history has something to upgrade from", () => {
  assert.ok(PREFIXES.length >= 1, "fewer than two migrations: no earlier release to upgrade from");
  assert.deepEqual(PREFIXES[0], [NAMES[0]]);
  assert.equal(PREFIXES.at(-1)!.length, NAMES.length - 1);
});

for (const { dialect, make } of DIALECTS) {
  describe(`upgrading a ${dialect} store`, () => {
    // pg-boss (the default queue on Postgres) gets its own schema, not the shared database's.
    const pgbossSchema = `pgb_upgrade_${process.pid}_${Date.now() % 1_000_000}`;
    after(async () => {
      if (dialect !== "postgres") return;
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`drop schema if exists ${pgbossSchema} cascade`);
      await client.end();
    });

    PREFIXES.forEach((prefix, i) => {
      const serve = i === 0 || i === PREFIXES.length - 1;
      const pending = NAMES.slice(prefix.length);
      test(`written after ${prefix.at(-1)}: every row survives ${pending.join(", ")}${serve ? "; the gateway serves it" : ""}`, async () => {
        const database: TestDatabase = await make();
        let handle: DatabaseHandle | undefined = openDatabase(database.url, { poolSize: 2 });
        try {
          await migrateToLatest(handle.db, subset(prefix));
          const before = await describeStore(handle.db, dialect);
          for (const name of [...before.keys()]) {
            assert.ok(before.get(name)!.columns.length > 0, `no columns found for ${name}`);
          }
          const written = await writeRows(handle.db, before, Date.now());
          // Read back before upgrading: a value the driver stored differently is this test's fault,
          // not a migration's.
          for (const [name, rows] of written) {
            const stored = await readRows(handle.db, before.get(name)!);
            for (const row of rows) {
              assert.deepEqual(stored.get(keyOf(before.get(name)!, row)), row, `${name} as written`);
            }
          }

          await migrateToLatest(handle.db, ALL_MIGRATIONS);
          const latest = await describeStore(handle.db, dialect);
          const expected = expectedAfterUpgrade(written, before, latest, pending);
          let compared = 0;
          for (const [name, rows] of expected) {
            const table = latest.get(name)!;
            const stored = await readRows(handle.db, table);
            for (const row of rows) {
              const key = keyOf(table, row);
              assert.ok(stored.has(key), `${name} row ${key} is gone after the upgrade`);
              assert.deepEqual(stored.get(key), row, `${name} row ${key} after the upgrade`);
              compared++;
            }
          }
          assert.equal(
            compared,
            [...written.values()].reduce((n, rows) => n + rows.length, 0),
          );
          await handle.close();
          handle = undefined;

          if (serve) await serveOldStore(database, pgbossSchema);
        } finally {
          await handle?.close();
          await database.drop();
          if (database.name === "sqlite") {
            await rm(dirname(database.url.replace(/^sqlite:/, "")), { recursive: true, force: true });
          }
        }
      });
    });
  });
}

/** The real gateway on the upgraded store: the old key authenticates, the old task reads. */
async function serveOldStore(database: TestDatabase, pgbossSchema: string): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-upgrade-"));
  const server = await startServer(
    loadConfig(
      {
        databaseUrl: database.url,
        dataDir,
        port: 0,
        host: "127.0.0.1",
        logLevel: "silent",
        pgbossSchema,
        // A Postgres store needs the deployment's secret (server.ts refuses to start without).
        ...(database.name === "postgres" ? { secret: "upgrade-test-secret-for-postgres" } : {}),
      },
      {},
    ),
  );
  try {
    const headers = { authorization: `Bearer ${OLD_KEY}` };
    const me = await fetch(`${server.url}/v1/me`, { headers });
    assert.equal(me.status, 200, await me.clone().text());
    const who = (await me.json()) as { account: { id: string; is_admin?: boolean } };
    assert.equal(who.account.id, OLD_ACCOUNT);

    const res = await fetch(`${server.url}/v1/video/generations/${OLD_TASK}`, { headers });
    assert.equal(res.status, 200, await res.clone().text());
    const task = (await res.json()) as Record<string, unknown>;
    assert.equal(task.status, "succeeded");
    assert.equal(task.prompt, OLD_PROMPT);
    assert.deepEqual(task.metadata, OLD_METADATA);
  } finally {
    await server.close(2000);
    await rm(dataDir, { recursive: true, force: true });
  }
}
