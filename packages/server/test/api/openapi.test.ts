import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { undocumented } from "../../src/api/openapi.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

interface Operation {
  operationId: string;
  parameters?: Array<{ name: string; in: string }>;
  requestBody?: unknown;
  responses: Record<string, unknown>;
}

/**
 * The document is built from the routes as registered, so these hold for every route the server
 * serves, admin and billing included: a route added without a declaration fails here.
 */
describe("/openapi.json is generated from the registered routes", () => {
  let t: TestServer;
  let doc: {
    paths: Record<string, Record<string, Operation>>;
    components: { schemas: Record<string, unknown> };
  };
  before(async () => {
    t = await startTestServer();
    doc = (await (await fetch(`${t.url}/openapi.json`)).json()) as typeof doc;
  });
  after(() => t.stop());

  test("every registered route is declared, and every declared route is in the document", () => {
    assert.deepEqual(
      undocumented(t.server.routes).map((r) => `${r.method} ${r.url}`),
      [],
      "routes registered without a declaration (use http/route.ts `route`)",
    );
    const declared = t.server.routes.filter((r) => r.spec);
    assert.ok(declared.length >= 45, `only ${declared.length} declared routes`);
    for (const { method, url } of declared) {
      const path = url.replace(/:(\w+)/g, "{$1}");
      assert.ok(doc.paths[path]?.[method.toLowerCase()], `${method} ${path} is missing from the document`);
    }
  });

  test("the admin, billing and channel routes are documented with their bodies", () => {
    for (const [path, method] of [
      ["/v1/admin/keys", "post"],
      ["/v1/admin/accounts", "get"],
      ["/v1/admin/keys/{key_id}/revoke", "post"],
      ["/v1/admin/channels", "post"],
      ["/v1/admin/channels/{channel_id}", "patch"],
      ["/v1/admin/channels/{channel_id}/test", "post"],
      ["/v1/admin/prices/{model}", "put"],
      ["/v1/admin/accounts/{account_id}/topup", "post"],
      ["/v1/admin/accounts/{account_id}/limits", "put"],
      ["/v1/admin/keys/{key_id}/limits", "get"],
      ["/v1/balance", "get"],
      ["/v1/usage", "get"],
      ["/hooks/upstream/{channel_id}/{token}", "post"],
    ] as const) {
      assert.ok(doc.paths[path]?.[method], `${method} ${path}`);
    }
    assert.ok(doc.paths["/v1/admin/keys"]!.post!.requestBody, "the create-key body is documented");
    const usageParams = doc.paths["/v1/usage"]!.get!.parameters!.map((p) => p.name);
    for (const name of ["start_date", "end_date", "group_by", "account_id"])
      assert.ok(usageParams.includes(name));
  });

  test("GET a task documents its conditional form: If-None-Match and 304", () => {
    const get = doc.paths["/v1/video/generations/{task_id}"]!.get!;
    assert.ok(get.parameters?.some((p) => p.name === "If-None-Match" && p.in === "header"));
    assert.ok(get.responses["304"], "304 is documented");
    assert.ok(get.responses["200"]);
  });

  test("operation ids are unique, path parameters match the path, and every $ref resolves", () => {
    const ids = Object.values(doc.paths).flatMap((ops) => Object.values(ops).map((o) => o.operationId));
    assert.equal(new Set(ids).size, ids.length, "duplicate operationId");
    for (const [path, ops] of Object.entries(doc.paths)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const op of Object.values(ops)) {
        const declared = (op.parameters ?? [])
          .filter((p) => p.in === "path")
          .map((p) => p.name)
          .sort();
        assert.deepEqual(declared, inPath, `${op.operationId}: path parameters`);
      }
    }
    const refs = JSON.stringify(doc).match(/#\/components\/schemas\/\w+/g) ?? [];
    for (const ref of refs) assert.ok(doc.components.schemas[ref.split("/").pop()!], ref);
  });

  test("the schema that documents a route validates it: the error names the field", async () => {
    const badLimit = await t.api("/v1/video/generations?limit=500");
    assert.equal(badLimit.status, 400);
    const { error } = (await badLimit.json()) as { error: Record<string, unknown> };
    assert.deepEqual(error, {
      message: "limit must be a whole number from 1 to 100",
      type: "invalid_request_error",
      code: "invalid_limit",
      param: "limit",
    });

    const badStatus = await t.api("/v1/files?limit=abc");
    assert.equal(((await badStatus.json()) as { error: { param: string } }).error.param, "limit");

    const badKey = await t.api("/v1/admin/keys", {
      method: "POST",
      json: { account_name: "x", test_mode: "yes" },
    });
    assert.equal(badKey.status, 400);
    const keyError = ((await badKey.json()) as { error: Record<string, unknown> }).error;
    assert.equal(keyError.code, "invalid_type");
    assert.equal(keyError.param, "test_mode");
    assert.equal(keyError.message, "test_mode must be true or false");

    const badChannel = await t.api("/v1/admin/channels", { method: "POST", json: { models: { a: 1 } } });
    assert.equal(badChannel.status, 400);
    assert.equal(((await badChannel.json()) as { error: { param: string } }).error.param, "models.a");

    const badStatusFilter = await t.api("/v1/video/generations?status=done");
    const statusError = ((await badStatusFilter.json()) as { error: Record<string, unknown> }).error;
    assert.equal(statusError.code, "invalid_status");
    assert.equal(statusError.param, "status");
    assert.match(String(statusError.message), /submitted, running, succeeded, failed/);
  });
});
