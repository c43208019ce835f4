import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { GetObjectCommand, PutObjectCommand, S3Client, type S3ServiceException } from "@aws-sdk/client-s3";
import pg from "pg";
import { BUCKET, startTestBucket, type TestBucket } from "../storage/s3rver.ts";
import { POSTGRES_URL } from "./databases.ts";
import {
  type HttpFaultProxy,
  postgresUrlThrough,
  startHttpFaultProxy,
  startTcpFaultProxy,
  type TcpFaultProxy,
} from "./fault-proxy.ts";

const TIMEOUT = { timeout: 10_000 };

async function rejection(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (error) {
    return error as Error & { code?: string };
  }
  assert.fail("expected a rejection");
}

describe("postgresUrlThrough", () => {
  test("swaps host:port and keeps user, password, database and query verbatim", () => {
    const proxy = { host: "127.0.0.1", port: 6000 };
    const query = `options=${encodeURIComponent("-c search_path=t_abc")}`;
    assert.equal(
      postgresUrlThrough(proxy, `postgres://u:p%40ss@db.example:5432/test?${query}`),
      `postgres://u:p%40ss@127.0.0.1:6000/test?${query}`,
    );
    assert.equal(postgresUrlThrough(proxy, "postgresql://[::1]:5432/x"), "postgresql://127.0.0.1:6000/x");
    assert.throws(() => postgresUrlThrough(proxy, "mysql://h/x"));
  });
});

describe("TCP fault proxy in front of the real Postgres", TIMEOUT, () => {
  let proxy: TcpFaultProxy;
  let url: string;
  const target = new URL(POSTGRES_URL);
  const open: Array<{ end(): Promise<void> }> = [];
  const client = (options: pg.ClientConfig = {}) => {
    const c = new pg.Client({ connectionString: url, ...options });
    // An idle client whose connection dies emits 'error'; unheard, it would crash the runner.
    c.on("error", () => {});
    open.push(c);
    return c;
  };

  before(async () => {
    proxy = await startTcpFaultProxy({ host: target.hostname, port: Number(target.port || 5432) });
    url = postgresUrlThrough(proxy, POSTGRES_URL);
  });
  after(async () => {
    await Promise.all(open.map((c) => c.end().catch(() => {})));
    await proxy.close();
  });

  test("forwards queries", async () => {
    const c = client();
    await c.connect();
    const { rows } = await c.query("select 41 + 1 as n");
    assert.equal(rows[0].n, 42);
    assert.ok(proxy.stats().live >= 1);
  });

  test("dropAll kills a pg.Client; its next query fails", async () => {
    const c = client();
    const errors: Error[] = [];
    c.on("error", (error) => errors.push(error));
    await c.connect();
    await c.query("select 1");
    assert.ok(proxy.dropAll() >= 1);
    assert.equal(proxy.stats().live, 0);
    await delay(50);
    assert.match(errors[0]?.message ?? "", /Connection terminated unexpectedly/);
    const error = await rejection(c.query("select 1"));
    assert.match(error.message, /not queryable/);
  });

  test("dropAll fails an in-flight query with 'Connection terminated unexpectedly'", async () => {
    const c = client();
    await c.connect();
    const sleeping = c.query("select pg_sleep(5)");
    await delay(100);
    proxy.dropAll();
    const error = await rejection(sleeping);
    assert.match(error.message, /Connection terminated unexpectedly/);
    assert.equal(error.code, undefined);
  });

  test("dropAll with reset surfaces ECONNRESET", async () => {
    const c = client();
    await c.connect();
    const sleeping = c.query("select pg_sleep(5)");
    await delay(100);
    proxy.dropAll({ reset: true });
    const error = await rejection(sleeping);
    assert.equal(error.code, "ECONNRESET");
  });

  test("a pg.Pool with an 'error' listener recovers on the next query", async () => {
    const pool = new pg.Pool({ connectionString: url, max: 2 });
    open.push(pool);
    // A persistent listener: later drops in this suite hit the pool's idle clients again.
    const errors: Error[] = [];
    const idleError = new Promise<void>((resolve) =>
      pool.on("error", (error) => {
        errors.push(error);
        resolve();
      }),
    );
    await pool.query("select 1");
    assert.ok(proxy.dropAll() >= 1);
    await idleError;
    assert.match(errors[0]?.message ?? "", /Connection terminated unexpectedly/);
    const { rows } = await pool.query("select 2 as n");
    assert.equal(rows[0].n, 2);
    await pool.end();
  });

  test("refuse fails new connections fast, leaves live ones, and ends with pass()", async () => {
    const live = client();
    await live.connect();
    proxy.refuse();
    const started = Date.now();
    const error = await rejection(client().connect());
    assert.ok(Date.now() - started < 1000, "refused connect should fail fast");
    assert.match(`${error.code} ${error.message}`, /ECONNRESET|terminated unexpectedly/);
    assert.ok(proxy.stats().refused >= 1);
    await live.query("select 1");
    proxy.pass();
    await client().connect();
  });

  test("restart(ms) drops everyone, refuses for ms, then accepts again", async () => {
    const c = client();
    await c.connect();
    proxy.restart(300);
    assert.equal(proxy.stats().live, 0);
    await rejection(client().connect());
    await delay(400);
    const again = client();
    await again.connect();
    await again.query("select 1");
  });

  test("blackhole makes connectionTimeoutMillis fire; pass() releases the held sockets", async () => {
    proxy.blackhole();
    const started = Date.now();
    const error = await rejection(client({ connectionTimeoutMillis: 300 }).connect());
    const took = Date.now() - started;
    assert.ok(took >= 250 && took < 2000, `took ${took}ms`);
    assert.match(error.message, /timeout/i);
    proxy.pass();
    const c = client({ connectionTimeoutMillis: 1000 });
    await c.connect();
    await c.query("select 1");
  });

  test("an unreachable upstream closes the client without throwing", async () => {
    const dead = await startTcpFaultProxy({ host: "127.0.0.1", port: 1 });
    const socket = net.connect(dead.port, dead.host);
    socket.on("error", () => {});
    await new Promise((resolve) => socket.on("close", resolve));
    assert.equal(dead.stats().live, 0);
    await dead.close();
  });
});

