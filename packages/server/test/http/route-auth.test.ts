import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import Fastify from "fastify";
import { z } from "zod";
import { route } from "../../src/http/route.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/**
 * A route's declared `auth` is what it enforces (http/route.ts), for every route the server
 * registers: no route relies on a hook of its plugin to be admin-only, and none can be declared
 * keyed while sitting where no key is checked.
 */
describe("routes enforce their declared auth", () => {
  let t: TestServer;
  let customerKey: string;
  let testModeKey: string;
  before(async () => {
    t = await startTestServer();
    customerKey = await t.newAccountKey("customer");
    testModeKey = await t.newAccountKey("tester", true);
  });
  after(() => t.stop());

  const call = (method: string, url: string, key?: string) => {
    const path = url.replace(/:(\w+)/g, "x_$1");
    const hasBody = ["POST", "PUT", "PATCH"].includes(method);
    return fetch(`${t.url}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(hasBody ? { "content-type": "application/json" } : {}),
      },
      body: hasBody ? "{}" : undefined,
    });
  };

  test("every admin route refuses a customer's key and a test-mode key with 403", async () => {
    const admin = t.server.routes.filter((r) => r.spec?.auth === "admin");
    assert.ok(admin.length >= 15, `only ${admin.length} admin routes`);
    for (const { method, url } of admin) {
      const customer = await call(method, url, customerKey);
      assert.equal(customer.status, 403, `${method} ${url} with a customer key`);
      assert.equal(((await customer.json()) as { error: { code: string } }).error.code, "admin_only");
      const tester = await call(method, url, testModeKey);
      assert.equal(tester.status, 403, `${method} ${url} with a test-mode key`);
      assert.equal(((await tester.json()) as { error: { code: string } }).error.code, "test_mode_key");
    }
  });

  test("every keyed or operator route answers 401 without a key; every public one does not", async () => {
    const declared = t.server.routes.filter((r) => r.spec);
    for (const { method, url, spec } of declared) {
      const response = await call(method, url);
      await response.arrayBuffer();
      if (spec!.auth === "key" || spec!.auth === "admin" || spec!.auth === "operator") {
        assert.equal(response.status, 401, `${method} ${url} without a key`);
      } else {
        assert.notEqual(response.status, 401, `${method} ${url} is declared ${spec!.auth}`);
      }
    }
  });

  test("a keyed route declared outside /v1/ (where no key is checked) fails at registration", () => {
    const app = Fastify();
    assert.throws(
      () =>
        route(app, {
          method: "GET",
          url: "/admin/oops",
          operationId: "oops",
          summary: "a mistake",
          tag: "Test",
          auth: "admin",
          response: z.object({}),
          errors: [],
        })(async () => ({})),
      /keyed routes live under \/v1\//,
    );
    assert.throws(
      () =>
        route(app, {
          method: "GET",
          url: "/v1/open",
          operationId: "open",
          summary: "a mistake",
          tag: "Test",
          auth: "public",
          response: z.object({}),
          errors: [],
        })(async () => ({})),
      /keyed routes live under \/v1\//,
    );
  });
});
