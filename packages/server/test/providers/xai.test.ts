import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startXaiDouble, type XaiDouble } from "../doubles/xai/double.ts";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { until } from "../helpers/receiver.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";

const MODEL = "grok-imagine-video";
const CREATE = "/v1/videos/generations";
const VIDEO = /^\/v1\/videos\/[0-9a-f-]{36}$/;
const HOUR = 3600_000;

const gatewayOptions = {
  upstreamPollScale: 0.01,
  upstreamSubmitTimeoutSeconds: 1,
  breakerCooldownSeconds: 1,
  sweepIntervalSeconds: 1,
};

// biome-ignore lint/suspicious/noExplicitAny: JSON is inspected loosely in tests.
type Json = any;

async function addChannel(t: TestServer, xai: XaiDouble, extra: Record<string, unknown> = {}) {
  const res = await t.api("/v1/admin/channels", {
    method: "POST",
    json: {
      provider: "xai",
      base_url: xai.baseUrl,
      api_key: xai.keys[0],
      models: { [MODEL]: MODEL },
      ...extra,
    },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { id: string };
}

async function submit(t: TestServer, prompt: string, metadata: Record<string, unknown> = {}, seconds = "5") {
  const res = await t.api("/v1/video/generations", {
    method: "POST",
    json: { model: MODEL, prompt, seconds, metadata: { resolution: "480p", ...metadata } },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { task_id: string }).task_id;
}

describe("Grok Imagine on xAI, end to end", () => {
  let t: TestServer;
  let xai: XaiDouble;
  let channel: { id: string };
  before(async () => {
    xai = await startXaiDouble();
    t = await startTestServer(gatewayOptions);
    channel = await addChannel(t, xai, { max_concurrent: 20 });
  });
  after(async () => {
    await t.stop();
    await xai.close();
  });

  test("text-to-video: the exact request (only xAI's documented fields: no seed), pending → done, our own copy of the video", async () => {
    const id = await submit(t, "a comet over a mountain lake", { ratio: "16:9", seed: 11 });
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.equal(task.provider, "xai");
    const post = xai.journal.last({ method: "POST", path: CREATE })!;
    assert.match(post.headers.authorization!, /^Bearer \[redacted/);
    const { user, ...body } = post.body as Record<string, unknown>;
    assert.deepEqual(body, {
      model: MODEL,
      prompt: "a comet over a mountain lake",
      duration: 5,
      resolution: "480p",
      aspect_ratio: "16:9",
    });
    // xAI's documented end-user field: a hash of the account, never the account id.
    assert.match(String(user), /^[0-9a-f]{32}$/);
    assert.ok(xai.journal.list({ method: "GET", path: VIDEO }).length >= 1);
    const request = xai.requests.list()[0]!;
    assert.equal(request.status, "done");
    const bytes = Buffer.from(await (await fetch(String(task.url))).arrayBuffer());
    const out = join(t.dataDir, "grok.mp4");
    await writeFile(out, bytes);
    assert.equal((await clipFacts(out)).videoCodec, "h264");
    assert.notEqual(String(task.url), request.videoUrl, "served from our storage, not xAI's URL");
  });

  test("first frame: the image goes as image.url, the citation is dropped, the ratio follows the image", async () => {
    const file = (await (await uploadFile(t, sample("landscape-600x450.jpg"))).json()) as { url: string };
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: MODEL,
        prompt: "@image1 the waves start to move",
        seconds: "3",
        metadata: {
          resolution: "720p",
          content: [{ type: "image_url", image_url: { url: file.url }, role: "first_frame" }],
        },
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { task_id } = (await res.json()) as { task_id: string };
    const task = await waitForTask(t, task_id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    const body = xai.journal.last({ method: "POST", path: CREATE })!.body as Json;
    assert.equal(body.prompt, "the waves start to move");
    assert.match(body.image.url, /^data:image\/jpeg;base64,/);
    assert.equal(body.resolution, "720p");
    assert.equal(body.duration, 3);
    assert.equal("aspect_ratio" in body, false, "adaptive: xAI follows the image");
  });

  test("respect_moderation false (empty URL) fails the task as moderated; a failed request keeps its code", async () => {
    const moderated = await submit(t, "[[moderate]] blocked");
    const failed = await submit(t, "[[fail:internal_error]] broken");
    const m = await waitForTask(t, moderated, { timeoutMs: 30_000 });
    assert.equal(m.status, "failed");
    assert.equal((m.error as Json).code, "content_moderated");
    assert.match((m.error as Json).message, /respect_moderation/);
    const f = await waitForTask(t, failed, { timeoutMs: 30_000 });
    assert.equal(f.status, "failed");
    assert.equal((f.error as Json).code, "internal_error");
  });

  test("an expired request fails as expired", async () => {
    const id = await submit(t, "[[expire]] never finishes");
    await until(async () => !!(await t.server.services.taskRepo.getById(id))?.upstream_id, 10_000, "submit");
    xai.clock.advance(3 * HOUR);
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "failed");
    assert.equal((task.error as Json).code, "expired");
  });

  test("429 on submit is retried later; 5xx on polls are ridden out", async () => {
    xai.journal.clear();
    xai.faults.add({ match: { method: "POST", path: CREATE }, action: { error: "Too many requests" } });
    xai.faults.add({
      match: { method: "GET", path: VIDEO },
      action: { error: "Service unavailable" },
      count: 2,
    });
    const id = await submit(t, "rate limited, then flaky polls");
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.deepEqual(
      xai.journal.list({ method: "POST", path: CREATE }).map((e) => e.status),
      [429, 200],
    );
    assert.deepEqual(
      xai.journal
        .list({ method: "GET", path: VIDEO })
        .slice(0, 2)
        .map((e) => e.status),
      [503, 503],
    );
  });

  test("a request xAI refuses (400) fails without resubmitting; the channel test works", async () => {
    xai.journal.clear();
    xai.faults.add({
      match: { method: "POST", path: CREATE },
      action: { status: 400, error: "Invalid argument", message: "The prompt could not be processed." },
    });
    const id = await submit(t, "refused");
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "failed");
    assert.equal((task.error as Json).code, "upstream_rejected");
    assert.match((task.error as Json).message, /could not be processed/);
    assert.equal(xai.journal.list({ method: "POST", path: CREATE }).length, 1);
    const check = (await (
      await t.api(`/v1/admin/channels/${channel.id}/test`, { method: "POST" })
    ).json()) as Json;
    assert.equal(check.ok, true);
  });
  test("cancel: xAI documents no cancel, so a submitted task answers 409, runs on and is settled", async () => {
    xai.journal.clear();
    const id = await submit(t, "[[queue:0]] [[run:1800]] cannot be stopped");
    await until(
      async () => !!(await t.server.services.taskRepo.getById(id))?.upstream_id,
      10_000,
      "the submit upstream",
    );
    const shown = (await (await t.api(`/v1/video/generations/${id}`)).json()) as Json;
    assert.equal(shown.cancellable, false);
    const res = await t.api(`/v1/video/generations/${id}/cancel`, { method: "POST" });
    assert.equal(res.status, 409);
    const error = ((await res.json()) as Json).error;
    assert.equal(error.code, "task_not_cancellable");
    assert.match(error.message, /xAI has no way to cancel a task once it is submitted/);
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded");
    assert.ok(Number((task.usage as Json).cost) > 0);
  });
});

describe("xAI: a bad key is the channel's fault, not the request's", () => {
  test("400 'Incorrect API key provided' trips the channel; the next channel serves the task", async () => {
    const broken = await startXaiDouble();
    const healthy = await startXaiDouble();
    const t = await startTestServer(gatewayOptions);
    try {
      await addChannel(t, broken, { name: "broken", priority: 10, api_key: "xai-not-a-valid-key-123" });
      await addChannel(t, healthy, { name: "healthy", priority: 0 });
      const id = await submit(t, "bad key first");
      const task = await waitForTask(t, id, { timeoutMs: 30_000 });
      assert.equal(task.status, "succeeded", JSON.stringify(task.error));
      const refused = broken.journal.last({ method: "POST", path: CREATE })!;
      assert.equal(refused.status, 400, "xAI answers a bad key with 400");
      assert.equal(healthy.journal.list({ method: "POST", path: CREATE }).length, 1);
    } finally {
      await t.stop();
      await broken.close();
      await healthy.close();
    }
  });
});

describe("the xAI double's validation", () => {
  let xai: XaiDouble;
  before(async () => {
    xai = await startXaiDouble();
  });
  after(() => xai.close());

  const post = async (body: unknown) => {
    const res = await fetch(`${xai.baseUrl}${CREATE}`, {
      method: "POST",
      headers: { authorization: `Bearer ${xai.keys[0]}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };

  test("duration outside 1–15, an unknown aspect ratio or resolution: 400; unknown model: 404", async () => {
    assert.equal((await post({ model: MODEL, prompt: "x", duration: 16 })).status, 400);
    assert.equal((await post({ model: MODEL, prompt: "x", duration: 0 })).status, 400);
    assert.equal((await post({ model: MODEL, prompt: "x", aspect_ratio: "21:9" })).status, 400);
    const res = await post({ model: MODEL, prompt: "x", resolution: "1080p" });
    assert.equal(res.status, 400);
    assert.match(res.body.error, /resolution/);
    assert.equal((await post({ model: "grok-2-video", prompt: "x" })).status, 404);
    const ok = await post({ model: MODEL, prompt: "fine", duration: 15, aspect_ratio: "3:2" });
    assert.equal(ok.status, 200);
    assert.match(ok.body.request_id, /^[0-9a-f-]{36}$/);
    const pending = (await (
      await fetch(`${xai.baseUrl}/v1/videos/${ok.body.request_id}`, {
        headers: { authorization: `Bearer ${xai.keys[0]}` },
      })
    ).json()) as Json;
    assert.equal(pending.status, "pending");
    assert.equal(typeof pending.progress, "number");
  });
});
