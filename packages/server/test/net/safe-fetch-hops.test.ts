import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import type { ServerResponse } from "node:http";
import { type AddressInfo, createServer as createNetServer } from "node:net";
import { after, before, describe, test } from "node:test";
import { parseAllowList } from "../../src/net/address-policy.ts";
import { safeFetch, safeFetchBuffer } from "../../src/net/safe-fetch.ts";
import { refusedWith } from "./refused.ts";
import { startServer, type TestServer } from "./servers.ts";

const timeouts = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;

describe("safeFetch: redirects, methods, headers, limits", () => {
  let server: TestServer;
  let other: TestServer;
  let allow: ReturnType<typeof parseAllowList>;
  let endlessClosed: Promise<void> = Promise.resolve();
  let bodyClosed: Promise<void> = Promise.resolve();

  const redirect = (res: ServerResponse, status: number, location?: string) => {
    res.writeHead(status, location === undefined ? {} : { location });
    res.end();
  };

  before(async () => {
    other = await startServer((req, res, body) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ method: req.method, headers: req.headers, body }));
    });
    server = await startServer((req, res, body) => {
      const url = new URL(req.url ?? "/", "http://x");
      const m = url.pathname.match(/^\/status\/(\d+)$/);
      if (m) return redirect(res, Number(m[1]), url.searchParams.get("to") ?? undefined);
      switch (url.pathname) {
        case "/echo":
          res.setHeader("content-type", "application/json");
          res.end(JSON.stringify({ method: req.method, headers: req.headers, body }));
          return;
        case "/loop":
          return redirect(res, 302, "/loop");
        case "/no-location":
          return redirect(res, 302);
        case "/bad-location":
          return redirect(res, 302, "http://[::1/x");
        case "/to-other":
          return redirect(res, 302, other.url("/echo"));
        case "/endless-redirect": {
          // a redirect whose body never ends: the client must drop the connection, not wait for it
          res.writeHead(302, { location: "/echo" });
          const timer = setInterval(() => res.write("."), 5);
          endlessClosed = new Promise((resolve) => res.on("close", () => resolve()));
          res.on("close", () => clearInterval(timer));
          return;
        }
        case "/endless": {
          res.writeHead(200);
          const timer = setInterval(() => res.write(Buffer.alloc(64, 0x63)), 5);
          bodyClosed = new Promise((resolve) => res.on("close", () => resolve()));
          res.on("close", () => clearInterval(timer));
          return;
        }
        case "/never":
          return;
        case "/slow-redirect":
          setTimeout(() => redirect(res, 302, "/never"), 10);
          return;
        case "/quiet-404":
          res.writeHead(404);
          res.end();
          return;
        case "/cut":
          res.writeHead(200, { "content-length": "1000" });
          res.write("only the beginning");
          setTimeout(() => res.destroy(), 20);
          return;
        case "/declared-exact":
          res.writeHead(200, { "content-length": "10" });
          res.end("0123456789");
          return;
        default:
          res.end("ok");
      }
    });
    allow = parseAllowList(`127.0.0.1:${server.port} 127.0.0.1:${other.port}`);
  });
  after(async () => {
    await server.close();
    await other.close();
  });

  const opts = () => ({ timeoutMs: 3000, maxBytes: 4096, allow });
  const echo = async (url: string, o: Parameters<typeof safeFetch>[1]) => {
    const res = await safeFetchBuffer(url, o);
    return { res, seen: JSON.parse(res.body.toString()) };
  };

  test("the response carries status, status text, headers, final URL and address", async () => {
    const res = await safeFetchBuffer(server.url("/plain"), opts());
    assert.equal(res.status, 200);
    assert.equal(res.statusText, "OK");
    assert.equal(res.headers["content-length"], "2");
    assert.equal(res.body.toString(), "ok");
    assert.equal(res.url, server.url("/plain"));
    assert.equal(res.address, "127.0.0.1");
  });

  test("the method is sent in upper case; header names are case-insensitive", async () => {
    const { seen } = await echo(server.url("/echo"), {
      ...opts(),
      method: "put",
      headers: { "X-Trace": "t1", "Content-Type": "text/plain" },
      body: new Uint8Array([104, 105]),
    });
    assert.equal(seen.method, "PUT");
    assert.equal(seen.body, "hi");
    assert.equal(seen.headers["x-trace"], "t1");
    assert.equal(seen.headers["content-length"], "2");
  });

  test("a caller's Content-Length without a body is dropped (the server would wait for bytes that never come)", async () => {
    const { seen } = await echo(server.url("/echo"), {
      ...opts(),
      headers: { "Content-Length": "5", "X-Keep": "yes" },
    });
    assert.equal(seen.method, "GET");
    assert.equal(seen.body, "");
    assert.equal(seen.headers["content-length"], undefined);
    assert.equal(seen.headers["x-keep"], "yes");
  });

  test("framing headers from the caller are dropped: the body decides them", async () => {
    const { seen } = await echo(server.url("/echo"), {
      ...opts(),
      method: "POST",
      headers: {
        "Content-Length": "999",
        "Transfer-Encoding": "chunked",
        Connection: "keep-alive",
        Host: "evil.example",
      },
      body: "four",
    });
    assert.equal(seen.body, "four");
    assert.equal(seen.headers["content-length"], "4");
    assert.equal(seen.headers["transfer-encoding"], undefined);
    assert.equal(seen.headers.connection, "close");
    assert.equal(seen.headers.host, `127.0.0.1:${server.port}`);
  });

  for (const [status, method, expected] of [
    [301, "POST", "GET"],
    [302, "POST", "GET"],
    [303, "POST", "GET"],
    [303, "PUT", "GET"],
    [303, "HEAD", "HEAD"],
    [301, "PUT", "PUT"],
    [302, "DELETE", "DELETE"],
    [307, "POST", "POST"],
    [308, "POST", "POST"],
  ] as const) {
    test(`${status} after ${method} → ${expected}`, async () => {
      const res = await safeFetchBuffer(server.url(`/status/${status}?to=/echo`), {
        ...opts(),
        method,
        headers: { "content-type": "text/plain", "x-keep": "yes" },
        body: method === "HEAD" ? undefined : "payload",
      });
      assert.equal(res.redirects, 1);
      const seen = server.requests.at(-1)!;
      assert.equal(seen.url, "/echo");
      assert.equal(seen.method, expected);
      assert.equal(seen.headers["x-keep"], "yes");
      if (expected === method && status !== 303) {
        assert.equal(seen.body, "payload");
        assert.equal(seen.headers["content-type"], "text/plain");
      } else {
        // turned into a GET (or a HEAD stays HEAD): no body, and nothing describing one
        assert.equal(seen.body, "");
        assert.equal(seen.headers["content-type"], undefined);
        assert.equal(seen.headers["content-length"], undefined);
      }
    });
  }

  test("a 3xx that is not a redirect, or has no Location, is the response", async () => {
    for (const path of ["/status/300?to=/echo", "/status/304?to=/echo", "/no-location"]) {
      const res = await safeFetchBuffer(server.url(path), opts());
      assert.equal(res.redirects, 0, path);
      assert.equal(res.url, server.url(path));
    }
    assert.equal((await safeFetchBuffer(server.url("/status/300?to=/echo"), opts())).status, 300);
  });

  test("a redirect to an invalid URL → invalid_url", async () => {
    const err = await refusedWith(safeFetch(server.url("/bad-location?sig=1"), opts()), "invalid_url");
    assert.equal(
      err.message,
      `http://127.0.0.1:${server.port}/bad-location?… redirected to an invalid URL; link directly to the file`,
    );
    assert.equal(err.url, `http://127.0.0.1:${server.port}/bad-location?…`);
  });

  test("too many redirects names the first and the last URL", async () => {
    const err = await refusedWith(
      safeFetch(server.url("/loop?sig=1"), { ...opts(), maxRedirects: 1 }),
      "too_many_redirects",
    );
    assert.equal(
      err.message,
      `http://127.0.0.1:${server.port}/loop?… redirected more than 1 times ` +
        `(last to http://127.0.0.1:${server.port}/loop); link directly to the final location`,
    );
  });

  test("credentials go along on a same-origin redirect only", async () => {
    const secrets = {
      Authorization: "Bearer t",
      Cookie: "s=1",
      "Proxy-Authorization": "Basic p",
      "X-Request-Id": "r1",
    };
    const same = await echo(server.url("/status/302?to=/echo"), { ...opts(), headers: secrets });
    assert.equal(same.seen.headers.authorization, "Bearer t");
    assert.equal(same.seen.headers.cookie, "s=1");
    assert.equal(same.seen.headers["proxy-authorization"], "Basic p");

    const cross = await echo(server.url("/to-other"), { ...opts(), headers: secrets });
    assert.equal(cross.res.url, other.url("/echo"));
    assert.equal(cross.seen.headers.authorization, undefined);
    assert.equal(cross.seen.headers.cookie, undefined);
    assert.equal(cross.seen.headers["proxy-authorization"], undefined);
    assert.equal(cross.seen.headers["x-request-id"], "r1");
  });

  test("the body of a followed redirect is not waited for: its connection is dropped", async () => {
    const res = await safeFetchBuffer(server.url("/endless-redirect"), opts());
    assert.equal(res.redirects, 1);
    await endlessClosed;
  });

  test("an accepted status is returned; a refused one names status, reason and address", async () => {
    const ok = await safeFetchBuffer(server.url("/quiet-404"), { ...opts(), acceptStatus: () => true });
    assert.equal(ok.status, 404);
    const err = await refusedWith(
      safeFetch(server.url("/quiet-404"), { ...opts(), acceptStatus: (s) => s === 200 }),
      "http_status",
    );
    assert.equal(
      err.message,
      `http://127.0.0.1:${server.port}/quiet-404 answered 404 Not Found; check that the link is correct and publicly readable`,
    );
    assert.deepEqual(err.details, { status: 404, address: "127.0.0.1" });
  });

  test("a status line without a reason phrase leaves no dangling space", async () => {
    // A raw server: Node's own always fills in a reason phrase.
    const raw = createNetServer((socket) => {
      socket.once("data", () =>
        socket.end("HTTP/1.1 410 \r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
      );
    });
    await new Promise<void>((resolve) => raw.listen(0, "127.0.0.1", resolve));
    const { port } = raw.address() as AddressInfo;
    try {
      const err = await refusedWith(
        safeFetch(`http://127.0.0.1:${port}/gone`, {
          timeoutMs: 3000,
          maxBytes: 10,
          allow: parseAllowList(`127.0.0.1:${port}`),
          acceptStatus: (s) => s === 200,
        }),
        "http_status",
      );
      assert.equal(
        err.message,
        `http://127.0.0.1:${port}/gone answered 410; check that the link is correct and publicly readable`,
      );
      const res = await safeFetchBuffer(`http://127.0.0.1:${port}/gone`, {
        timeoutMs: 3000,
        maxBytes: 10,
        allow: parseAllowList(`127.0.0.1:${port}`),
      });
      assert.equal(res.status, 410);
      assert.equal(res.statusText, "");
    } finally {
      await new Promise<void>((resolve) => raw.close(() => resolve()));
    }
  });

  test("a declared length equal to maxBytes is accepted, one byte less is refused", async () => {
    const res = await safeFetchBuffer(server.url("/declared-exact"), { ...opts(), maxBytes: 10 });
    assert.equal(res.body.toString(), "0123456789");
    const err = await refusedWith(
      safeFetch(server.url("/declared-exact"), { ...opts(), maxBytes: 9 }),
      "too_large",
    );
    assert.equal(
      err.message,
      `http://127.0.0.1:${server.port}/declared-exact is 10 bytes, more than the 9 bytes limit; use a smaller file`,
    );
  });

  test("a connection cut mid-body says so", async () => {
    const err = await refusedWith(safeFetchBuffer(server.url("/cut?sig=1"), opts()), "connection_failed");
    assert.equal(
      err.message,
      `the connection for http://127.0.0.1:${server.port}/cut?… failed mid-body: aborted`,
    );
  });

  test("a small body without a declared length is accepted", async () => {
    const res = await safeFetchBuffer(server.url("/status/200"), { ...opts(), maxBytes: 1 });
    assert.equal(res.status, 200);
    assert.equal(res.body.length, 0);
  });

  test("dropping the body early closes the connection", async () => {
    const res = await safeFetch(server.url("/endless"), opts());
    for await (const _ of res.body) break;
    await bodyClosed;
  });

  test("the deadline covers DNS: a resolver that never answers → timeout", async () => {
    const started = Date.now();
    const err = await refusedWith(
      safeFetch("http://slow-dns.test/a?sig=1", {
        timeoutMs: 150,
        maxBytes: 10,
        allow: parseAllowList("slow-dns.test"),
        lookup: () =>
          new Promise((resolve) => setTimeout(() => resolve([{ address: "127.0.0.1", family: 4 }]), 600)),
      }),
      "timeout",
    );
    assert.ok(Date.now() - started < 550, "did not wait for the resolver");
    assert.equal(
      err.message,
      "no complete response from http://slow-dns.test/a?… within 150 ms; the server is too slow or " +
        "unreachable, try again later or use a faster host",
    );
  });

  test("a timeout after a redirect names the hop that was slow", async () => {
    const err = await refusedWith(
      safeFetch(server.url("/slow-redirect"), { ...opts(), timeoutMs: 300 }),
      "timeout",
    );
    assert.match(
      err.message,
      new RegExp(`^no complete response from http://127\\.0\\.0\\.1:${server.port}/never within 300 ms`),
    );
    assert.equal(err.url, server.url("/never"));
  });

  test("a signal aborted before the call sends nothing", async () => {
    const seen = server.requests.length;
    const err = await refusedWith(
      safeFetch(server.url("/plain"), { ...opts(), signal: AbortSignal.abort() }),
      "aborted",
    );
    assert.equal(err.message, `the request to ${server.url("/plain")} was cancelled`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(server.requests.length, seen);
  });

  test("no timer and no listener on the caller's signal outlive the exchange", async () => {
    const ctrl = new AbortController();
    const timersBefore = timeouts();
    const res = await safeFetchBuffer(server.url("/plain"), {
      ...opts(),
      timeoutMs: 60_000,
      signal: ctrl.signal,
    });
    assert.equal(res.status, 200);
    assert.equal(getEventListeners(ctrl.signal, "abort").length, 0);
    assert.equal(timeouts(), timersBefore);

    await refusedWith(
      safeFetch(server.url("/quiet-404"), {
        ...opts(),
        timeoutMs: 60_000,
        signal: ctrl.signal,
        acceptStatus: (s) => s < 400,
      }),
      "http_status",
    );
    assert.equal(getEventListeners(ctrl.signal, "abort").length, 0);
    assert.equal(timeouts(), timersBefore);
  });
});
