import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { parseAllowList } from "../../src/net/address-policy.ts";
import { OutboundRequestError } from "../../src/net/outbound-error.ts";
import { checkTarget, type Hop, sendOnce, systemResolver } from "../../src/net/pinned-http.ts";
import { safeFetch, safeFetchBuffer } from "../../src/net/safe-fetch.ts";
import { refusedWith } from "./refused.ts";
import { startServer, type TestServer } from "./servers.ts";

const never = <T>() => new Promise<T>(() => {});
const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

describe("systemResolver", () => {
  test("answers with every address and its family", async () => {
    assert.deepEqual(await systemResolver("127.0.0.1"), [{ address: "127.0.0.1", family: 4 }]);
    assert.deepEqual(await systemResolver("::1"), [{ address: "::1", family: 6 }]);
    const local = await systemResolver("localhost");
    assert.ok(Array.isArray(local) && local.length > 0);
    for (const a of local) assert.equal(a.family, net.isIP(a.address), a.address);
  });
});

describe("checkTarget", () => {
  const publicLookup = async () => [{ address: "93.184.216.34", family: 4 as const }];

  test("a public target passes, with the scheme's default port", async () => {
    const http = await checkTarget("http://media.example/clip.mp4", { lookup: publicLookup });
    assert.equal(http.port, 80);
    assert.equal(http.hostname, "media.example");
    assert.deepEqual(http.addresses, [{ address: "93.184.216.34", family: 4 }]);
    assert.equal(http.url.href, "http://media.example/clip.mp4");
    const https = await checkTarget(new URL("https://media.example/clip.mp4"), { lookup: publicLookup });
    assert.equal(https.port, 443);
    assert.equal((await checkTarget("https://media.example:8443/", { lookup: publicLookup })).port, 8443);
  });

  test("IP literals keep their family and are not looked up", async () => {
    const lookup = async () => assert.fail("no lookup for literals");
    const v6 = await checkTarget("http://[2606:4700:4700::1111]/", { lookup });
    assert.deepEqual(v6.addresses, [{ address: "2606:4700:4700::1111", family: 6 }]);
    assert.equal(v6.hostname, "2606:4700:4700::1111");
    const v4 = await checkTarget("http://1.1.1.1/", { lookup });
    assert.deepEqual(v4.addresses, [{ address: "1.1.1.1", family: 4 }]);
  });

  test("the allow list sees the host name and the port", async () => {
    const allow = parseAllowList("pinned.test:8080");
    const lookup = async () => [{ address: "10.0.0.5", family: 4 as const }];
    const ok = await checkTarget("http://pinned.test:8080/", { allow, lookup });
    assert.deepEqual(ok.addresses, [{ address: "10.0.0.5", family: 4 }]);
    const err = await refusedWith(
      checkTarget("http://pinned.test:8081/", { allow, lookup }),
      "blocked_address",
    );
    assert.equal(err.details.address, "10.0.0.5");
    assert.equal(err.url, "http://pinned.test:8081/");
    await refusedWith(checkTarget("http://other.test:8080/", { allow, lookup }), "blocked_address");
  });

  test("a host with no addresses → dns_failure", async () => {
    const err = await refusedWith(
      checkTarget("http://empty.test/x?sig=1", { lookup: async () => [] }),
      "dns_failure",
    );
    assert.equal(
      err.message,
      'host "empty.test" has no addresses (for http://empty.test/x?…); check the host name',
    );
  });

  test("a resolver error without a code is reported by its message", async () => {
    const err = await refusedWith(
      checkTarget("http://broken.test/", {
        lookup: async () => {
          throw new Error("resolver exploded");
        },
      }),
      "dns_failure",
    );
    assert.equal(
      err.message,
      'could not resolve host "broken.test" (resolver exploded) for http://broken.test/; check the host name ' +
        "is spelled correctly and resolvable from this server",
    );
  });

  test("an OutboundRequestError from the resolver is passed on as it is", async () => {
    const own = new OutboundRequestError("timeout", "too slow", "http://slow.test/");
    const err = await refusedWith(
      checkTarget("http://slow.test/", {
        lookup: async () => {
          throw own;
        },
      }),
      "timeout",
    );
    assert.equal(err, own);
  });

  test("an invalid URL is named without its credentials, and cut to 200 characters", async () => {
    const err = await refusedWith(checkTarget("http://user:secret@/x"), "invalid_url");
    assert.equal(err.message, '"http://…@/x" is not a valid absolute URL; send a full http(s) URL');
    assert.equal(err.url, "(unparseable URL)");
    const long = await refusedWith(checkTarget(`relative/${"a".repeat(500)}`), "invalid_url");
    assert.ok(long.message.includes(`"relative/${"a".repeat(191)}"`), long.message);
    assert.ok(!long.message.includes("a".repeat(192)), long.message);
  });

  test("a user name alone is refused too", async () => {
    const err = await refusedWith(
      checkTarget("https://deploy@media.example/", { lookup: publicLookup }),
      "credentials_in_url",
    );
    assert.equal(
      err.message,
      "https://media.example/ contains a user name or password; credentials in URLs are not allowed, " +
        "use a link that needs no login (for example a pre-signed URL)",
    );
  });

  describe("with an abort signal", () => {
    test("an already aborted signal refuses even an immediate answer", async () => {
      const ctrl = new AbortController();
      ctrl.abort(new OutboundRequestError("aborted", "cancelled", "http://x.test/"));
      const err = await refusedWith(
        checkTarget("http://x.test/", { signal: ctrl.signal, lookup: publicLookup }),
        "aborted",
      );
      assert.equal(err, ctrl.signal.reason);
    });

    test("aborting while the name resolves stops waiting with the signal's reason", async () => {
      const ctrl = new AbortController();
      setTimeout(() => ctrl.abort(new OutboundRequestError("timeout", "deadline", "http://x.test/")), 30);
      const started = Date.now();
      const err = await refusedWith(
        checkTarget("http://x.test/", { signal: ctrl.signal, lookup: never }),
        "timeout",
      );
      assert.equal(err.message, "deadline");
      assert.ok(Date.now() - started < 1000);
    });

    test("a plain abort reason is passed on, not turned into dns_failure", async () => {
      const ctrl = new AbortController();
      setTimeout(() => ctrl.abort(), 20);
      await assert.rejects(checkTarget("http://x.test/", { signal: ctrl.signal, lookup: never }), {
        name: "AbortError",
      });
    });

    test("the listener on the caller's signal is removed once the name resolved or failed", async () => {
      const ctrl = new AbortController();
      await checkTarget("http://x.test/", { signal: ctrl.signal, lookup: publicLookup });
      assert.equal(getEventListeners(ctrl.signal, "abort").length, 0);
      await refusedWith(
        checkTarget("http://x.test/", {
          signal: ctrl.signal,
          lookup: async () => {
            throw Object.assign(new Error("nope"), { code: "ENOTFOUND" });
          },
        }),
        "dns_failure",
      );
      assert.equal(getEventListeners(ctrl.signal, "abort").length, 0);
    });

    test("a resolver that answers after the abort does not win", async () => {
      const ctrl = new AbortController();
      setTimeout(() => ctrl.abort(new OutboundRequestError("aborted", "stop", "http://x.test/")), 10);
      await refusedWith(
        checkTarget("http://x.test/", {
          signal: ctrl.signal,
          lookup: () => later(200, [{ address: "93.184.216.34", family: 4 as const }]),
        }),
        "aborted",
      );
    });
  });
});

