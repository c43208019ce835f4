/**
 * Smaller hardening findings, each with the behaviour that was wrong: event streams without bounds
 * that outlived a revoked key, a public /metrics reading every task per scrape, a refused callback
 * URL naming the private address its host resolves to, an idempotent replay answering with a
 * deleted task's id, and a Postgres deployment starting without its shared secret.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { startServer } from "../../src/server.ts";
import { freshPostgres } from "../helpers/databases.ts";
import { ADMIN_KEY, startTestServer, type TestServer } from "../helpers/server.ts";

const SUBMIT = { model: "seedance-1-5-pro-no-audio", prompt: "a windmill", seconds: "4" };

async function submit(t: TestServer, key = ADMIN_KEY, headers: Record<string, string> = {}) {
  const res = await t.api("/v1/video/generations", {
    method: "POST",
    json: SUBMIT,
    headers: { authorization: `Bearer ${key}`, ...headers },
  });
  return {
    status: res.status,
    body: (await res.json()) as { task_id: string; error?: { code: string; message: string } },
  };
}

describe("event streams are bounded and end with their key", () => {
  let t: TestServer;
  before(async () => {
    // No workers: tasks stay submitted, so their streams stay open.
    t = await startTestServer({ workers: false, maxStreamsPerKey: 2 });
  });
  after(() => t.stop());

  test("a key past its stream limit gets 429 too_many_streams with Retry-After", async () => {
    const ids = [
      (await submit(t)).body.task_id,
      (await submit(t)).body.task_id,
      (await submit(t)).body.task_id,
    ];
    const controllers = ids.slice(0, 2).map(() => new AbortController());
    const open = await Promise.all(
      controllers.map((c, i) => t.api(`/v1/video/generations/${ids[i]}/events`, { signal: c.signal })),
    );
    assert.deepEqual(
      open.map((r) => r.status),
      [200, 200],
    );
    const third = await t.api(`/v1/video/generations/${ids[2]}/events`);
    assert.equal(third.status, 429);
    assert.equal(((await third.json()) as { error: { code: string } }).error.code, "too_many_streams");
    assert.match(third.headers.get("retry-after") ?? "", /^\d+$/);
    for (const c of controllers) c.abort();
    await new Promise((r) => setTimeout(r, 200));
    const again = await t.api(`/v1/video/generations/${ids[2]}/events`);
    assert.equal(again.status, 200, "closing a stream frees its slot");
    await again.body?.cancel();
  });

  test("revoking a key ends its open streams", async () => {
    const key = await t.newAccountKey("streamer");
    const { task_id } = (await submit(t, key)).body;
    const res = await t.api(`/v1/video/generations/${task_id}/events`, {
      headers: { authorization: `Bearer ${key}` },
    });
    assert.equal(res.status, 200);
    const reading = res.text();
    const keys = (await (await t.api("/v1/admin/keys")).json()) as {
      data: Array<{ id: string; name: string; account_id: string }>;
    };
    const me = (await (await t.api("/v1/me", { headers: { authorization: `Bearer ${key}` } })).json()) as {
      key: { id: string };
    };
    assert.ok(keys.data.some((k) => k.id === me.key.id));
    await t.api(`/v1/admin/keys/${me.key.id}/revoke`, { method: "POST" });
    const started = Date.now();
    const text = await reading;
    assert.match(text, /event: error\ndata: .*invalid_api_key/);
    assert.ok(Date.now() - started < 5000, "the stream ended within a resync");
  });
});

describe("/metrics", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ workers: false, metricsToken: "m".repeat(24) });
  });
  after(() => t.stop());

  test("needs the metrics token or a live admin key", async () => {
    assert.equal((await fetch(`${t.url}/metrics`)).status, 401);
    const testKey = await t.newAccountKey("not-admin");
    assert.equal(
      (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${testKey}` } })).status,
      401,
    );
    assert.equal(
      (await fetch(`${t.url}/metrics`, { headers: { authorization: `Bearer ${"m".repeat(24)}` } })).status,
      200,
    );
    assert.equal((await t.api("/metrics")).status, 200);
  });

  test("scrapes do not each count the task table", async () => {
    const repo = t.server.services.taskRepo;
    const original = repo.countActive.bind(repo);
    let counts = 0;
    repo.countActive = async () => {
      counts++;
      return original();
    };
    try {
      for (let i = 0; i < 5; i++) assert.equal((await t.api("/metrics")).status, 200);
      assert.ok(counts <= 1, `${counts} counts for 5 scrapes`);
    } finally {
      repo.countActive = original;
    }
  });
});

describe("what errors give away", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ workers: false });
  });
  after(() => t.stop());

  test("a refused callback_url does not name the address its host resolves to", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: { ...SUBMIT, metadata: { callback_url: "http://localhost:9/hook" } },
    });
    const body = (await res.json()) as { error: { code: string; message: string; param: string } };
    assert.equal(res.status, 400);
    assert.equal(body.error.code, "invalid_callback_url");
    assert.equal(body.error.param, "metadata.callback_url");
    assert.doesNotMatch(body.error.message, /127\.0\.0\.1|::1/);
  });
});

describe("an Idempotency-Key whose task was deleted", () => {
  test("is a 409 by default, and starts over with idempotentReplayOfDeleted=new", async () => {
    for (const policy of ["conflict", "new"] as const) {
      const t = await startTestServer({ workers: false, idempotentReplayOfDeleted: policy });
      try {
        const first = await submit(t, ADMIN_KEY, { "idempotency-key": "nightly-42" });
        assert.equal((await t.api(`/v1/videos/${first.body.task_id}`, { method: "DELETE" })).status, 200);
        const again = await submit(t, ADMIN_KEY, { "idempotency-key": "nightly-42" });
        if (policy === "conflict") {
          assert.equal(again.status, 409);
          assert.equal(again.body.error?.code, "idempotency_task_deleted");
        } else {
          assert.equal(again.status, 200);
          assert.notEqual(again.body.task_id, first.body.task_id);
          assert.equal((await t.api(`/v1/video/generations/${again.body.task_id}`)).status, 200);
        }
      } finally {
        await t.stop();
      }
    }
  });
});

describe("a Postgres deployment", () => {
  test("does not start without VIDRELAY_SECRET, and says why", async () => {
    const database = await freshPostgres();
    try {
      const config = loadConfig(
        { databaseUrl: database.url, port: 0, logLevel: "silent", dataDir: "/tmp/vidrelay-nosecret" },
        {},
      );
      await assert.rejects(startServer(config), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /VIDRELAY_SECRET/);
        return true;
      });
    } finally {
      await database.drop();
    }
  });
});
