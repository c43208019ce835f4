import assert from "node:assert/strict";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { createSecureContext } from "node:tls";
import { parseAllowList } from "../../src/net/address-policy.ts";
import { checkTarget, type Resolver } from "../../src/net/pinned-http.ts";
import { safeFetch, safeFetchBuffer } from "../../src/net/safe-fetch.ts";
import { refusedWith } from "./refused.ts";
import { startServer, type TestServer } from "./servers.ts";
import { TEST_CERT, TEST_KEY } from "./tls-fixture.ts";

describe("safeFetch against loopback servers on the allow list", () => {
  let server: TestServer;
  let allow: ReturnType<typeof parseAllowList>;
  const opts = () => ({ timeoutMs: 3000, maxBytes: 1024, allow });

  before(async () => {
    server = await startServer((req, res, body) => {
      const url = new URL(req.url ?? "/", "http://x");
      const hop = url.pathname.match(/^\/hop\/(\d+)$/);
      if (hop) {
        const left = Number(hop[1]);
        if (left === 0) res.end("arrived");
        else {
          res.writeHead(302, { location: `/hop/${left - 1}` });
          res.end();
        }
        return;
      }
      switch (url.pathname) {
        case "/hello":
          res.end("hello world");
          return;
        case "/echo":
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ method: req.method, headers: req.headers, body }));
          return;
        case "/exactly-1024":
          res.end(Buffer.alloc(1024, 0x61));
          return;
        case "/big-declared":
          res.writeHead(200, { "content-length": String(10 * 1024 * 1024) });
          res.write(Buffer.alloc(1024));
          return; // never finishes: the client must not wait for it
        case "/big-chunked": {
          res.writeHead(200, { "content-type": "application/octet-stream" }); // no length: chunked
          const timer = setInterval(() => res.write(Buffer.alloc(256, 0x62)), 5);
          res.on("close", () => clearInterval(timer));
          return;
        }
        case "/never":
          return; // headers never come
        case "/trickle": {
          res.writeHead(200, { "content-length": "1000" });
          const timer = setInterval(() => res.write("x"), 50);
          res.on("close", () => clearInterval(timer));
          return;
        }
        case "/cut":
          res.writeHead(200, { "content-length": "1000" });
          res.write("only the beginning");
          setTimeout(() => res.destroy(), 20);
          return;
        case "/see-other":
          res.writeHead(303, { location: "/echo" });
          res.end();
          return;
        case "/temporary":
          res.writeHead(307, { location: "/echo" });
          res.end();
          return;
        case "/missing":
          res.writeHead(404);
          res.end("nope");
          return;
        default:
          res.writeHead(500);
          res.end();
      }
    });
    allow = parseAllowList(`127.0.0.1:${server.port}`);
  });
  after(() => server.close());

  test("an allowed loopback target is fetched", async () => {
    const res = await safeFetchBuffer(server.url("/hello"), opts());
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), "hello world");
    assert.equal(res.address, "127.0.0.1");
    assert.equal(res.url, server.url("/hello"));
    assert.equal(res.redirects, 0);
  });

  test("the same target without the allow list is refused", async () => {
    await refusedWith(
      safeFetch(server.url("/hello"), { timeoutMs: 3000, maxBytes: 1024 }),
      "blocked_address",
    );
  });

  test("method, headers and body are sent; Host is the URL's", async () => {
    const res = await safeFetchBuffer(server.url("/echo"), {
      ...opts(),
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Signature": "abc", Host: "evil.example" },
      body: '{"event":"done"}',
    });
    const seen = JSON.parse(res.body.toString());
    assert.equal(seen.method, "POST");
    assert.equal(seen.body, '{"event":"done"}');
    assert.equal(seen.headers["x-signature"], "abc");
    assert.equal(seen.headers["content-length"], "16");
    assert.equal(seen.headers.host, `127.0.0.1:${server.port}`);
  });

  test("size cap: a declared Content-Length over maxBytes → too_large before reading", async () => {
    const started = Date.now();
    const err = await refusedWith(safeFetch(server.url("/big-declared"), opts()), "too_large");
    assert.match(err.message, /10 MB, more than the 1 KB limit/);
    assert.ok(Date.now() - started < 2000);
  });

  test("size cap: a chunked body is cut off once it passes maxBytes → too_large", async () => {
    const res = await safeFetch(server.url("/big-chunked"), opts());
    assert.equal(res.status, 200);
    let received = 0;
    const err = await refusedWith(
      (async () => {
        for await (const chunk of res.body) received += (chunk as Buffer).length;
      })(),
      "too_large",
    );
    assert.ok(received <= 1024, `handed out ${received} bytes`);
    assert.match(err.message, /larger than the 1 KB limit/);
  });

  test("a body of exactly maxBytes is fine", async () => {
    const res = await safeFetchBuffer(server.url("/exactly-1024"), opts());
    assert.equal(res.body.length, 1024);
  });

  test("slow server: no headers within the deadline → timeout", async () => {
    const started = Date.now();
    const err = await refusedWith(safeFetch(server.url("/never"), { ...opts(), timeoutMs: 300 }), "timeout");
    const took = Date.now() - started;
    assert.ok(took >= 290 && took < 2000, `took ${took} ms`);
    assert.match(err.message, /within 300 ms/);
  });

  test("slow server: the deadline also covers the body", async () => {
    const res = await safeFetch(server.url("/trickle"), { ...opts(), timeoutMs: 400 });
    assert.equal(res.status, 200);
    await refusedWith(
      (async () => {
        for await (const _ of res.body);
      })(),
      "timeout",
    );
  });

  test("a connection cut mid-body → connection_failed", async () => {
    await refusedWith(safeFetchBuffer(server.url("/cut"), opts()), "connection_failed");
  });

  test("nothing listening → connection_failed", async () => {
    const closed = await startServer(() => {});
    const url = closed.url("/");
    const closedAllow = parseAllowList(`127.0.0.1:${closed.port}`);
    await closed.close();
    const err = await refusedWith(
      safeFetch(url, { timeoutMs: 3000, maxBytes: 10, allow: closedAllow }),
      "connection_failed",
    );
    assert.match(err.message, /ECONNREFUSED/);
  });

  test("redirects are followed up to maxRedirects", async () => {
    const res = await safeFetchBuffer(server.url("/hop/3"), { ...opts(), maxRedirects: 3 });
    assert.equal(res.body.toString(), "arrived");
    assert.equal(res.redirects, 3);
    assert.equal(res.url, server.url("/hop/0"));
  });

  test("one redirect too many → too_many_redirects", async () => {
    const err = await refusedWith(
      safeFetch(server.url("/hop/4"), { ...opts(), maxRedirects: 3 }),
      "too_many_redirects",
    );
    assert.match(err.message, /more than 3 times/);
  });

  test("the default is 3 redirects", async () => {
    await refusedWith(safeFetch(server.url("/hop/4"), opts()), "too_many_redirects");
    assert.equal((await safeFetchBuffer(server.url("/hop/3"), opts())).redirects, 3);
  });

  test("maxRedirects 0 returns the redirect itself", async () => {
    const res = await safeFetchBuffer(server.url("/hop/2"), { ...opts(), maxRedirects: 0 });
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, "/hop/1");
  });

  test("303 turns a POST into a GET without body; 307 keeps both", async () => {
    const post = { ...opts(), method: "POST", body: "payload", headers: { "content-type": "text/plain" } };
    const seeOther = JSON.parse((await safeFetchBuffer(server.url("/see-other"), post)).body.toString());
    assert.equal(seeOther.method, "GET");
    assert.equal(seeOther.body, "");
    const temporary = JSON.parse((await safeFetchBuffer(server.url("/temporary"), post)).body.toString());
    assert.equal(temporary.method, "POST");
    assert.equal(temporary.body, "payload");
  });

  test("acceptStatus turns a 404 into http_status", async () => {
    const err = await refusedWith(
      safeFetch(server.url("/missing"), { ...opts(), acceptStatus: (s) => s < 300 }),
      "http_status",
    );
    assert.equal(err.details.status, 404);
    assert.match(err.message, /answered 404 Not Found/);
  });

  test("an external abort signal → aborted", async () => {
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 50);
    await refusedWith(safeFetch(server.url("/never"), { ...opts(), signal: ctrl.signal }), "aborted");
  });

  test("query strings are kept in the request but left out of messages", async () => {
    const err = await refusedWith(
      safeFetch(`http://127.0.0.1:1/x?X-Amz-Signature=topsecret`, { timeoutMs: 1000, maxBytes: 1 }),
      "blocked_address",
    );
    assert.ok(!err.message.includes("topsecret"), err.message);
    assert.ok(err.message.includes("http://127.0.0.1:1/x?…"), err.message);
    await safeFetchBuffer(server.url("/hello?X-Amz-Signature=topsecret"), opts());
    assert.equal(server.requests.at(-1)?.url, "/hello?X-Amz-Signature=topsecret");
  });
});

