/**
 * A status change made by a worker reaches SSE clients of another (API) process at once, through
 * Postgres LISTEN/NOTIFY. The API process re-reads a task on its own only every 15 s when the
 * bridge is up, so every update that arrives sooner was announced by the worker.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { freshPostgres, POSTGRES_URL, type TestDatabase } from "../helpers/databases.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const PGBOSS_SCHEMA = `pgb_sse_${process.pid}_${Date.now() % 1_000_000}`;

describe("SSE across processes", () => {
  let database: TestDatabase;
  let api: TestServer;
  let worker: TestServer;

  before(async () => {
    database = await freshPostgres();
    const shared = {
      databaseUrl: database.url,
      pgbossSchema: PGBOSS_SCHEMA,
      secret: "sse-across-test-secret-of-both-processes",
    };
    api = await startTestServer({ ...shared, workers: false });
    worker = await startTestServer(shared);
  });
  after(async () => {
    await api?.stop();
    await worker?.stop();
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`drop schema if exists ${PGBOSS_SCHEMA} cascade`);
    await client.end();
    await database?.drop();
  });

  test("an SSE stream on the API process follows a render done by a worker process, as it happens", async () => {
    const submitted = await api.api("/v1/video/generations", {
      method: "POST",
      json: { model: "seedance-1-5-pro-no-audio", prompt: "a slow push-in over a quiet sea", seconds: 4 },
    });
    assert.equal(submitted.status, 200, await submitted.clone().text());
    const { task_id } = (await submitted.json()) as { task_id: string };
    // The API process runs no jobs: whatever it hears about the task from now on, a worker announced.
    assert.equal(api.server.services.events.crossProcess, true);
    let announced = 0;
    const off = api.server.services.events.subscribe(task_id, () => announced++);

    const opened = Date.now();
    const stream = await api.api(`/v1/video/generations/${task_id}/events`);
    assert.equal(stream.status, 200);
    const arrivals: { at: number; event: string; data: Record<string, unknown> }[] = [];
    const decoder = new TextDecoder();
    let buffer = "";
    for await (const chunk of stream.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf("\n\n");
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.+)$/m.exec(block)?.[1];
        const data = /^data: (.+)$/m.exec(block)?.[1];
        if (event && data) arrivals.push({ at: Date.now() - opened, event, data: JSON.parse(data) });
        end = buffer.indexOf("\n\n");
      }
    }
    off();
    assert.ok(announced >= 2, `the worker announced its start and finish (${announced} announcements)`);
    const tasks = arrivals.filter((a) => a.event === "task");
    const done = arrivals.find((a) => a.event === "done");
    assert.ok(done, "the stream ended with a done event");
    assert.equal(done.data.status, "succeeded");
    assert.ok(
      done.at < 14_000,
      `done arrived ${done.at} ms after the stream opened: announced, not found by the 15 s resync`,
    );
    assert.ok(
      tasks.length >= 3,
      `several updates as they happened (${JSON.stringify(tasks.map((t) => [t.at, t.data.status, t.data.progress]))})`,
    );
    assert.equal(tasks.at(-1)!.data.status, "succeeded");
    const running = tasks.filter((t) => t.data.status === "running");
    assert.ok(running.length >= 1, "the worker's start and progress reached the stream");
  });
});
