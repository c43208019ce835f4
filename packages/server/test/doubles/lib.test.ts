import assert from "node:assert/strict";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { Callbacks } from "./lib/callbacks.ts";
import { Clock } from "./lib/clock.ts";
import { type Double, startDouble } from "./lib/double.ts";
import { Faults } from "./lib/faults.ts";
import { json } from "./lib/http.ts";
import { Journal, redactHeaders } from "./lib/journal.ts";
import { Rng } from "./lib/random.ts";

/** A minimal double on the shared library: one JSON route and one echo route. */
async function startToy(): Promise<Double<{ greeting: string; nested: { a: number; b: number } }>> {
  return startDouble({
    name: "toy",
    seed: 7,
    clock: { scale: 0, start: Date.UTC(2026, 0, 1) },
    settings: { greeting: "hello", nested: { a: 1, b: 2 }, maxBodyBytes: 1024 },
    setup: (core) => ({
      routes: [
        { method: "GET", pattern: "/v1/hello", handler: () => json(200, { msg: core.settings.greeting }) },
        {
          method: "POST",
          pattern: "/v1/echo/:name",
          handler: (ctx) => json(200, { name: ctx.params.name, body: ctx.body }),
        },
        {
          method: "GET",
          pattern: "/v1/big",
          handler: () => ({ status: 200, body: Buffer.alloc(10_000, 120) }),
        },
      ],
      responseHeaders: (ctx) => ({ "x-toy-request-id": ctx.requestId }),
      errorReply: (code, message) => json(code === "Busy" ? 429 : 400, { code, message: message ?? code }),
      bodyTooLarge: () => json(413, { code: "TooLarge" }),
    }),
  });
}

/** Raw HTTP GET that reports a cut connection instead of throwing (fetch hides partial bodies). */
function rawGet(
  url: string,
): Promise<{ status?: number; bytes: number; error?: string; headers: Record<string, unknown> }> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      let bytes = 0;
      res.on("data", (c: Buffer) => {
        bytes += c.length;
      });
      res.on("end", () => resolve({ status: res.statusCode, bytes, headers: res.headers }));
      res.on("error", (e) =>
        resolve({ status: res.statusCode, bytes, error: e.message, headers: res.headers }),
      );
      res.on("aborted", () =>
        resolve({ status: res.statusCode, bytes, error: "aborted", headers: res.headers }),
      );
    });
    req.on("error", (e) => resolve({ bytes: 0, error: e.message, headers: {} }));
    req.end();
  });
}

describe("Clock", () => {
  it("runs compressed: one simulated minute per 100 real ms at scale 600", async () => {
    const clock = new Clock({ scale: 600, start: 0 });
    const t0 = performance.now();
    await clock.sleep(60_000);
    const real = performance.now() - t0;
    assert.ok(real >= 90 && real < 2000, `took ${real} ms`);
    assert.ok(clock.now() >= 60_000);
    clock.close();
  });

  it("is frozen at scale 0 and fires timers in due order on advance()", () => {
    const clock = new Clock({ scale: 0, start: 1000 });
    const fired: string[] = [];
    clock.at(3000, () => fired.push("c"));
    clock.at(2000, () => fired.push("b"));
    clock.after(500, () => {
      fired.push("a");
      clock.after(100, () => fired.push("a2"));
    });
    const cancelled = clock.at(1800, () => fired.push("never"));
    cancelled.cancel();
    assert.equal(clock.now(), 1000);
    clock.advance(999);
    assert.deepEqual(fired, ["a", "a2"]);
    clock.advance(1001);
    assert.deepEqual(fired, ["a", "a2", "b", "c"]);
    assert.equal(clock.now(), 3000);
    assert.equal(clock.pending, 0);
  });

  it("keeps elapsed time across a scale change", async () => {
    const clock = new Clock({ scale: 1000, start: 0 });
    await new Promise((r) => setTimeout(r, 30));
    clock.setScale(0);
    const frozen = clock.now();
    assert.ok(frozen >= 25_000, `${frozen}`);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(clock.now(), frozen);
  });
});

