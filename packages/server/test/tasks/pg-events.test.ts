import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import pino from "pino";
import { TaskEvents } from "../../src/tasks/events.ts";
import { PgTaskEventBridge } from "../../src/tasks/pg-events.ts";
import { freshPostgres, POSTGRES_URL, type TestDatabase } from "../helpers/databases.ts";

const quiet = pino({ level: "silent" });

/** Resolves when `taskId` is announced on `events` (or rejects after `ms`). */
function heard(events: TaskEvents, taskId: string, ms = 5000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`${taskId} was not announced within ${ms} ms`));
    }, ms);
    const off = events.subscribe(taskId, () => {
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

describe("task notifications between processes (Postgres LISTEN/NOTIFY)", () => {
  let database: TestDatabase;
  const a = new TaskEvents();
  const b = new TaskEvents();
  let bridgeA: PgTaskEventBridge;
  let bridgeB: PgTaskEventBridge;

  before(async () => {
    database = await freshPostgres();
    bridgeA = await PgTaskEventBridge.start(database.url, a, quiet);
    bridgeB = await PgTaskEventBridge.start(database.url, b, quiet);
  });
  after(async () => {
    await bridgeA.close();
    await bridgeB.close();
    await database.drop();
  });

  test("a change in one process reaches the other's subscribers, and its own once", async () => {
    assert.equal(a.crossProcess, true);
    let local = 0;
    const offLocal = a.subscribe("task_one", () => local++);
    const there = heard(b, "task_one");
    a.changed("task_one");
    await there;
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(local, 1, "the sender's own NOTIFY is not heard as a second change");
    offLocal();
  });

  test("thousands of changes in one tick all arrive (split into payloads Postgres accepts)", async () => {
    const ids = Array.from({ length: 2000 }, (_, i) => `task_${String(i).padStart(32, "0")}`);
    const all = Promise.all(ids.map((id) => heard(b, id, 10_000)));
    for (const id of ids) a.changed(id);
    await all;
  });

  test("after the connection is cut, the bridge reconnects, subscribers re-read, and changes flow again", async () => {
    let resyncs = 0;
    const off = b.subscribe("task_watched", () => resyncs++);
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    const { rows } = await admin.query(
      "select pg_terminate_backend(pid) as killed from pg_stat_activity where application_name = $1",
      [`vidrelay-events-${bridgeB.origin}`],
    );
    await admin.end();
    assert.deepEqual(
      rows.map((r) => r.killed),
      [true],
    );
    const deadline = Date.now() + 10_000;
    while (resyncs === 0) {
      assert.ok(Date.now() < deadline, "the subscriber was never asked to re-read after the reconnect");
      await new Promise((r) => setTimeout(r, 50));
    }
    off();
    const there = heard(b, "task_after");
    a.changed("task_after");
    await there;
  });

  test("a closed bridge stops announcing: the events are local again", async () => {
    const c = new TaskEvents();
    const bridgeC = await PgTaskEventBridge.start(database.url, c, quiet);
    assert.equal(c.crossProcess, true);
    await bridgeC.close();
    assert.equal(c.crossProcess, false);
    const notHeard = heard(a, "task_from_closed", 500).then(
      () => "heard",
      () => "silent",
    );
    c.changed("task_from_closed");
    assert.equal(await notHeard, "silent");
  });

  test("a database that cannot be reached stops the start", async () => {
    await assert.rejects(
      PgTaskEventBridge.start("postgres://postgres@127.0.0.1:1/test", new TaskEvents(), quiet),
      /ECONNREFUSED/,
    );
  });
});
