import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BAD_SUBMITS } from "../fixtures/bad-submits.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/** Every submit rule of docs/api.md §3, sent over real HTTP: status, type, code and param must match. */
describe("submit validation over HTTP", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ workers: false });
  });
  after(() => t.stop());

  test("the rule table covers at least 40 cases", () => {
    assert.ok(BAD_SUBMITS.length >= 40, `only ${BAD_SUBMITS.length}`);
  });

  for (const c of BAD_SUBMITS) {
    test(`${c.status} ${c.code} — ${c.name}`, async () => {
      const before = (await (await t.api("/v1/video/generations?limit=100")).json()) as { data: unknown[] };
      const res = await t.api("/v1/video/generations", {
        method: "POST",
        headers: { "content-type": "application/json", ...(c.headers ?? {}) },
        body: c.rawBody ?? JSON.stringify(c.body),
      });
      const text = await res.text();
      assert.equal(res.status, c.status, text);
      const { error } = JSON.parse(text) as { error: Record<string, unknown> };
      assert.equal(error.type, c.type, text);
      assert.equal(error.code, c.code, text);
      assert.equal(error.param, c.param, text);
      assert.equal(typeof error.message, "string");
      assert.ok(String(error.message).length >= 15, `message too terse: ${error.message}`);
      const after = (await (await t.api("/v1/video/generations?limit=100")).json()) as { data: unknown[] };
      assert.equal(after.data.length, before.data.length, "a refused request creates no task");
    });
  }

  test("unknown top-level fields are ignored, not rejected", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: { model: "seedance-1-5-pro-no-audio", prompt: "x y z", future_field: { a: 1 }, n: 3 },
    });
    assert.equal(res.status, 200, await res.clone().text());
  });

  test("metadata may be a JSON string holding an object; compatibility top-level fields work", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "seedance-1-5-pro-no-audio",
        prompt: "a JSON-string metadata",
        duration: 6,
        metadata: JSON.stringify({ ratio: "9:16", resolution: "480p" }),
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { task_id } = (await res.json()) as { task_id: string };
    const task = (await (await t.api(`/v1/video/generations/${task_id}`)).json()) as Record<string, unknown>;
    assert.equal(task.seconds, "6");
    assert.equal((task.metadata as Record<string, unknown>).ratio, "9:16");
    assert.equal((task.metadata as Record<string, unknown>).callback_url, undefined);
  });

  test("callback_url is persisted but not echoed in metadata", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "seedance-1-5-pro-no-audio",
        prompt: "with a callback",
        metadata: { callback_url: "https://example.com/hooks/video" },
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { task_id } = (await res.json()) as { task_id: string };
    const row = await t.server.services.taskRepo.getById(task_id);
    assert.equal(row?.callback_url, "https://example.com/hooks/video");
    const task = (await (await t.api(`/v1/video/generations/${task_id}`)).json()) as Record<string, unknown>;
    assert.equal(JSON.stringify(task).includes("example.com/hooks"), false);
  });

  test("a wrong Content-Type is a 415 with the documented error shape", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      headers: { "content-type": "text/plain" },
      body: "model=x",
    });
    assert.equal(res.status, 415);
    const { error } = (await res.json()) as { error: Record<string, unknown> };
    assert.equal(error.type, "invalid_request_error");
  });
});
