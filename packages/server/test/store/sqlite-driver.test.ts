/**
 * The SQLite driver choice: better-sqlite3 up to Node 22, Node's built-in node:sqlite from Node 24
 * (where better-sqlite3 12 aborts the process). Where node:sqlite exists, the same store runs on it.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { sql } from "kysely";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { migrateToLatest, openDatabase } from "../../src/store/db.ts";
import { chooseSqliteDriver, openSqlite } from "../../src/store/sqlite-driver.ts";

let hasNodeSqlite = false;
try {
  await import("node:sqlite" as string);
  hasNodeSqlite = true;
} catch {}

describe("choosing the SQLite driver", () => {
  test("better-sqlite3 before Node 24, node:sqlite from 24; VIDRELAY_SQLITE_DRIVER decides when set", () => {
    assert.equal(chooseSqliteDriver({}, 20), "better-sqlite3");
    assert.equal(chooseSqliteDriver({}, 22), "better-sqlite3");
    assert.equal(chooseSqliteDriver({}, 24), "node:sqlite");
    assert.equal(chooseSqliteDriver({}, 26), "node:sqlite");
    assert.equal(chooseSqliteDriver({ VIDRELAY_SQLITE_DRIVER: "node:sqlite" }, 22), "node:sqlite");
    assert.equal(chooseSqliteDriver({ VIDRELAY_SQLITE_DRIVER: "better-sqlite3" }, 24), "better-sqlite3");
    assert.throws(
      () => chooseSqliteDriver({ VIDRELAY_SQLITE_DRIVER: "sqlite3" }, 22),
      /better-sqlite3 or node:sqlite/,
    );
  });

  test("this Node's default driver opens, migrates and reads a store", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vidrelay-driver-"));
    try {
      const handle = openDatabase(`sqlite:${join(dir, "store.db")}`);
      await migrateToLatest(handle.db, ALL_MIGRATIONS);
      const { rows } = await sql<{ n: number }>`select count(*) as n from tasks`.execute(handle.db);
      assert.equal(rows[0]?.n, 0);
      assert.equal(typeof handle.externalChanges?.(), "number");
      await handle.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("node:sqlite: rows, changes, transactions and data_version behave as the store expects", {
    skip: hasNodeSqlite ? false : `node:sqlite is not in Node ${process.versions.node}`,
  }, () => {
    const a = openSqlite(":memory:", "node:sqlite");
    assert.equal(a.driver, "node:sqlite");
    a.exec("create table t (id integer primary key, name text)");
    const insert = a.prepare("insert into t (name) values (?)");
    assert.equal(insert.reader, false);
    const result = insert.run(["one"]);
    assert.equal(Number(result.changes), 1);
    assert.equal(Number(result.lastInsertRowid), 1);
    const select = a.prepare("select id, name from t where name = ?");
    assert.equal(select.reader, true);
    assert.deepEqual(
      select.all(["one"]).map((r) => ({ ...(r as object) })),
      [{ id: 1, name: "one" }],
    );
    a.prepare("begin").run([]);
    a.prepare("insert into t (name) values (?)").run(["two"]);
    a.prepare("rollback").run([]);
    assert.equal(a.prepare("select count(*) as n from t").all([]).length, 1);
    assert.equal(typeof a.scalar("pragma data_version")(), "number");
    a.close();
  });
});
