import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Kysely, sql } from "kysely";
import type { BillingDb } from "../../src/billing/tables.ts";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { migrateToLatest, openDatabase } from "../../src/store/db.ts";
import { matchesEtag, TaskObjectCache, type TaskObjectWithTag } from "../../src/tasks/object-cache.ts";
import type { TaskObject } from "../../src/tasks/schemas.ts";

const live = (accountId: string) => ({ accountId, testMode: 0 as const });

import { freshSqlite } from "../helpers/databases.ts";

const value = (id: string): TaskObjectWithTag => ({
  object: { id, task_id: id } as unknown as TaskObject,
  etag: `"${id}"`,
});

function cacheWith(...ids: string[]) {
  let token = 0;
  const cache = new TaskObjectCache(() => token);
  for (const id of ids) cache.fill(cache.begin(), live("acct_a"), id, value(id));
  return {
    cache,
    otherProcessCommits() {
      token++;
    },
  };
}

describe("TaskObjectCache", () => {
  test("an entry is only for its own account, in its own mode", () => {
    const { cache } = cacheWith("task_1");
    assert.ok(cache.get(live("acct_a"), "task_1"));
    assert.equal(cache.get(live("acct_b"), "task_1"), undefined);
    assert.equal(cache.get({ accountId: "acct_a", testMode: 1 }, "task_1"), undefined);
  });

  test("a read that began before a write does not fill the cache", () => {
    const { cache } = cacheWith();
    const ticket = cache.begin();
    cache.invalidate("task_other"); // any write counts: the read may have seen either side of it
    cache.fill(ticket, live("acct_a"), "task_1", value("task_1"));
    assert.equal(cache.get(live("acct_a"), "task_1"), undefined);
    cache.fill(cache.begin(), live("acct_a"), "task_1", value("task_1"));
    assert.ok(cache.get(live("acct_a"), "task_1"));
  });

  test("a commit by another process empties the cache at the next read", () => {
    const { cache, otherProcessCommits } = cacheWith("task_1", "task_2");
    cache.begin();
    assert.equal(cache.size, 2);
    otherProcessCommits();
    cache.begin();
    assert.equal(cache.size, 0);
  });

  test("the oldest entry goes first past the bound", () => {
    const cache = new TaskObjectCache(() => 0, 2);
    for (const id of ["task_1", "task_2", "task_3"]) cache.fill(cache.begin(), live("acct_a"), id, value(id));
    assert.equal(cache.get(live("acct_a"), "task_1"), undefined);
    assert.ok(cache.get(live("acct_a"), "task_3"));
  });

  test("the write observer drops what each statement can change, and only that", async () => {
    const database = await freshSqlite();
    const handle = openDatabase(database.url);
    try {
      await migrateToLatest(handle.db, ALL_MIGRATIONS);
      const { cache } = cacheWith();
      const db = handle.db.withPlugin(cache.writeObserver());
      const fillAll = () => {
        for (const id of ["task_1", "task_2", "task_3"])
          cache.fill(cache.begin(), live("acct_a"), id, value(id));
      };
      const cached = () => ["task_1", "task_2", "task_3"].filter((id) => cache.get(live("acct_a"), id));

      fillAll();
      await db.updateTable("tasks").set({ progress: 5 }).where("id", "=", "task_2").execute();
      assert.deepEqual(cached(), ["task_1", "task_3"], "an update naming its task drops that one");

      fillAll();
      await db
        .updateTable("tasks")
        .set({ progress: 5 })
        .where("status", "=", "running")
        .where("id", "=", "task_3")
        .execute();
      assert.deepEqual(cached(), ["task_1", "task_2"], "found through AND");

      fillAll();
      await (db as unknown as Kysely<BillingDb>)
        .updateTable("billing_holds")
        .set({ status: "captured" })
        .where("task_id", "=", "task_1")
        .execute();
      assert.deepEqual(cached(), ["task_2", "task_3"], "a hold write drops its task (usage)");

      fillAll();
      await db.updateTable("tasks").set({ next_poll_at: 1 }).where("channel_id", "=", "ch_1").execute();
      assert.deepEqual(cached(), [], "a bulk update drops everything");

      fillAll();
      await db.deleteFrom("tasks").where("id", "in", ["task_1"]).execute();
      assert.deepEqual(cached(), [], "a delete without `id =` drops everything");

      fillAll();
      await sql`update tasks set progress = 1 where 1 = 0`.execute(db);
      assert.deepEqual(cached(), [], "raw SQL that writes tasks drops everything");

      fillAll();
      await db.updateTable("jobs").set({ attempts: 1 }).where("id", "=", "task_1").execute();
      await db.selectFrom("tasks").selectAll().where("id", "=", "task_1").execute();
      await sql`select 1`.execute(db);
      assert.deepEqual(cached(), ["task_1", "task_2", "task_3"], "reads and other tables change nothing");

      const ticket = cache.begin();
      await db.insertInto("kv").values({ key: "k", value: "v", updated_at: 1 }).execute();
      cache.fill(ticket, live("acct_a"), "task_9", value("task_9"));
      assert.ok(cache.get(live("acct_a"), "task_9"), "an insert elsewhere does not stop a fill");
    } finally {
      await handle.close();
      await database.drop();
    }
  });

  test("SQLite's data_version moves on another connection's commit, not on our own", async () => {
    const database = await freshSqlite();
    const one = openDatabase(database.url);
    const two = openDatabase(database.url);
    try {
      await migrateToLatest(one.db, ALL_MIGRATIONS);
      const before = one.externalChanges!();
      await sql`insert into kv (key, value, updated_at) values ('a', 'b', 1)`.execute(one.db);
      assert.equal(one.externalChanges!(), before, "our own commit");
      await sql`insert into kv (key, value, updated_at) values ('c', 'd', 1)`.execute(two.db);
      assert.notEqual(one.externalChanges!(), before, "another connection's commit");
    } finally {
      await two.close();
      await one.close();
      await database.drop();
    }
  });
});

test("If-None-Match: exact, listed, weak and * match; others do not", () => {
  assert.equal(matchesEtag(undefined, '"a"'), false);
  assert.equal(matchesEtag('"a"', '"a"'), true);
  assert.equal(matchesEtag('"x", "a"', '"a"'), true);
  assert.equal(matchesEtag('W/"a"', '"a"'), true);
  assert.equal(matchesEtag("*", '"a"'), true);
  assert.equal(matchesEtag('"b"', '"a"'), false);
  assert.equal(matchesEtag("a", '"a"'), false);
});
