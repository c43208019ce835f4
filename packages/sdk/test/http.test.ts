import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitError,
  UnsupportedMediaTypeError,
  VidRelay,
  VidRelayError,
} from "../src/index.ts";
import { apiError, json, TASK, type TinyServer, tinyServer, unusedPort } from "./helpers.ts";

const KEY = "sk-unit-test-key";
const servers: TinyServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.close()));
});
async function serve(handler: Parameters<typeof tinyServer>[0]): Promise<TinyServer> {
  const s = await tinyServer(handler);
  servers.push(s);
  return s;
}
const MODELS = { object: "list", data: [] };
const gap = (s: TinyServer, i: number) => s.requests[i]!.at - s.requests[i - 1]!.at;

describe("retries", () => {
  test("429 is retried after Retry-After seconds, then succeeds", async () => {
    const s = await serve((_req, res, n) =>
      n === 0
        ? json(res, 429, apiError("rate_limit_error", "rate_limited", "slow down"), { "retry-after": "1" })
        : json(res, 200, MODELS),
    );
    const client = new VidRelay({ apiKey: KEY, baseURL: s.url });
    assert.deepEqual(await client.models.list(), []);
    assert.equal(s.requests.length, 2);
    assert.ok(gap(s, 1) >= 950, `waited only ${gap(s, 1)} ms`);
    assert.equal(s.requests[1]!.headers.authorization, `Bearer ${KEY}`);
  });

  test("Retry-After as an HTTP date is honoured too", async () => {
    const s = await serve((_req, res, n) =>
      n === 0
        ? json(res, 503, apiError("server_error", "busy", "busy"), {
            "retry-after": new Date(Date.now() + 2000).toUTCString(),
          })
        : json(res, 200, MODELS),
    );
    await new VidRelay({ apiKey: KEY, baseURL: s.url }).models.list();
    assert.equal(s.requests.length, 2);
    // The date has one-second resolution: at least ~1 s must have been waited.
    assert.ok(gap(s, 1) >= 900, `waited only ${gap(s, 1)} ms`);
  });

  test("5xx on GET is retried with growing, jittered back-off, then succeeds", async () => {
    const s = await serve((_req, res, n) =>
      n < 2 ? json(res, 503, apiError("server_error", "unavailable", "try later")) : json(res, 200, MODELS),
    );
    await new VidRelay({ apiKey: KEY, baseURL: s.url }).models.list();
    assert.equal(s.requests.length, 3);
    assert.ok(gap(s, 1) >= 370, `first back-off ${gap(s, 1)} ms`);
    assert.ok(gap(s, 2) >= 740, `second back-off ${gap(s, 2)} ms`);
  });

  test("gives up after maxRetries with InternalServerError carrying the error fields and request id", async () => {
    const s = await serve((_req, res) =>
      json(res, 502, apiError("upstream_error", "upstream_unavailable", "the provider is down"), {
        "x-request-id": "req_abc",
      }),
    );
    const client = new VidRelay({ apiKey: KEY, baseURL: s.url, maxRetries: 1 });
    const error = await client.videos.get("task_x").catch((e: unknown) => e);
    assert.ok(error instanceof InternalServerError);
    assert.equal(error.status, 502);
    assert.equal(error.type, "upstream_error");
    assert.equal(error.code, "upstream_unavailable");
    assert.equal(error.requestId, "req_abc");
    assert.equal(error.message, "the provider is down");
    assert.equal(s.requests.length, 2);
  });

  test("RateLimitError exposes retryAfter; a Retry-After over 60 s is not waited for", async () => {
    const s = await serve((_req, res) =>
      json(res, 429, apiError("rate_limit_error", "concurrency_limit", "too many tasks"), {
        "retry-after": "120",
      }),
    );
    const started = Date.now();
    const error = await new VidRelay({ apiKey: KEY, baseURL: s.url }).models.list().catch((e: unknown) => e);
    assert.ok(error instanceof RateLimitError);
    assert.equal(error.retryAfter, 120);
    assert.equal(error.code, "concurrency_limit");
    assert.equal(s.requests.length, 1);
    assert.ok(Date.now() - started < 5000, "did not wait out the 120 s");
  });

  test("a plain POST (upload) is not retried on 5xx, but is on 429", async () => {
    const s5 = await serve((_req, res) => json(res, 500, apiError("server_error", "internal_error", "boom")));
    const client5 = new VidRelay({ apiKey: KEY, baseURL: s5.url });
    await assert.rejects(client5.files.upload(new Uint8Array([1, 2, 3])), InternalServerError);
    assert.equal(s5.requests.length, 1);

    const s4 = await serve((_req, res, n) =>
      n === 0
        ? json(res, 429, apiError("rate_limit_error", "rate_limited", "slow down"), { "retry-after": "0" })
        : json(res, 200, { id: "file_1", object: "file" }),
    );
    const file = await new VidRelay({ apiKey: KEY, baseURL: s4.url }).files.upload(new Uint8Array([1, 2, 3]));
    assert.equal(file.id, "file_1");
    assert.equal(s4.requests.length, 2);
    assert.match(String(s4.requests[1]!.headers["content-type"]), /^multipart\/form-data; boundary=/);
  });

  test("submits carry an Idempotency-Key (generated, or the caller's) and are retried with the same key", async () => {
    const created = { ...TASK, status: "submitted", progress: 0 };
    const s = await serve((_req, res, n) =>
      n % 2 === 0
        ? json(res, 503, apiError("server_error", "unavailable", "later"), { "retry-after": "0" })
        : json(res, 200, created),
    );
    const client = new VidRelay({ apiKey: KEY, baseURL: s.url });
    await client.videos.create({ model: "m", prompt: "p" });
    const [a, b] = s.requests;
    assert.match(
      String(a!.headers["idempotency-key"]),
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    assert.equal(a!.headers["idempotency-key"], b!.headers["idempotency-key"]);
    assert.deepEqual(JSON.parse(b!.body), { model: "m", prompt: "p" });

    await client.videos.create({ model: "m", prompt: "p" }, { idempotencyKey: "my-key-1" });
    assert.equal(s.requests[2]!.headers["idempotency-key"], "my-key-1");
    assert.equal(s.requests[3]!.headers["idempotency-key"], "my-key-1");
    // Each call without a key gets a fresh one.
    await client.videos.create({ model: "m", prompt: "p" });
    assert.notEqual(s.requests[4]!.headers["idempotency-key"], a!.headers["idempotency-key"]);
  });

  test("a slow answer is an APITimeoutError after the per-attempt timeout, retried for GETs", async () => {
    // Never answers; the handler ends when the client gives up and closes the connection.
    const s = await serve((_req, res) => new Promise<void>((resolve) => res.on("close", () => resolve())));
    const started = Date.now();
    const error = await new VidRelay({ apiKey: KEY, baseURL: s.url, timeout: 200, maxRetries: 1 }).models
      .list()
      .catch((e: unknown) => e);
    assert.ok(error instanceof APITimeoutError, String(error));
    assert.equal(s.requests.length, 2);
    assert.ok(Date.now() - started < 3000, "gave up after the timeouts");
  });

  test("a closed port is an APIConnectionError (ECONNREFUSED), retried, even for submits", async () => {
    const port = await unusedPort();
    const client = new VidRelay({ apiKey: KEY, baseURL: `http://127.0.0.1:${port}`, maxRetries: 1 });
    for (const call of [
      () => client.models.list(),
      () => client.videos.create({ model: "m", prompt: "p" }),
    ]) {
      const started = Date.now();
      const error = await call().catch((e: unknown) => e);
      assert.ok(error instanceof APIConnectionError, String(error));
      assert.equal(error.code, "ECONNREFUSED");
      assert.equal(error.status, undefined);
      assert.equal(error.message, `cannot reach http://127.0.0.1:${port} (connection refused)`);
      assert.ok(Date.now() - started >= 370, "one back-off before giving up");
    }
  });

  test("a caller's AbortSignal stops a request and its retries at once", async () => {
    const s = await serve((_req, res) => json(res, 503, apiError("server_error", "x", "x")));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await new VidRelay({ apiKey: KEY, baseURL: s.url, maxRetries: 5 }).models
      .list({ signal: controller.signal })
      .catch((e: unknown) => e);
    assert.equal((error as Error).name, "AbortError");
    assert.equal(s.requests.length, 1);
  });
});

describe("typed errors by status", () => {
  test("each status maps to its class with type, code, param and request id", async () => {
    const cases: [number, new (...args: never[]) => VidRelayError][] = [
      [400, BadRequestError],
      [401, AuthenticationError],
      [403, PermissionDeniedError],
      [404, NotFoundError],
      [409, ConflictError],
      [413, PayloadTooLargeError],
      [415, UnsupportedMediaTypeError],
      [429, RateLimitError],
      [500, InternalServerError],
      [504, InternalServerError],
    ];
    const s = await serve((req, res) => {
      const status = Number(req.url.split("/").pop());
      json(res, status, apiError("some_type", `code_${status}`, `message ${status}`, "metadata.ratio"), {
        "x-request-id": `req_${status}`,
      });
    });
    const client = new VidRelay({ apiKey: KEY, baseURL: s.url, maxRetries: 0 });
    for (const [status, Class] of cases) {
      const error = await client.files.get(String(status)).catch((e: unknown) => e);
      assert.ok(error instanceof Class, `${status}: ${error}`);
      assert.ok(error instanceof VidRelayError);
      assert.equal(error.status, status);
      assert.equal(error.code, `code_${status}`);
      assert.equal(error.type, "some_type");
      assert.equal(error.param, "metadata.ratio");
      assert.equal(error.requestId, `req_${status}`);
      assert.equal(error.message, `message ${status}`);
      assert.equal(error.name, Class.name);
    }
  });

  test("a non-JSON error page (a proxy's 502) still becomes a typed error", async () => {
    const s = await serve((_req, res) => {
      res.writeHead(502, { "content-type": "text/html" });
      res.end("<html>Bad Gateway</html>");
    });
    const error = await new VidRelay({ apiKey: KEY, baseURL: s.url, maxRetries: 0 }).models
      .list()
      .catch((e: unknown) => e);
    assert.ok(error instanceof InternalServerError);
    assert.equal(error.message, "HTTP 502: <html>Bad Gateway</html>");
    assert.equal(error.code, undefined);
  });
});

describe("wait fallbacks", () => {
  test("without an SSE route, wait polls (with back-off) and reports each change", async () => {
    const states = [
      { ...TASK, status: "submitted", progress: 0 },
      { ...TASK, status: "running", progress: 40 },
      { ...TASK, status: "running", progress: 40 },
      { ...TASK, status: "succeeded", progress: 100, url: "http://x/v.mp4" },
    ];
    let poll = 0;
    const s = await serve((req, res) => {
      if (req.url.endsWith("/events"))
        return json(res, 404, apiError("not_found_error", "route_not_found", "no"));
      json(res, 200, states[Math.min(poll++, states.length - 1)]);
    });
    const seen: string[] = [];
    const task = await new VidRelay({ apiKey: KEY, baseURL: s.url }).videos.wait(TASK.task_id, {
      pollIntervalMs: 20,
      onProgress: (t) => seen.push(`${t.status}:${t.progress}`),
    });
    assert.equal(task.status, "succeeded");
    assert.deepEqual(seen, ["submitted:0", "running:40", "succeeded:100"]);
    assert.deepEqual(
      s.requests.map((r) => r.url),
      [
        `/v1/video/generations/${TASK.task_id}/events`,
        ...states.map(() => `/v1/video/generations/${TASK.task_id}`),
      ],
    );
    assert.equal(s.requests[0]!.headers.accept, "text/event-stream");
    // Back-off: 20, 30, 45 ms between polls.
    assert.ok(gap(s, 4) > gap(s, 2), "intervals grow");

    const forced = await new VidRelay({ apiKey: KEY, baseURL: s.url }).videos
      .wait(TASK.task_id, { transport: "sse" })
      .catch((e: unknown) => e);
    assert.ok(forced instanceof NotFoundError, "transport sse does not fall back");
  });

  test("an event stream that ends early falls back to polling", async () => {
    const s = await serve((req, res) => {
      if (req.url.endsWith("/events")) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end(`event: task\ndata: ${JSON.stringify({ ...TASK, progress: 30 })}\n\n`);
        return;
      }
      json(res, 200, { ...TASK, status: "succeeded", progress: 100 });
    });
    const seen: number[] = [];
    const task = await new VidRelay({ apiKey: KEY, baseURL: s.url }).videos.wait(TASK.task_id, {
      onProgress: (t) => seen.push(t.progress),
    });
    assert.equal(task.progress, 100);
    assert.deepEqual(seen, [30, 100]);
    assert.equal(s.requests.length, 2);
  });

  test("a 401 on the event stream is thrown, not papered over by polling", async () => {
    const s = await serve((_req, res) =>
      json(res, 401, apiError("authentication_error", "invalid_api_key", "bad key")),
    );
    await assert.rejects(
      new VidRelay({ apiKey: KEY, baseURL: s.url }).videos.wait("task_1"),
      AuthenticationError,
    );
    assert.equal(s.requests.length, 1);
  });
});