describe("Rng", () => {
  it("is deterministic per seed", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const seqA = Array.from({ length: 5 }, () => a.string(6));
    const seqB = Array.from({ length: 5 }, () => b.string(6));
    assert.deepEqual(seqA, seqB);
    assert.notDeepEqual(
      seqA,
      Array.from({ length: 5 }, () => new Rng(43).string(6)),
    );
    const r = new Rng(1);
    for (let i = 0; i < 200; i++) {
      const n = r.int(3, 5);
      assert.ok(n >= 3 && n <= 5);
    }
    assert.match(new Rng(9).uuid(), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});

describe("Journal and Faults (unit)", () => {
  it("redacts secrets and filters by method and path", () => {
    const h = redactHeaders({ authorization: "Bearer sk-secret-abcd", "x-api-key": "k-1234", accept: "*/*" });
    assert.equal(h.authorization, "Bearer [redacted …abcd]");
    assert.equal(h["x-api-key"], "[redacted …1234]");
    assert.equal(h.accept, "*/*");
    const j = new Journal();
    const base = {
      time: 0,
      realTime: 0,
      query: {},
      headers: {},
      body: undefined,
      bodyBytes: 0,
      requestId: "r",
    };
    j.record({ ...base, method: "GET", path: "/a/1" });
    j.record({ ...base, method: "POST", path: "/a" });
    j.record({ ...base, method: "GET", path: "/b" });
    assert.equal(j.list({ method: "get" }).length, 2);
    assert.equal(j.list({ path: "^/a" }).length, 2);
    assert.equal(j.list({ path: "/a" }).length, 1);
    assert.equal(j.list({ since: 2 }).length, 1);
  });

  it("consumes rules in order, honours count, skip and forever", () => {
    const f = new Faults();
    const subject = (path: string, body: unknown = {}) => ({
      method: "POST",
      path,
      headers: {},
      rawBody: JSON.stringify(body),
      body,
    });
    f.add({ match: { path: "/x" }, action: { status: 500 }, count: 2 });
    f.add({ match: { path: "/x" }, action: { status: 502 } });
    f.add({ match: { model: "m1" }, action: { status: 429 }, count: -1, skip: 1 });
    assert.equal(f.take(subject("/x"))?.action.status, 500);
    assert.equal(f.take(subject("/x"))?.action.status, 500);
    assert.equal(f.take(subject("/x"))?.action.status, 502);
    assert.equal(f.take(subject("/x")), undefined);
    assert.equal(f.take(subject("/y", { model: "m1" })), undefined, "skipped once");
    for (let i = 0; i < 5; i++) assert.equal(f.take(subject("/y", { model: "m1" }))?.action.status, 429);
    assert.throws(() => f.add({ action: { status: 42 } }));
    assert.throws(() => f.add({ action: { status: 500 }, count: 0 }));
  });
});

describe("startDouble over HTTP", () => {
  let toy: Awaited<ReturnType<typeof startToy>>;
  before(async () => {
    toy = await startToy();
  });
  after(() => toy.close());

  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${toy.url}/__control/${path}`, {
      method,
      headers: body === undefined ? {} : { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it("listens on loopback and journals requests (not control calls)", async () => {
    assert.match(toy.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    await control("DELETE", "requests");
    const res = await fetch(`${toy.url}/v1/echo/abc?x=1&x=2&y=3`, {
      method: "POST",
      headers: { authorization: "Bearer very-secret-key", "content-type": "application/json" },
      body: JSON.stringify({ hello: "world" }),
    });
    assert.equal(res.status, 200);
    assert.ok(res.headers.get("x-toy-request-id"));
    assert.deepEqual(await res.json(), { name: "abc", body: { hello: "world" } });
    const { body } = await control("GET", "requests?method=POST&path=%5E%2Fv1%2Fecho");
    const items = body.items as Array<Record<string, unknown>>;
    assert.equal(items.length, 1);
    const e = items[0] as Record<string, unknown>;
    assert.deepEqual(e.query, { x: ["1", "2"], y: "3" });
    assert.deepEqual(e.body, { hello: "world" });
    assert.equal((e.headers as Record<string, string>).authorization, "Bearer [redacted …-key]");
    assert.equal(e.status, 200);
    assert.equal(e.requestId, res.headers.get("x-toy-request-id"));
    assert.equal(toy.journal.list({ path: "/__control/requests" }).length, 0);
    assert.equal((await control("DELETE", "requests")).body.cleared, 1);
    assert.equal(toy.journal.size, 0);
  });

  it("injects faults through the control API: error codes, count, headers, non-JSON", async () => {
    let r = await control("POST", "faults", {
      match: { method: "GET", path: "/v1/hello" },
      action: { error: "Busy", headers: { "retry-after": "2" } },
      count: 2,
    });
    assert.equal(r.status, 201);
    await control("POST", "faults", {
      match: { path: "^/v1/hel+o$" },
      action: { status: 502, nonJson: true },
    });
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${toy.url}/v1/hello`);
      assert.equal(res.status, 429);
      assert.equal(res.headers.get("retry-after"), "2");
      assert.deepEqual(await res.json(), { code: "Busy", message: "Busy" });
    }
    const lb = await fetch(`${toy.url}/v1/hello`);
    assert.equal(lb.status, 502);
    assert.match(lb.headers.get("content-type") ?? "", /text\/html/);
    assert.match(await lb.text(), /502 Bad Gateway/);
    assert.equal((await fetch(`${toy.url}/v1/hello`)).status, 200, "faults are used up");
    const fired = toy.journal.list({ path: "/v1/hello" }).filter((e) => e.fault !== undefined);
    assert.equal(fired.length, 3);
    r = await control("POST", "faults", { action: {}, count: 0 });
    assert.equal(r.status, 400);
    await control("POST", "faults", {
      match: { bodyIncludes: "poison" },
      action: { status: 418 },
      count: -1,
    });
    const post = (text: string) =>
      fetch(`${toy.url}/v1/echo/x`, { method: "POST", body: JSON.stringify({ text }) });
    assert.equal((await post("some poison here")).status, 418);
    assert.equal((await post("some poison here")).status, 418);
    assert.equal((await post("fine")).status, 200);
    assert.equal(Array.isArray((await control("GET", "faults")).body.items), true);
    await control("DELETE", "faults");
    assert.equal((await post("some poison here")).status, 200);
  });

  it("delays, hangs, drops and truncates", async () => {
    toy.faults.add({ match: { path: "/v1/hello" }, action: { delayMs: 150 } });
    let t0 = performance.now();
    assert.equal((await fetch(`${toy.url}/v1/hello`)).status, 200);
    assert.ok(performance.now() - t0 >= 140);

    toy.faults.add({ match: { path: "/v1/hello" }, action: { hang: true } });
    t0 = performance.now();
    await assert.rejects(
      fetch(`${toy.url}/v1/hello`, { signal: AbortSignal.timeout(200) }),
      /abort|timeout/i,
    );
    assert.ok(performance.now() - t0 >= 190);

    toy.faults.add({ match: { path: "/v1/hello" }, action: { dropConnection: true } });
    const dropped = await rawGet(`${toy.url}/v1/hello`);
    assert.equal(dropped.status, undefined);
    assert.match(dropped.error ?? "", /socket hang up|ECONNRESET/);

    toy.faults.add({ match: { path: "/v1/big" }, action: { truncate: 1000 } });
    const cut = await rawGet(`${toy.url}/v1/big`);
    assert.equal(cut.status, 200);
    assert.equal(cut.headers["content-length"], "10000");
    assert.equal(cut.bytes, 1000);
    assert.ok(cut.error, "the connection is cut mid-body");

    toy.faults.add({
      match: { path: "/v1/big" },
      action: { throttle: { chunkBytes: 2500, intervalMs: 40 } },
    });
    t0 = performance.now();
    const slow = await rawGet(`${toy.url}/v1/big`);
    assert.equal(slow.bytes, 10_000);
    assert.ok(performance.now() - t0 >= 110, "four chunks, three pauses");
  });

  it("changes settings at run time and caps bodies", async () => {
    let r = await control("POST", "settings", { greeting: "hi", nested: { b: 5 } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.nested, { a: 1, b: 5 });
    assert.deepEqual(await (await fetch(`${toy.url}/v1/hello`)).json(), { msg: "hi" });
    r = await control("POST", "settings", { nope: 1 });
    assert.equal(r.status, 400);
    const big = await fetch(`${toy.url}/v1/echo/x`, { method: "POST", body: "x".repeat(2000) });
    assert.equal(big.status, 413);
    assert.equal(toy.journal.last({ path: "/v1/echo/x" })?.bodyBytes, 2000);
  });

  it("moves its clock through the control API", async () => {
    const before = (await control("GET", "clock")).body.now as number;
    const r = await control("POST", "clock", { advanceMs: 3_600_000 });
    assert.equal(r.body.now, before + 3_600_000);
  });

  it("serves sample media at signed, expiring URLs (tos, oss, plain), with ranges", async () => {
    const mp4 = toy.files.publish({ kind: "mp4", style: "tos", bucket: "b", ttlMs: 60_000, tag: "t1" });
    assert.match(
      mp4.url,
      /\/tos\/b\/[0-9a-f]+\.mp4\?X-Tos-Algorithm=TOS4-HMAC-SHA256&.*X-Tos-Expires=60&.*X-Tos-Signature=/,
    );
    let res = await fetch(mp4.url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "video/mp4");
    const whole = Buffer.from(await res.arrayBuffer());
    assert.equal(whole.subarray(4, 8).toString(), "ftyp");
    res = await fetch(mp4.url, { headers: { range: "bytes=0-99" } });
    assert.equal(res.status, 206);
    assert.equal((await res.arrayBuffer()).byteLength, 100);
    assert.equal(res.headers.get("content-range"), `bytes 0-99/${whole.length}`);
    const head = await fetch(mp4.url, { method: "HEAD" });
    assert.equal(head.headers.get("content-length"), String(whole.length));

    const forged = mp4.url.replace(/X-Tos-Signature=[0-9a-f]{4}/, "X-Tos-Signature=0000");
    res = await fetch(forged);
    assert.equal(res.status, 403);
    assert.match(await res.text(), /<Code>SignatureDoesNotMatch<\/Code>/);
    const longer = mp4.url.replace("X-Tos-Expires=60", "X-Tos-Expires=999999");
    assert.equal((await fetch(longer)).status, 403, "the expiry is covered by the signature");

    const png = toy.files.publish({ kind: "png", style: "oss", bucket: "ob", ttlMs: 120_000 });
    assert.match(png.url, /\/oss\/ob\/[0-9a-f]+\.png\?Expires=\d+&OSSAccessKeyId=.*&Signature=/);
    const pngRes = await fetch(png.url);
    assert.equal(pngRes.status, 200);
    assert.deepEqual([...Buffer.from(await pngRes.arrayBuffer()).subarray(1, 4)], [...Buffer.from("PNG")]);
    const plain = toy.files.publish({ kind: "mp4", style: "plain", ttlMs: 120_000 });
    assert.match(plain.url, /\/cdn\/[0-9a-f]+\.mp4$/);
    assert.equal((await fetch(plain.url)).status, 200);

    toy.clock.advance(60_000);
    res = await fetch(mp4.url);
    assert.equal(res.status, 403);
    const xml = await res.text();
    assert.match(xml, /<Code>AccessDenied<\/Code>/);
    assert.match(xml, /Request has expired/);
    assert.equal((await fetch(png.url)).status, 200, "longer TTL still valid");

    assert.equal((await control("POST", "expire-urls", { urlContains: "/oss/" })).body.expired, 1);
    assert.equal((await fetch(png.url)).status, 403);
    assert.equal((await fetch(plain.url)).status, 200);
    assert.equal((await fetch(`${toy.url}/cdn/nope.mp4`)).status, 404);
    assert.equal(toy.files.get(mp4.id)?.downloads, 3);
  });
});