describe("DNS pinning", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer((req, res) => {
      const m = req.url?.match(/^\/hop\/(\d+)$/);
      if (m && m[1] !== "0") {
        res.writeHead(302, { location: `/hop/${Number(m[1]) - 1}` });
        res.end();
      } else res.end(req.headers.host);
    });
  });
  after(() => server.close());

  /**
   * A resolver for a name the system cannot resolve ("pinned.test"): the first answer is the real
   * server, any later answer a loopback address where nothing listens. If the connection did its
   * own lookup, or asked twice, the request would fail.
   */
  function countingResolver(): Resolver & { calls: string[] } {
    const calls: string[] = [];
    const resolver = (async (hostname: string) => {
      calls.push(hostname);
      return [{ address: calls.length === 1 ? "127.0.0.1" : "127.0.0.2", family: 4 as const }];
    }) as Resolver & { calls: string[] };
    resolver.calls = calls;
    return resolver;
  }

  test("the name is resolved once and the connection goes to the checked address", async () => {
    const lookup = countingResolver();
    const res = await safeFetchBuffer(`http://pinned.test:${server.port}/hop/0`, {
      timeoutMs: 3000,
      maxBytes: 1024,
      allow: parseAllowList("pinned.test"),
      lookup,
    });
    assert.deepEqual(lookup.calls, ["pinned.test"]);
    assert.equal(res.address, "127.0.0.1");
    assert.equal(res.body.toString(), `pinned.test:${server.port}`); // Host header keeps the name
    assert.equal(server.requests.at(-1)?.localAddress, "127.0.0.1");
  });

  test("lookup runs exactly once per hop", async () => {
    const calls: string[] = [];
    const lookup: Resolver = async (hostname) => {
      calls.push(hostname);
      return [{ address: "127.0.0.1", family: 4 }];
    };
    const res = await safeFetchBuffer(`http://pinned.test:${server.port}/hop/2`, {
      timeoutMs: 3000,
      maxBytes: 1024,
      allow: parseAllowList("pinned.test"),
      lookup,
    });
    assert.equal(res.redirects, 2);
    assert.deepEqual(calls, ["pinned.test", "pinned.test", "pinned.test"]);
  });

  test("a second answer (rebinding) on a later hop is checked again and refused", async () => {
    let n = 0;
    const lookup: Resolver = async () => [{ address: n++ === 0 ? "127.0.0.1" : "10.0.0.1", family: 4 }];
    const err = await refusedWith(
      safeFetch(`http://pinned.test:${server.port}/hop/1`, {
        timeoutMs: 3000,
        maxBytes: 1024,
        allow: parseAllowList(`127.0.0.1:${server.port}`), // the address, not the name, is allowed
        lookup,
      }),
      "blocked_address",
    );
    assert.match(err.message, /10\.0\.0\.1 \(private network\)/);
    assert.equal(n, 2);
  });

  test("IP literals are never looked up", async () => {
    const calls: string[] = [];
    const res = await safeFetchBuffer(server.url("/hop/0"), {
      timeoutMs: 3000,
      maxBytes: 1024,
      allow: parseAllowList(`127.0.0.1:${server.port}`),
      lookup: async (h) => {
        calls.push(h);
        return [];
      },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(calls, []);
  });

  test("checkTarget vets without connecting", async () => {
    const checked = await checkTarget("http://Pinned.Test.:8080/a", {
      allow: parseAllowList("pinned.test"),
      lookup: async () => [{ address: "127.0.0.1", family: 4 }],
    });
    assert.equal(checked.hostname, "pinned.test");
    assert.equal(checked.port, 8080);
    assert.deepEqual(checked.addresses, [{ address: "127.0.0.1", family: 4 }]);
    await refusedWith(checkTarget("https://127.0.0.1/"), "blocked_address");
  });

  test("https: the pinned connection still sends the host name (SNI) and verifies the certificate", async () => {
    const snis: string[] = [];
    const context = createSecureContext({ key: TEST_KEY, cert: TEST_CERT });
    const tlsServer = createHttpsServer(
      {
        key: TEST_KEY,
        cert: TEST_CERT,
        SNICallback: (servername, callback) => {
          snis.push(servername);
          callback(null, context);
        },
      },
      (_req, res) => res.end("tls"),
    );
    tlsServer.on("tlsClientError", () => {});
    await new Promise<void>((resolve) => tlsServer.listen(0, "127.0.0.1", resolve));
    const { port } = tlsServer.address() as AddressInfo;
    try {
      const err = await refusedWith(
        safeFetch(`https://pinned.test:${port}/`, {
          timeoutMs: 3000,
          maxBytes: 1024,
          allow: parseAllowList("pinned.test"),
          lookup: async () => [{ address: "127.0.0.1", family: 4 }],
        }),
        "connection_failed",
      );
      // The certificate is self-signed: rejected, because verification is on.
      assert.match(err.message, /SELF_SIGNED|self.signed/i);
      // The ClientHello reached the pinned 127.0.0.1 and carried the name, not the address.
      assert.deepEqual(snis, ["pinned.test"]);
    } finally {
      tlsServer.closeAllConnections();
      await new Promise<void>((resolve) => tlsServer.close(() => resolve()));
    }
  });
});