describe("client options and downloads", () => {
  test("VIDRELAY_API_KEY and VIDRELAY_BASE_URL are the fallbacks; a trailing /v1 is accepted", async () => {
    const s = await serve((_req, res) => json(res, 200, MODELS));
    const saved = { key: process.env.VIDRELAY_API_KEY, url: process.env.VIDRELAY_BASE_URL };
    try {
      process.env.VIDRELAY_API_KEY = "sk-from-env";
      process.env.VIDRELAY_BASE_URL = `${s.url}/v1/`;
      const client = new VidRelay();
      assert.equal(client.baseURL, s.url);
      await client.models.list();
      assert.equal(s.requests[0]!.headers.authorization, "Bearer sk-from-env");
      assert.equal(s.requests[0]!.url, "/v1/models");
      delete process.env.VIDRELAY_API_KEY;
      assert.throws(
        () => new VidRelay({ baseURL: s.url }),
        (e: unknown) => {
          return e instanceof VidRelayError && e.code === "missing_api_key";
        },
      );
      assert.throws(() => new VidRelay({ apiKey: KEY, baseURL: "ftp://x" }), /only http and https/);
    } finally {
      if (saved.key === undefined) delete process.env.VIDRELAY_API_KEY;
      else process.env.VIDRELAY_API_KEY = saved.key;
      if (saved.url === undefined) delete process.env.VIDRELAY_BASE_URL;
      else process.env.VIDRELAY_BASE_URL = saved.url;
    }
  });

  test("download: the public url gets no API key; without a url, /content is used with it", async () => {
    const mp4 = Buffer.from("not really an mp4, but bytes");
    const cdn = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "video/mp4" });
      res.end(mp4);
    });
    const gateway = await serve((req, res) => {
      if (req.url.endsWith("/content")) {
        res.writeHead(200, { "content-type": "video/mp4" });
        res.end(mp4);
        return;
      }
      const withUrl = req.url.includes("withurl");
      json(res, 200, {
        ...TASK,
        status: "succeeded",
        progress: 100,
        ...(withUrl ? { url: `${cdn.url}/v.mp4` } : {}),
      });
    });
    const client = new VidRelay({ apiKey: KEY, baseURL: gateway.url });
    const dir = await mkdtemp(join(tmpdir(), "sdk-dl-"));
    try {
      const path = await client.videos.download("task_withurl", join(dir, "a.mp4"));
      assert.deepEqual(await readFile(path), mp4);
      assert.equal(cdn.requests.length, 1);
      assert.equal(cdn.requests[0]!.headers.authorization, undefined, "the key never leaves the gateway");

      const blob = await client.videos.download("task_nourl");
      assert.deepEqual(Buffer.from(await blob.arrayBuffer()), mp4);
      const content = gateway.requests.find((r) => r.url.endsWith("/content"));
      assert.equal(content?.headers.authorization, `Bearer ${KEY}`);

      // A task that has not succeeded is refused before any download.
      const running = { ...TASK } as unknown as Parameters<typeof client.videos.download>[0];
      const notReady = await new VidRelay({
        apiKey: KEY,
        baseURL: (await serve((_q, r) => json(r, 200, TASK))).url,
      }).videos
        .download(running, join(dir, "b.mp4"))
        .catch((e: unknown) => e);
      assert.ok(notReady instanceof VidRelayError && notReady.code === "video_not_ready", String(notReady));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("upload: a missing path is a clear error, nothing is sent", async () => {
    const s = await serve((_req, res) => json(res, 200, {}));
    const error = await new VidRelay({ apiKey: KEY, baseURL: s.url }).files
      .upload("/nonexistent/photo.jpg")
      .catch((e: unknown) => e);
    assert.ok(error instanceof VidRelayError);
    assert.equal(error.code, "ENOENT");
    assert.equal(error.message, "cannot read /nonexistent/photo.jpg: no such file");
    assert.equal(s.requests.length, 0);
  });
});

