import assert from "node:assert/strict";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  APITimeoutError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  NotFoundError,
  PayloadTooLargeError,
  type Task,
  TaskFailedError,
  UnsupportedMediaTypeError,
  VidRelay,
} from "@vidrelay/sdk";
import { expectError } from "../helpers/expect-error.ts";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const MODEL = "seedance-1-5-pro-with-audio";
/** Small and quick to render. */
const QUICK = { model: MODEL, seconds: "4", metadata: { resolution: "480p" as const } };

/** A client whose requests are recorded (real fetch underneath: nothing is mocked). */
function recordingClient(t: TestServer, key = t.key) {
  const urls: string[] = [];
  const client = new VidRelay({
    apiKey: key,
    baseURL: t.url,
    fetch: (input, init) => {
      urls.push(`${init?.method ?? "GET"} ${String(input).replace(t.url, "")}`);
      return fetch(input, init);
    },
  });
  return { client, urls };
}

describe("SDK against a real server", () => {
  let t: TestServer;
  let client: VidRelay;
  before(async () => {
    t = await startTestServer();
    client = new VidRelay({ apiKey: t.key, baseURL: t.url });
  });
  after(() => t.stop());

  describe("files", () => {
    test("upload from a path, a Buffer and a Blob/File; get; delete", async () => {
      const path = sample("landscape-600x450.jpg");
      const fromPath = await client.files.upload(path);
      assert.match(fromPath.id, /^file_/);
      assert.equal(fromPath.filename, "landscape-600x450.jpg");
      assert.equal(fromPath.content_type, "image/jpeg");
      assert.deepEqual([fromPath.width, fromPath.height], [600, 450]);
      assert.equal(fromPath.bytes, (await stat(path)).size);

      const bytes = await readFile(sample("photo-1024x772.webp"));
      const fromBuffer = await client.files.upload(bytes, { filename: "buffer.webp" });
      assert.equal(fromBuffer.filename, "buffer.webp");
      assert.equal(fromBuffer.content_type, "image/webp");
      assert.equal(fromBuffer.bytes, bytes.length);

      const blob = new File([await readFile(sample("grey-400x267.jpg"))], "from-a-file.jpg");
      const fromBlob = await client.files.upload(blob, { purpose: "video_reference" });
      assert.equal(fromBlob.filename, "from-a-file.jpg");
      assert.deepEqual([fromBlob.width, fromBlob.height], [400, 267]);
      const plainBlob = await client.files.upload(new Blob([await readFile(path)]));
      assert.equal(plainBlob.filename, "upload.jpg");

      // The capability URL serves the same bytes without a key.
      const served = await fetch(fromBuffer.url);
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), bytes);

      assert.deepEqual(await client.files.get(fromPath.id), fromPath);
      assert.deepEqual(await client.files.delete(fromPath.id), {
        id: fromPath.id,
        object: "file",
        deleted: true,
      });
      await expectError(client.files.get(fromPath.id), NotFoundError);
    });

    test("413 for a pixel bomb and 415 for a text file, as typed errors", async () => {
      const bomb = await expectError(
        client.files.upload(sample("bad/pixel-bomb-65536x65536.png")),
        PayloadTooLargeError,
      );
      assert.equal(bomb.status, 413);
      assert.equal(bomb.type, "invalid_request_error");
      assert.equal(bomb.param, "file");
      assert.match(bomb.requestId ?? "", /^req_/);
      const text = new TextEncoder().encode("just some words, not an image\n".repeat(20));
      const refused = await expectError(
        client.files.upload(text, { filename: "notes.jpg", contentType: "text/plain" }),
        UnsupportedMediaTypeError,
      );
      assert.equal(refused.status, 415);
      assert.ok(refused.code);
    });

    test("auto-pagination across pages of files", async () => {
      const key = await t.newAccountKey("files-pages");
      const { client: own, urls } = recordingClient(t, key);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push((await own.files.upload(sample("grey-400x267.jpg"))).id);
      urls.length = 0;
      const listed: string[] = [];
      for await (const file of own.files.list({ limit: 2 })) listed.push(file.id);
      assert.deepEqual(listed, [...ids].reverse(), "every file once, newest first");
      assert.equal(urls.length, 3, urls.join("\n"));
      assert.match(urls[1]!, /after=/);
    });
  });

  describe("videos", () => {
    test("create → wait over SSE (progress events) → download to a path and as a Blob", async () => {
      const file = await client.files.upload(sample("landscape-600x450.jpg"));
      const { client: recorded, urls } = recordingClient(t);
      const created = await recorded.videos.create({
        ...QUICK,
        prompt: "@image1 slow push-in",
        metadata: {
          ratio: "9:16",
          resolution: "480p",
          content: [{ type: "image_url", image_url: { url: file.url }, role: "first_frame" }],
        },
      });
      assert.match(created.task_id, /^task_[A-Za-z0-9]{32}$/);
      assert.equal(created.status, "submitted");
      const seen: Task[] = [];
      const done = await recorded.videos.wait(created, {
        transport: "sse",
        onProgress: (task) => seen.push(task),
      });
      assert.equal(done.status, "succeeded");
      assert.equal(done.progress, 100);
      assert.ok(seen.length >= 3, `only ${seen.length} progress events`);
      const progress = seen.map((task) => task.progress);
      assert.deepEqual(
        progress,
        [...progress].sort((a, b) => a - b),
        "progress never goes back",
      );
      assert.equal(seen.at(-1)?.status, "succeeded");
      // One event stream, no polling.
      assert.deepEqual(
        urls.filter((u) => u.includes(created.task_id)),
        [`GET /v1/video/generations/${created.task_id}/events`],
      );

      const out = join(t.dataDir, "sdk-out.mp4");
      assert.equal(await recorded.videos.download(done, out), out);
      const facts = await clipFacts(out);
      assert.equal(facts.height > facts.width, true);
      assert.ok(Math.abs(facts.width / facts.height - 9 / 16) < 0.03, `${facts.width}x${facts.height}`);
      assert.ok(Math.abs(facts.duration - 4) < 0.15, `duration ${facts.duration}`);
      await assert.rejects(stat(`${out}.part`), "no partial file left behind");

      const blob = await recorded.videos.download(done.task_id);
      assert.equal(blob.size, done.video?.bytes);
      assert.equal(blob.size, (await stat(out)).size);
    });

    test("wait by polling (transport: poll) and by default (SSE first)", async () => {
      const { client: recorded, urls } = recordingClient(t);
      const a = await recorded.videos.create({ ...QUICK, prompt: "a lighthouse at dusk" });
      const b = await recorded.videos.create({ ...QUICK, prompt: "a paper boat on a pond" });
      const seenA: number[] = [];
      const [doneA, doneB] = await Promise.all([
        recorded.videos.wait(a.task_id, {
          transport: "poll",
          pollIntervalMs: 200,
          onProgress: (task) => seenA.push(task.progress),
        }),
        recorded.videos.wait(b.task_id),
      ]);
      assert.equal(doneA.status, "succeeded");
      assert.equal(doneB.status, "succeeded");
      assert.equal(seenA.at(-1), 100);
      const pollsA = urls.filter((u) => u === `GET /v1/video/generations/${a.task_id}`);
      assert.ok(pollsA.length >= 2, `polled ${pollsA.length} times`);
      assert.ok(!urls.includes(`GET /v1/video/generations/${a.task_id}/events`));
      assert.deepEqual(
        urls.filter((u) => u.includes(b.task_id)),
        [`GET /v1/video/generations/${b.task_id}/events`],
      );
    });

    test("a cancelled task makes wait throw TaskFailedError (or return it with returnFailed)", async () => {
      const created = await client.videos.create({ model: MODEL, prompt: "a slow sunrise", seconds: "12" });
      const cancelled = await client.videos.cancel(created.task_id);
      assert.equal(cancelled.status, "failed");
      const error = await expectError(client.videos.wait(created.task_id), TaskFailedError);
      assert.equal(error.code, "cancelled");
      assert.equal(error.task.task_id, created.task_id);
      assert.equal(error.task.error?.code, "cancelled");
      const returned = await client.videos.wait(created.task_id, { returnFailed: true, transport: "poll" });
      assert.equal(returned.status, "failed");
      const again = await expectError(client.videos.cancel(created.task_id), ConflictError);
      assert.equal(again.code, "task_not_cancellable");
    });

    test("wait honours timeoutMs and an AbortSignal", async () => {
      const created = await client.videos.create({
        model: MODEL,
        prompt: "a long, slow pan over hills",
        seconds: "12",
        metadata: { resolution: "1080p" },
      });
      try {
        const started = Date.now();
        const timedOut = await expectError(
          client.videos.wait(created.task_id, { timeoutMs: 300 }),
          APITimeoutError,
        );
        assert.equal(timedOut.code, "wait_timeout");
        assert.ok(Date.now() - started < 5000);
        const controller = new AbortController();
        setTimeout(() => controller.abort(), 200);
        const aborted = await client.videos
          .wait(created.task_id, { signal: controller.signal, transport: "poll" })
          .catch((e: unknown) => e);
        assert.equal((aborted as Error).name, "AbortError");
      } finally {
        await client.videos.cancel(created.task_id).catch(() => {});
      }
    });

    test("Idempotency-Key: same body → same task; another body → ConflictError (409)", async () => {
      const body = { model: MODEL, prompt: "a kite over the beach", seconds: "4" };
      const first = await client.videos.create(body, { idempotencyKey: "sdk-test-key-1" });
      const second = await client.videos.create(body, { idempotencyKey: "sdk-test-key-1" });
      assert.equal(second.task_id, first.task_id);
      const conflict = await expectError(
        client.videos.create({ ...body, prompt: "something else" }, { idempotencyKey: "sdk-test-key-1" }),
        ConflictError,
      );
      assert.equal(conflict.status, 409);
      assert.equal(conflict.type, "idempotency_error");
      assert.equal(conflict.param, "Idempotency-Key");
      // Without a key, each call is a new task.
      const third = await client.videos.create(body);
      assert.notEqual(third.task_id, first.task_id);
      await Promise.all([first, third].map((task) => client.videos.cancel(task.task_id).catch(() => {})));
    });

    test("auto-pagination across several pages of tasks, with a status filter", async () => {
      const key = await t.newAccountKey("task-pages");
      const { client: own, urls } = recordingClient(t, key);
      const ids: string[] = [];
      for (let i = 0; i < 7; i++) {
        const created = await own.videos.create({ model: MODEL, prompt: `task number ${i}`, seconds: "4" });
        await own.videos.cancel(created.task_id);
        ids.push(created.task_id);
      }
      urls.length = 0;
      const listed: string[] = [];
      for await (const task of own.videos.list({ limit: 3 })) listed.push(task.task_id);
      assert.deepEqual(listed, [...ids].reverse(), "all 7, newest first, each once");
      assert.deepEqual(
        urls.map((u) => u.replace(/after=[^&]+/, "after=…")),
        [
          "GET /v1/video/generations?limit=3",
          "GET /v1/video/generations?limit=3&after=…",
          "GET /v1/video/generations?limit=3&after=…",
        ],
      );
      const pages = [];
      for await (const page of own.videos.list({ limit: 3, status: "failed" }).pages())
        pages.push(page.data.length);
      assert.deepEqual(pages, [3, 3, 1]);
      assert.deepEqual(await own.videos.list({ status: "succeeded" }).toArray(), []);
      assert.equal((await own.videos.list({ limit: 2 }).toArray(5)).length, 5);
      const first = await own.videos.listPage({ limit: 4 });
      assert.equal(first.data.length, 4);
      assert.equal(first.has_more, true);
      const rest = await own.videos.listPage({ limit: 4, after: first.next_cursor ?? undefined });
      assert.equal(rest.data.length, 3);
      assert.equal(rest.has_more, false);
    });
  });

  describe("errors", () => {
    test("400 for a bad submit names the parameter", async () => {
      const error = await expectError(
        client.videos.create({ model: MODEL, prompt: "x", seconds: "99" }),
        BadRequestError,
      );
      assert.equal(error.status, 400);
      assert.equal(error.type, "invalid_request_error");
      assert.equal(error.param, "seconds");
      assert.ok(error.code);
      assert.match(error.requestId ?? "", /^req_/);
    });

    test("401 for a bad key", async () => {
      const bad = new VidRelay({ apiKey: "sk-not-a-real-key-000000000000000000000000", baseURL: t.url });
      const error = await expectError(bad.models.list(), AuthenticationError);
      assert.equal(error.status, 401);
      assert.equal(error.type, "authentication_error");
    });

    test("404 for an unknown task and an unknown model", async () => {
      const task = await expectError(
        client.videos.get("task_00000000000000000000000000000000"),
        NotFoundError,
      );
      assert.equal(task.type, "not_found_error");
      await expectError(client.models.get("no-such-model"), NotFoundError);
    });

    test("models.list returns the catalog with capabilities", async () => {
      const models = await client.models.list();
      const seedance = models.find((m) => m.id === MODEL);
      assert.ok(seedance);
      assert.deepEqual(seedance.modes, ["text", "first_frame", "first_last_frame"]);
      assert.equal((await client.models.get(MODEL)).id, MODEL);
    });
  });
});