describe("HTTP fault proxy in front of s3rver", TIMEOUT, () => {
  let bucket: TestBucket;
  let proxy: HttpFaultProxy;
  let s3: S3Client;
  const put = (key: string, body: Buffer | string) =>
    s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const get = async (key: string) => {
    const out = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
    return Buffer.from(await out.Body!.transformToByteArray());
  };

  before(async () => {
    bucket = await startTestBucket();
    proxy = await startHttpFaultProxy(bucket.endpoint);
    s3 = new S3Client({
      region: "us-east-1",
      endpoint: proxy.url,
      forcePathStyle: true,
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 1,
    });
  });
  after(async () => {
    s3.destroy();
    await proxy.close();
    await bucket.stop();
  });

  test("round-trips a 1 MiB body byte-exact", async () => {
    const body = randomBytes(1024 * 1024);
    await put("round-trip", body);
    assert.ok((await get("round-trip")).equals(body));
    const stats = proxy.stats();
    assert.ok(stats.forwarded >= 2);
    assert.ok((stats.byMethod.PUT ?? 0) >= 1 && (stats.byMethod.GET ?? 0) >= 1);
  });

  test("fail(503) answers an S3 error and writes nothing upstream; pass() restores", async () => {
    proxy.fail({ status: 503 });
    const error = (await rejection(put("failed", randomBytes(4096)))) as S3ServiceException;
    assert.equal(error.$metadata.httpStatusCode, 503);
    assert.equal(error.name, "ServiceUnavailable");
    assert.deepEqual(await bucket.keys("failed"), []);
    assert.ok(proxy.stats().failed >= 1);
    proxy.pass();
    await put("failed", "now it works");
    assert.deepEqual(await bucket.keys("failed"), ["failed"]);
  });

  test("fail(500) is an InternalError and expires after ms", async () => {
    proxy.fail({ status: 500, ms: 200 });
    const error = (await rejection(get("round-trip"))) as S3ServiceException;
    assert.equal(error.$metadata.httpStatusCode, 500);
    assert.equal(error.name, "InternalError");
    await delay(250);
    assert.equal((await get("round-trip")).length, 1024 * 1024);
  });

  test("match limits a fault to GETs", async () => {
    proxy.fail({ match: (req) => req.method === "GET" });
    await put("matched", "put still works");
    const error = (await rejection(get("matched"))) as S3ServiceException;
    assert.equal(error.$metadata.httpStatusCode, 503);
    proxy.pass();
    assert.equal((await get("matched")).toString(), "put still works");
  });

  test("reset gives a network error, not an HTTP status", async () => {
    const before = proxy.stats().reset;
    proxy.reset();
    const error = (await rejection(get("round-trip"))) as S3ServiceException & { code?: string };
    assert.equal(error.$metadata?.httpStatusCode, undefined);
    // Smithy names every socket-level failure TimeoutError (its retry strategy's transient class).
    assert.equal(error.name, "TimeoutError");
    assert.equal(error.code, "ECONNRESET");
    assert.equal(proxy.stats().reset, before + 1);
    proxy.pass();
    await get("round-trip");
  });

  test("hang holds the request until pass(), which destroys it", async () => {
    proxy.hang();
    let settled = false;
    const hanging = rejection(get("round-trip")).finally(() => {
      settled = true;
    });
    await delay(300);
    assert.equal(settled, false);
    proxy.pass();
    const error = (await hanging) as S3ServiceException;
    assert.equal(error.$metadata?.httpStatusCode, undefined);
    await get("round-trip");
  });

  test("throttle slows a 64 KiB GET measurably and keeps it byte-exact", async () => {
    const body = randomBytes(64 * 1024);
    await put("slow", body);
    let started = Date.now();
    await get("slow");
    const fast = Date.now() - started;
    proxy.throttle(64 * 1024);
    started = Date.now();
    const slow = await get("slow");
    const took = Date.now() - started;
    proxy.pass();
    assert.ok(slow.equals(body));
    // 64 KiB at 64 KiB/s is a second of sleeps alone, whatever else the machine is doing.
    assert.ok(took >= 900 && took > fast, `throttled ${took}ms vs ${fast}ms`);
  });

  test("keep-alive connections survive mode changes", async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const request = () =>
      new Promise<{ status: number; reused: boolean }>((resolve, reject) => {
        const req = http.get(`${proxy.url}/${BUCKET}/round-trip`, { agent }, (res) => {
          res.resume();
          res.on("end", () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket }));
        });
        req.on("error", reject);
      });
    try {
      await request();
      proxy.fail({ status: 503 });
      assert.deepEqual(await request(), { status: 503, reused: true });
      proxy.pass();
      assert.equal((await request()).reused, true);
    } finally {
      agent.destroy();
    }
  });
});