describe("wait honours the gateway's poll hint", () => {
  const running = { ...TASK, status: "running", progress: 40 };
  const done = { ...TASK, status: "succeeded", progress: 100 };

  test("Retry-After on an unfinished task sets the next poll's delay", async () => {
    const s = await serve((_req, res, n) =>
      n === 0 ? json(res, 200, running, { "retry-after": "1" }) : json(res, 200, done),
    );
    const client = new VidRelay({ apiKey: KEY, baseURL: s.url });
    const task = await client.videos.wait(TASK.task_id, { transport: "poll", pollIntervalMs: 10 });
    assert.equal(task.status, "succeeded");
    assert.equal(s.requests.length, 2);
    assert.ok(gap(s, 1) >= 950, `polled again after ${gap(s, 1)} ms, not after the hinted 1 s`);
  });

  test("maxPollIntervalMs caps the hint; without a hint the interval backs off from pollIntervalMs", async () => {
    const s = await serve((_req, res, n) =>
      n < 2 ? json(res, 200, running, n === 0 ? { "retry-after": "30" } : {}) : json(res, 200, done),
    );
    const client = new VidRelay({ apiKey: KEY, baseURL: s.url });
    await client.videos.wait(TASK.task_id, { transport: "poll", pollIntervalMs: 20, maxPollIntervalMs: 100 });
    assert.equal(s.requests.length, 3);
    assert.ok(gap(s, 1) < 500, `the 30 s hint was capped at 100 ms (waited ${gap(s, 1)} ms)`);
    assert.ok(gap(s, 2) < 500);
  });
});
