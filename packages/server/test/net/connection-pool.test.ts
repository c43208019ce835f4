/**
 * Keep-alive reuse through safeFetch's `pool`: connections are reused per checked address, every
 * request is still resolved and vetted, and a changed DNS answer never rides an old connection.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { parseAllowList } from "../../src/net/address-policy.ts";
import { ConnectionPool } from "../../src/net/connection-pool.ts";
import type { ResolvedAddress } from "../../src/net/pinned-http.ts";
import { safeFetch, safeFetchBuffer } from "../../src/net/safe-fetch.ts";
import { refusedWith } from "./refused.ts";

describe("ConnectionPool under safeFetch", () => {
  /** Connections accepted per local address (127.0.0.1 and 127.0.0.2 share one port). */
  const connections = new Map<string, number>();
  const servers: Server[] = [];
  let port = 0;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);

  before(async () => {
    for (const host of ["127.0.0.1", "127.0.0.2"]) {
      const server = createServer((req, res) => {
        req.resume();
        req.on("end", () => {
          if (req.url !== "/slow") return res.end(`served on ${req.socket.localAddress}`);
          res.write("first half, ");
          setTimeout(() => res.end("second half"), 150);
        });
      });
      server.on("connection", (socket) => {
        connections.set(host, (connections.get(host) ?? 0) + 1);
        socket.on("error", () => {});
      });
      await new Promise<void>((resolve) => server.listen(port, host, resolve));
      port = (server.address() as AddressInfo).port;
      servers.push(server);
    }
    process.on("warning", onWarning);
  });
  after(async () => {
    process.off("warning", onWarning);
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  const allow = () => parseAllowList("127.0.0.1,127.0.0.2");
  const resolvingTo = (answer: { current: string }) => async (): Promise<ResolvedAddress[]> => [
    { address: answer.current, family: 4 },
  ];
  const post = (pool: ConnectionPool | undefined, lookup?: () => Promise<ResolvedAddress[]>) =>
    safeFetchBuffer(`http://hooks.test:${port}/hook`, {
      method: "POST",
      body: "{}",
      timeoutMs: 3000,
      maxBytes: 1024,
      maxRedirects: 0,
      allow: allow(),
      lookup: lookup ?? resolvingTo({ current: "127.0.0.1" }),
      pool,
    });

  /** A GET to 127.0.0.1 whose body the test reads itself. */
  const streamed = (pool: ConnectionPool, path: string) =>
    safeFetch(`http://hooks.test:${port}${path}`, {
      timeoutMs: 3000,
      maxBytes: 1024,
      allow: allow(),
      lookup: resolvingTo({ current: "127.0.0.1" }),
      pool,
    });

  test("without a pool every request opens a connection; with one, sequential requests share one", async () => {
    connections.clear();
    for (let i = 0; i < 5; i++) await post(undefined);
    assert.equal(connections.get("127.0.0.1"), 5);

    connections.clear();
    const pool = new ConnectionPool();
    try {
      for (let i = 0; i < 20; i++) {
        const res = await post(pool);
        assert.equal(res.body.toString(), "served on 127.0.0.1");
      }
      assert.equal(connections.get("127.0.0.1"), 1);
      assert.deepEqual(
        warnings.map((w) => w.message),
        [],
        "a reused connection gathers no listeners",
      );
    } finally {
      pool.close();
    }
  });

  test("a changed DNS answer is checked and connects to the new address; the old connection is not used for it", async () => {
    connections.clear();
    const answer = { current: "127.0.0.1" };
    const lookup = resolvingTo(answer);
    const pool = new ConnectionPool();
    try {
      assert.equal((await post(pool, lookup)).address, "127.0.0.1");
      answer.current = "127.0.0.2";
      const moved = await post(pool, lookup);
      assert.equal(moved.address, "127.0.0.2");
      assert.equal(moved.body.toString(), "served on 127.0.0.2");
      answer.current = "127.0.0.1";
      assert.equal((await post(pool, lookup)).body.toString(), "served on 127.0.0.1");
      assert.deepEqual(Object.fromEntries(connections), { "127.0.0.1": 1, "127.0.0.2": 1 });

      // The host now resolves to a private address that is not allowed: refused before any
      // socket is picked, although a pooled connection for this host name is idle.
      answer.current = "10.1.2.3";
      await refusedWith(post(pool, lookup), "blocked_address");
      assert.deepEqual(Object.fromEntries(connections), { "127.0.0.1": 1, "127.0.0.2": 1 });
    } finally {
      pool.close();
    }
  });

  test("concurrent requests open up to one connection each, then reuse them", async () => {
    connections.clear();
    const pool = new ConnectionPool({ maxIdlePerAddress: 4 });
    try {
      for (let round = 0; round < 5; round++) {
        const answers = await Promise.all(Array.from({ length: 4 }, () => post(pool)));
        for (const a of answers) assert.equal(a.status, 200);
      }
      const opened = connections.get("127.0.0.1") ?? 0;
      assert.ok(opened >= 1 && opened <= 4, `20 requests, 4 at a time, opened ${opened} connections`);
    } finally {
      pool.close();
    }
  });

  test("dropping the least recently used agent does not cut a request still in flight on it", async () => {
    const pool = new ConnectionPool({ maxAgents: 1 });
    try {
      const slow = await streamed(pool, "/slow");
      // A request to another address takes the only agent place while the first body is unread.
      assert.equal((await post(pool, resolvingTo({ current: "127.0.0.2" }))).status, 200);
      let text = "";
      for await (const chunk of slow.body) text += chunk;
      assert.equal(text, "first half, second half");
    } finally {
      pool.close();
    }
  });

  test("a streamed body that is read to the end hands its connection back", async () => {
    connections.clear();
    const pool = new ConnectionPool();
    try {
      for (let i = 0; i < 3; i++) {
        const res = await streamed(pool, "/hook");
        for await (const _ of res.body);
      }
      assert.equal(connections.get("127.0.0.1"), 1);
    } finally {
      pool.close();
    }
  });
});