describe("Callbacks", () => {
  it("retries, duplicates, drops, holds back out-of-order deliveries, and records every attempt", async () => {
    const seen: Array<{ event: string; n: number }> = [];
    let failuresLeft = 2;
    let hangNext = false;
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as { event: string; n: number };
        seen.push(body);
        if (hangNext) {
          hangNext = false;
          return; // never answer
        }
        if (body.event === "flaky" && failuresLeft-- > 0) {
          res.statusCode = 500;
          res.end();
          return;
        }
        res.end("ok");
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/cb`;
    const cb = new Callbacks(new Clock({ scale: 0 }));
    try {
      await cb.deliver({ url, body: { event: "flaky", n: 1 }, retries: 3, retryDelayMs: 5, event: "flaky" });
      const flaky = cb.attempts({ event: "flaky" });
      assert.deepEqual(
        flaky.map((a) => [a.attempt, a.kind, a.status, a.ok]),
        [
          [1, "original", 500, false],
          [2, "retry", 500, false],
          [3, "retry", 200, true],
        ],
      );

      hangNext = true;
      await cb.deliver({
        url,
        body: { event: "slow", n: 1 },
        retries: 1,
        ackTimeoutMs: 300,
        retryDelayMs: 5,
        event: "slow",
      });
      const slow = cb.attempts({ event: "slow" });
      assert.equal(slow[0]?.error, "timeout");
      assert.equal(slow[1]?.ok, true);

      await cb.deliver({ url, body: { event: "dup", n: 1 }, duplicates: 2, event: "dup" });
      assert.deepEqual(
        cb.attempts({ event: "dup" }).map((a) => a.kind),
        ["original", "duplicate", "duplicate"],
      );

      await cb.deliver({ url, body: { event: "gone", n: 1 }, drop: true, event: "gone" });
      assert.deepEqual(
        cb.attempts({ event: "gone" }).map((a) => [a.dropped, a.status]),
        [[true, undefined]],
      );
      assert.equal(seen.filter((s) => s.event === "gone").length, 0);

      seen.length = 0;
      void cb.deliver({ url, key: "k", body: { event: "queued", n: 1 }, event: "queued" });
      void cb.deliver({ url, key: "k", body: { event: "running", n: 2 }, event: "running", hold: true });
      void cb.deliver({
        url,
        key: "k",
        body: { event: "succeeded", n: 3 },
        event: "succeeded",
        terminal: true,
      });
      await cb.idle();
      assert.deepEqual(
        seen.map((s) => s.event),
        ["queued", "succeeded", "running"],
      );
      assert.equal(cb.attempts({ key: "k", event: "running" })[0]?.kind, "late");
    } finally {
      cb.close();
      receiver.closeAllConnections();
      await new Promise((r) => receiver.close(r));
    }
  });
});
