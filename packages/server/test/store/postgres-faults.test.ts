/**
 * Postgres going away under a running gateway: every backend terminated (`pg_terminate_backend`,
 * what a failover or an operator does), and Postgres "restarting" (connections dropped and refused
 * for seconds, through a fault-injecting proxy in front of the real server). The gateway must keep
 * its process, answer honestly while the store is away, and finish the work it accepted.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { randomAlphanumeric } from "../../src/util/ids.ts";
import { POSTGRES_URL } from "../helpers/databases.ts";
import { postgresUrlThrough, startTcpFaultProxy, type TcpFaultProxy } from "../helpers/fault-proxy.ts";
import { startTestServer, type TestServer, waitForTask } from "../helpers/server.ts";

const SUBMIT = {
  model: "seedance-1-5-pro-with-audio",
  prompt: "a quiet harbour at dawn",
  seconds: "4",
  metadata: { ratio: "16:9", resolution: "480p" },
};

/** A database of our own, so terminating "every backend of the database" touches no other suite. */
async function privateDatabase(): Promise<{ name: string; url: string; drop(): Promise<void> }> {
  const name = `vidrelay_faults_${randomAlphanumeric(8).toLowerCase()}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`drop database if exists ${name} with (force)`);
      await client.end();
    },
  };
}

async function terminateBackends(database: string): Promise<number> {
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    const { rows } = await admin.query(
      "select pg_terminate_backend(pid) as done from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()",
      [database],
    );
    return rows.filter((r) => r.done).length;
  } finally {
    await admin.end();
  }
}

async function submitAndFinish(t: TestServer): Promise<Record<string, unknown>> {
  const res = await t.api("/v1/video/generations", {
    method: "POST",
    json: SUBMIT,
    headers: { "idempotency-key": `k-${randomAlphanumeric(12)}` },
  });
  assert.equal(res.status, 200, await res.clone().text());
  const { task_id } = (await res.json()) as { task_id: string };
  return waitForTask(t, task_id, { timeoutMs: 60_000 });
}

describe("every Postgres backend terminated under a running gateway", () => {
  let database: Awaited<ReturnType<typeof privateDatabase>>;
  let t: TestServer;
  const exits: unknown[] = [];
  const onUncaught = (error: unknown) => exits.push(error);

  before(async () => {
    database = await privateDatabase();
    // An unhandled 'error' event would end this test process; record it instead, to fail on it.
    process.on("uncaughtException", onUncaught);
    t = await startTestServer({ databaseUrl: database.url, secret: "s".repeat(32) });
  });

  after(async () => {
    process.off("uncaughtException", onUncaught);
    await t?.stop();
    await database?.drop();
  });

  test("the process survives, keeps serving, and runs new work (twice)", async () => {
    assert.equal((await submitAndFinish(t)).status, "succeeded");
    for (let round = 0; round < 2; round++) {
      // Traffic in flight while the backends go: connections checked out by a transaction between
      // two statements are the ones whose 'error' had no listener.
      let busy = true;
      const traffic = Array.from({ length: 8 }, async () => {
        while (busy) {
          await t.api("/v1/video/generations", { method: "POST", json: SUBMIT }).then(
            (r) => r.body?.cancel(),
            () => {},
          );
          await t.api("/v1/video/generations?limit=5").then(
            (r) => r.body?.cancel(),
            () => {},
          );
        }
      });
      await sleep(300);
      const killed = await terminateBackends(database.name);
      await sleep(200);
      busy = false;
      await Promise.all(traffic);
      assert.ok(killed >= 2, `expected the gateway's connections to be terminated, got ${killed}`);
      await sleep(300);
      assert.deepEqual(exits, [], "an error escaped while the connections dropped");
      const models = await t.api("/v1/models");
      assert.equal(models.status, 200, "a read right after the drop is served (retried on a new connection)");
      const ready = await t.api("/readyz");
      assert.equal(ready.status, 200);
      const task = await submitAndFinish(t);
      assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    }
    assert.deepEqual(exits, []);
  });
});

describe("Postgres restarting under an API process and a worker", () => {
  let database: Awaited<ReturnType<typeof privateDatabase>>;
  let proxy: TcpFaultProxy;
  let api: TestServer;
  let worker: TestServer;

  before(async () => {
    database = await privateDatabase();
    proxy = await startTcpFaultProxy({ host: "127.0.0.1", port: Number(new URL(POSTGRES_URL).port || 5432) });
    const databaseUrl = postgresUrlThrough(proxy, database.url);
    const shared = { databaseUrl, secret: "s".repeat(32) };
    api = await startTestServer({ ...shared, workers: false });
    worker = await startTestServer(shared);
  });

  after(async () => {
    await api?.stop();
    await worker?.stop();
    await proxy?.close();
    await database?.drop();
  });

  test("readiness says so while it is down; accepted work finishes; notifications and jobs resume", async () => {
    const before = await api.api("/v1/video/generations", { method: "POST", json: SUBMIT });
    assert.equal(before.status, 200);
    const accepted = ((await before.json()) as { task_id: string }).task_id;

    proxy.restart(3000);
    await sleep(500);
    const ready = await api.api("/readyz");
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { checks: Record<string, string> };
    assert.equal(body.checks.store, "unreachable", "readiness names no address or error text");
    const read = await api.api(`/v1/video/generations/${accepted}`);
    assert.equal(read.status, 503);
    const error = (await read.json()) as { error: { code: string; type: string } };
    assert.equal(error.error.code, "store_unavailable");
    assert.match(read.headers.get("retry-after") ?? "", /^\d+$/);

    // Back up: readiness recovers on its own, the accepted task finishes, and a new one is
    // carried by the worker's re-established queue and seen through the API's re-established
    // LISTEN (its SSE stream ends with the task, not by the 15 s resync).
    let readyAgain = false;
    for (let i = 0; i < 40 && !readyAgain; i++) {
      await sleep(250);
      readyAgain = (await api.api("/readyz")).status === 200;
    }
    assert.ok(readyAgain, "readiness came back");
    assert.equal((await waitForTask(api, accepted, { timeoutMs: 60_000 })).status, "succeeded");

    const res = await api.api("/v1/video/generations", { method: "POST", json: SUBMIT });
    const { task_id } = (await res.json()) as { task_id: string };
    const started = Date.now();
    const events = await api.api(`/v1/video/generations/${task_id}/events`);
    const text = await events.text();
    assert.match(text, /event: done/);
    assert.ok(Date.now() - started < 14_000, "the stream ended by notification, not by the 15 s resync");
    assert.ok(proxy.stats().dropped > 0);
  });
});

describe("a process started while Postgres restarts", () => {
  test("waits for it instead of exiting", async () => {
    const database = await privateDatabase();
    const proxy = await startTcpFaultProxy({
      host: "127.0.0.1",
      port: Number(new URL(POSTGRES_URL).port || 5432),
    });
    try {
      proxy.refuse(2500);
      const started = Date.now();
      const t = await startTestServer({
        databaseUrl: postgresUrlThrough(proxy, database.url),
        workers: false,
      });
      try {
        assert.ok(Date.now() - started >= 2000, "it waited for the store");
        assert.ok(proxy.stats().refused > 0);
        assert.equal((await t.api("/readyz")).status, 200);
      } finally {
        await t.stop();
      }
    } finally {
      await proxy.close();
      await database.drop();
    }
  });
});
