import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import SQLite from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { migrateToLatest } from "../../src/store/db.ts";
import type { Database } from "../../src/store/schema.ts";
import { TransactionGroup } from "../../src/store/transaction-group.ts";
import { freshSqlite } from "../helpers/databases.ts";

/** Run `body` on a fresh store whose every statement (transaction control included) is recorded. */
async function withLoggedStore(body: (db: Kysely<Database>, sql: string[]) => Promise<void>): Promise<void> {
  const database = await freshSqlite();
  const sql: string[] = [];
  const db = new Kysely<Database>({
    dialect: new SqliteDialect({ database: new SQLite(database.url.replace(/^sqlite:(\/\/)?/, "")) }),
    log: (event) => {
      sql.push(event.query.sql.toLowerCase());
    },
  });
  try {
    await migrateToLatest(db, ALL_MIGRATIONS);
    sql.length = 0;
    await body(db, sql);
  } finally {
    await db.destroy();
    await database.drop();
  }
}

const put = (db: Kysely<Database>, key: string) =>
  db.insertInto("kv").values({ key, value: key, updated_at: 1 }).execute();
const keys = async (db: Kysely<Database>) =>
  (await db.selectFrom("kv").select("key").orderBy("key").execute()).map((r) => r.key);

describe("TransactionGroup (SQLite)", () => {
  test("units asked for in one turn commit together, in order, each seeing the ones before", () =>
    withLoggedStore(async (db, sql) => {
      const group = new TransactionGroup(db, true);
      const seen: string[][] = [];
      const results = await Promise.all(
        ["a", "b", "c", "d"].map((key) =>
          group.run(async (trx) => {
            seen.push(await keys(trx));
            await put(trx, key);
            return key.toUpperCase();
          }),
        ),
      );
      assert.deepEqual(results, ["A", "B", "C", "D"]);
      assert.deepEqual(seen, [[], ["a"], ["a", "b"], ["a", "b", "c"]]);
      assert.equal(sql.filter((s) => s === "begin").length, 1, "one transaction");
      assert.equal(sql.filter((s) => s === "commit").length, 1, "one commit");
      assert.deepEqual(await keys(db), ["a", "b", "c", "d"]);
    }));

  test("a unit that throws is undone alone; its caller gets the error, the others commit", () =>
    withLoggedStore(async (db) => {
      const group = new TransactionGroup(db, true);
      const outcomes = await Promise.allSettled([
        group.run((trx) => put(trx, "a")),
        group.run(async (trx) => {
          await put(trx, "b");
          throw new Error("refused");
        }),
        group.run((trx) => put(trx, "a")), // duplicate key: the store refuses it
        group.run((trx) => put(trx, "c")),
      ]);
      assert.deepEqual(
        outcomes.map((o) => o.status),
        ["fulfilled", "rejected", "rejected", "fulfilled"],
      );
      assert.match(String((outcomes[1] as PromiseRejectedResult).reason), /refused/);
      assert.match(String((outcomes[2] as PromiseRejectedResult).reason), /UNIQUE/);
      assert.deepEqual(await keys(db), ["a", "c"], "b was rolled back with its unit");
    }));

  test("nobody hears 'done' before the commit; later turns make new groups", () =>
    withLoggedStore(async (db, sql) => {
      const group = new TransactionGroup(db, true);
      const first = group.run((trx) => put(trx, "a"));
      await nextTurn();
      const second = group.run((trx) => put(trx, "b"));
      await first;
      assert.ok(sql.includes("commit"), "resolved only after a commit");
      await second;
      assert.deepEqual(await keys(db), ["a", "b"]);
    }));

  test("ungrouped (Postgres's mode) runs each unit as its own transaction", () =>
    withLoggedStore(async (db, sql) => {
      const group = new TransactionGroup(db, false);
      await Promise.all([group.run((trx) => put(trx, "a")), group.run((trx) => put(trx, "b"))]);
      assert.equal(sql.filter((s) => s === "commit").length, 2);
    }));
});
