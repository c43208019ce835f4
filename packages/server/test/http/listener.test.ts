import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, test } from "node:test";
import Fastify from "fastify";
import { Listener } from "../../src/http/listener.ts";

/**
 * The socket is bound before anything else starts (http/listener.ts): the configuration is final
 * before services are built, requests that arrive meanwhile wait, and a start that fails answers
 * them in the contract's shape.
 */
const limits = {
  host: "127.0.0.1",
  port: 0,
  publicUrl: "http://127.0.0.1:0",
  maxJsonBytes: 1_000_000,
  requestTimeoutSeconds: 30,
  idleTimeoutSeconds: 30,
  maxConnections: 100,
};

describe("the listener", () => {
  test("port 0: the final configuration carries the bound port; a set public URL is kept", async () => {
    const listener = await Listener.open(limits);
    try {
      assert.ok(listener.port > 0);
      const config = listener.finalConfig(limits, false);
      assert.equal(config.publicUrl, `http://127.0.0.1:${listener.port}`);
      assert.ok(Object.isFrozen(config));
      assert.equal(
        listener.finalConfig({ ...limits, publicUrl: "https://v.example" }, true).publicUrl,
        "https://v.example",
      );
    } finally {
      await listener.close();
    }
  });

  test("a request that arrives while the app starts waits for it, then is answered", async () => {
    const listener = await Listener.open(limits);
    const early = fetch(`http://127.0.0.1:${listener.port}/ping`);
    await new Promise((r) => setTimeout(r, 200)); // the request is held, not refused
    const app = Fastify({ serverFactory: listener.factory });
    app.get("/ping", async () => ({ ok: true }));
    await app.ready();
    listener.serve();
    const response = await early;
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), { ok: true });
    const stopped = listener.close();
    await app.close();
    await stopped;
  });

  test("a start that fails answers the waiting requests with a 503 in the error shape", async () => {
    const listener = await Listener.open(limits);
    const early = fetch(`http://127.0.0.1:${listener.port}/v1/models`);
    await new Promise((r) => setTimeout(r, 200));
    await listener.close();
    const response = await early;
    assert.equal(response.status, 503);
    const { error } = (await response.json()) as { error: { code: string; type: string } };
    assert.equal(error.code, "server_unavailable");
    assert.equal(error.type, "server_error");
  });

  test("a port in use fails at once with the listen error the CLI explains", async () => {
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as { port: number }).port;
    try {
      await assert.rejects(Listener.open({ ...limits, port }), (error: NodeJS.ErrnoException) => {
        assert.equal(error.code, "EADDRINUSE");
        assert.equal(error.syscall, "listen");
        return true;
      });
    } finally {
      taken.close();
    }
  });
});
