import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/** Declared headers are parsed, validated and documented by the route declaration (http/route.ts). */
describe("declared request headers", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());

  const submit = (key: string) =>
    t.api("/v1/video/generations", {
      method: "POST",
      headers: { "idempotency-key": key },
      json: {
        model: "seedance-1-5-pro-with-audio",
        prompt: "a lighthouse at dusk",
        metadata: { duration: 5 },
      },
    });

  test("a malformed Idempotency-Key is the contract's 400 naming the header, on both doors", async () => {
    for (const [path, json] of [
      ["/v1/video/generations", { model: "seedance-1-5-pro-with-audio", prompt: "x" }],
      ["/v1/videos", { model: "seedance-1-5-pro-with-audio", prompt: "x" }],
    ] as const) {
      const response = await t.api(path, {
        method: "POST",
        headers: { "idempotency-key": "has space" },
        json,
      });
      assert.equal(response.status, 400, path);
      const { error } = (await response.json()) as {
        error: { code: string; param: string; message: string };
      };
      assert.equal(error.code, "invalid_idempotency_key");
      assert.equal(error.param, "Idempotency-Key");
      assert.match(error.message, /printable ASCII/);
    }
  });

  test("a valid Idempotency-Key replays the same task", async () => {
    const first = await submit("order-42");
    assert.equal(first.status, 200);
    const again = await submit("order-42");
    assert.equal(again.headers.get("idempotent-replayed"), "true");
    assert.equal(
      ((await again.json()) as { task_id: string }).task_id,
      ((await first.json()) as { task_id: string }).task_id,
    );
  });

  test("If-None-Match is read from the declaration: 304 while unchanged", async () => {
    const id = ((await (await submit("etag-1")).json()) as { task_id: string }).task_id;
    // A finished task no longer changes: the conditional GET must be a 304.
    await (await t.api(`/v1/video/generations/${id}/cancel`, { method: "POST" })).arrayBuffer();
    const got = await t.api(`/v1/video/generations/${id}`);
    const etag = got.headers.get("etag")!;
    await got.arrayBuffer();
    const again = await t.api(`/v1/video/generations/${id}`, { headers: { "if-none-match": etag } });
    assert.equal(again.status, 304);
  });

  test("the document lists the headers with their schema", async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        Record<string, { parameters?: Array<{ name: string; in: string; schema: { pattern?: string } }> }>
      >;
    };
    const submitParams = doc.paths["/v1/video/generations"]!.post!.parameters!;
    const header = submitParams.find((p) => p.in === "header" && p.name === "Idempotency-Key");
    assert.ok(header?.schema.pattern, JSON.stringify(submitParams));
    const getParams = doc.paths["/v1/video/generations/{task_id}"]!.get!.parameters!;
    assert.ok(getParams.some((p) => p.in === "header" && p.name === "If-None-Match"));
  });
});
