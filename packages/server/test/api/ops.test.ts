import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { startTestServer, type TestServer } from "../helpers/server.ts";

describe("operability endpoints", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ workers: false });
  });
  after(() => t.stop());

  test("healthz and readyz", async () => {
    assert.deepEqual(await (await fetch(`${t.url}/healthz`)).json(), { status: "ok" });
    const ready = await fetch(`${t.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { store: "ok", http: "ok" });
  });

  test("metrics expose request latency, tasks and queue depth in Prometheus format", async () => {
    await t.api("/v1/video/generations", {
      method: "POST",
      json: { model: "seedance-1-5-pro-no-audio", prompt: "metrics" },
    });
    const res = await t.api("/metrics");
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/plain/);
    const text = await res.text();
    assert.match(
      text,
      /vidrelay_http_request_duration_seconds_bucket\{.*route="\/v1\/video\/generations".*\}/,
    );
    assert.match(
      text,
      /vidrelay_tasks\{status="submitted",model="seedance-1-5-pro-no-audio",provider="local"\} 1/,
    );
    assert.match(text, /vidrelay_queue_jobs\{kind="render",status="queued"\} 1/);
  });

  test("every response carries a request id; errors use the documented shape", async () => {
    const res = await fetch(`${t.url}/v1/nope`, { headers: { authorization: `Bearer ${t.key}` } });
    assert.equal(res.status, 404);
    assert.match(res.headers.get("x-request-id") ?? "", /^req_/);
    const { error } = (await res.json()) as { error: Record<string, unknown> };
    assert.deepEqual(Object.keys(error).sort(), ["code", "message", "param", "type"]);
    const echoed = await fetch(`${t.url}/healthz`, { headers: { "x-request-id": "trace-123" } });
    assert.equal(echoed.headers.get("x-request-id"), "trace-123");
  });

  test("/openapi.json documents every route from the zod schemas; /docs serves the reference", async () => {
    const doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
      servers: Array<{ url: string }>;
    };
    assert.equal(doc.openapi, "3.1.0");
    assert.equal(doc.servers[0]?.url, t.url);
    for (const path of [
      "/v1/files",
      "/v1/files/{file_id}",
      "/v1/video/generations",
      "/v1/video/generations/{task_id}",
      "/v1/video/generations/{task_id}/cancel",
      "/v1/video/generations/{task_id}/content",
      "/v1/video/generations/{task_id}/events",
      "/v1/models",
    ]) {
      assert.ok(doc.paths[path], `missing ${path}`);
    }
    const submit = doc.components.schemas.SubmitBody;
    assert.ok(submit?.properties?.model && submit.properties.metadata && submit.properties.seconds);
    assert.ok(doc.components.schemas.Task?.properties?.status);
    // Every $ref resolves.
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? [];
    for (const ref of refs) assert.ok(doc.components.schemas[ref.split("/").pop()!], ref);

    const docs = await fetch(`${t.url}/docs`);
    assert.equal(docs.status, 200);
    const html = await docs.text();
    assert.match(html, /<html/i);
    assert.match(html, /openapi\.json/);
    assert.doesNotMatch(html, /cdn\.jsdelivr|unpkg\.com/, "the reference page needs no CDN");
  });

  test("/v1/models lists the catalog with capabilities, served by the local engine", async () => {
    const res = await t.api("/v1/models");
    const body = (await res.json()) as { object: string; data: Array<Record<string, unknown>> };
    assert.equal(body.object, "list");
    const ids = body.data.map((m) => m.id);
    for (const id of [
      "seedance-1-5-pro-with-audio",
      "seedance-1-5-pro-no-audio",
      "doubao-seedance-2-0-1080p",
      "happyhorse-1.0-i2v",
    ]) {
      assert.ok(ids.includes(id), id);
    }
    const model = body.data.find((m) => m.id === "seedance-1-5-pro-with-audio")!;
    assert.equal(model.object, "model");
    assert.deepEqual(model.providers, ["local"]);
    assert.ok(model.seconds && model.resolutions && model.ratios && model.audio);
    assert.equal((await t.api("/v1/models/nope")).status, 404);
  });
});