describe("sendOnce and the pinned connection", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer((req, res) => {
      if (req.url === "/never") return;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ headers: req.headers, url: req.url }));
    });
  });
  after(() => server.close());

  const get: Hop = { method: "GET", headers: {}, body: undefined };

  test("sends the default headers, which the caller may override, and the URL's Host", async () => {
    const target = await checkTarget(`http://pinned.test:${server.port}/p?q=1`, {
      allow: parseAllowList("pinned.test"),
      lookup: async () => [{ address: "127.0.0.1", family: 4 }],
    });
    const signal = new AbortController().signal;
    const { res, address } = await sendOnce(target, get, signal);
    assert.equal(address, "127.0.0.1");
    assert.equal(getEventListeners(signal, "abort").length, 0, "no listener left once the response is in");
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    const seen = JSON.parse(Buffer.concat(chunks).toString());
    assert.equal(seen.url, "/p?q=1");
    assert.equal(seen.headers["user-agent"], "vidrelay");
    assert.equal(seen.headers["accept-encoding"], "identity");
    assert.equal(seen.headers.host, `pinned.test:${server.port}`);
    assert.equal(seen.headers["content-length"], undefined);

    const custom = await sendOnce(
      target,
      {
        method: "GET",
        headers: { "user-agent": "custom/1", "accept-encoding": "gzip", host: "evil.example" },
        body: undefined,
      },
      new AbortController().signal,
    );
    const chunks2: Buffer[] = [];
    for await (const c of custom.res) chunks2.push(c as Buffer);
    const seen2 = JSON.parse(Buffer.concat(chunks2).toString());
    assert.equal(seen2.headers["user-agent"], "custom/1");
    assert.equal(seen2.headers["accept-encoding"], "gzip");
    assert.equal(seen2.headers.host, `pinned.test:${server.port}`);
  });

  test("an already aborted signal sends nothing", async () => {
    const target = await checkTarget(server.url("/x"), { allow: parseAllowList("127.0.0.1") });
    const ctrl = new AbortController();
    ctrl.abort(new Error("gone"));
    const seen = server.requests.length;
    await assert.rejects(sendOnce(target, get, ctrl.signal), /gone/);
    await later(50, null);
    assert.equal(server.requests.length, seen);
  });

  test("an abort while waiting for the response rejects with the signal's reason", async () => {
    const target = await checkTarget(server.url("/never"), { allow: parseAllowList("127.0.0.1") });
    const ctrl = new AbortController();
    setTimeout(() => ctrl.abort(), 50);
    await assert.rejects(sendOnce(target, get, ctrl.signal), { name: "AbortError" });
  });

  test("a refused connection names host, address and port", async () => {
    const closed = await startServer(() => {});
    const port = closed.port;
    await closed.close();
    const target = await checkTarget(`http://pinned.test:${port}/x?sig=1`, {
      allow: parseAllowList("pinned.test"),
      lookup: async () => [{ address: "127.0.0.1", family: 4 }],
    });
    const signal = new AbortController().signal;
    const err = await refusedWith(sendOnce(target, get, signal), "connection_failed");
    assert.equal(getEventListeners(signal, "abort").length, 0, "no listener left after a failure");
    assert.equal(
      err.message,
      `could not get a response from pinned.test (127.0.0.1 port ${port}) for http://pinned.test:${port}/x?…: ` +
        "ECONNREFUSED; check that the server is up and reachable",
    );
    assert.equal(err.details.address, "127.0.0.1");
  });

  test("the connection goes to the pinned address also without Happy Eyeballs", async () => {
    const previous = net.getDefaultAutoSelectFamily();
    net.setDefaultAutoSelectFamily(false);
    try {
      const res = await safeFetchBuffer(`http://pinned.test:${server.port}/single`, {
        timeoutMs: 3000,
        maxBytes: 4096,
        allow: parseAllowList("pinned.test"),
        lookup: async () => [{ address: "127.0.0.1", family: 4 }],
      });
      assert.equal(res.status, 200);
      assert.equal(res.address, "127.0.0.1");
      assert.equal(server.requests.at(-1)?.url, "/single");
    } finally {
      net.setDefaultAutoSelectFamily(previous);
    }
  });

  test("a socket that ends up elsewhere than the checked address is refused (0.0.0.0 reaches loopback)", async () => {
    // The operator allowed 0.0.0.0, not 127.0.0.1: but the kernel connects 0.0.0.0 to the local host.
    const err = await refusedWith(
      safeFetch(`http://0.0.0.0:${server.port}/zero`, {
        timeoutMs: 3000,
        maxBytes: 1024,
        allow: parseAllowList("0.0.0.0"),
      }),
      "blocked_address",
    );
    assert.equal(
      err.message,
      `connection for http://0.0.0.0:${server.port}/zero went to 127.0.0.1 instead of the checked 0.0.0.0; refusing it`,
    );
    assert.equal(err.details.address, "127.0.0.1");
  });
});
