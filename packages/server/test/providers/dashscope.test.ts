import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import sharp from "sharp";
import { type DashScopeDouble, DEFAULT_DS_KEYS, startDashScopeDouble } from "../doubles/dashscope/double.ts";
import { type FalDouble, startFalDouble } from "../doubles/fal/double.ts";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { startReceiver, until } from "../helpers/receiver.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";
import { busiestWindow } from "../helpers/windows.ts";

const CREATE = "/api/v1/services/aigc/video-generation/video-synthesis";
const TASK = /^\/api\/v1\/tasks\/[^/]+$/;
const I2V = "happyhorse-1.0-i2v";
const T2V = "happyhorse-1.0-t2v";
const HOUR = 3600_000;
const MIN = 60_000;

const gatewayOptions = {
  upstreamPollScale: 0.01,
  upstreamSubmitTimeoutSeconds: 1,
  breakerCooldownSeconds: 1,
  sweepIntervalSeconds: 1,
};

// biome-ignore lint/suspicious/noExplicitAny: journal bodies are inspected loosely.
type Json = any;

async function addChannel(t: TestServer, json: Record<string, unknown>): Promise<{ id: string }> {
  const res = await t.api("/v1/admin/channels", { method: "POST", json });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { id: string };
}

const dashscopeChannel = (ds: DashScopeDouble, extra: Record<string, unknown> = {}) => ({
  provider: "dashscope",
  base_url: ds.baseUrl,
  api_key: ds.keys[0],
  models: { [I2V]: I2V, [T2V]: T2V },
  max_concurrent: 50,
  ...extra,
});

async function submit(t: TestServer, body: Record<string, unknown>): Promise<string> {
  const res = await t.api("/v1/video/generations", { method: "POST", json: body });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { task_id: string }).task_id;
}

const text = (prompt: string, metadata: Record<string, unknown> = {}) => ({
  model: T2V,
  prompt,
  seconds: "3",
  metadata: { resolution: "720p", ...metadata },
});

async function upstreamOf(t: TestServer, id: string): Promise<string> {
  let upstream: string | null = null;
  await until(
    async () => {
      upstream = (await t.server.services.taskRepo.getById(id))?.upstream_id ?? null;
      return upstream !== null;
    },
    10_000,
    "an upstream id",
  );
  return upstream!;
}

describe("HappyHorse image-to-video: the seed flow through DashScope, then fal", () => {
  let t: TestServer;
  let ds: DashScopeDouble;
  let fal: FalDouble;
  let dsChannel: { id: string };
  before(async () => {
    ds = await startDashScopeDouble({ profile: "beijing" });
    fal = await startFalDouble();
    t = await startTestServer(gatewayOptions);
    dsChannel = await addChannel(t, dashscopeChannel(ds, { name: "dashscope", priority: 10 }));
    await addChannel(t, {
      name: "fal",
      provider: "fal",
      base_url: `${fal.baseUrl}?jwks_url=${encodeURIComponent(fal.jwksUrl)}`,
      api_key: fal.keys[0],
      models: { [I2V]: "alibaba/happy-horse/image-to-video", [T2V]: "alibaba/happy-horse/text-to-video" },
      priority: 0,
    });
  });
  after(async () => {
    await t.stop();
    await ds.close();
    await fal.close();
  });

  const seedFlow = async () => {
    const file = (await (await uploadFile(t, sample("photo-saw-2725x2225.jpg"))).json()) as { url: string };
    const id = await submit(t, {
      model: I2V,
      prompt: "@image1 the camera slowly pushes in",
      seconds: "5",
      metadata: {
        resolution: "720p",
        content: [{ type: "image_url", image_url: { url: file.url }, role: "reference_image" }],
      },
    });
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    return task;
  };

  test("through DashScope: the exact upstream request, and our own copy of the video", async () => {
    const task = await seedFlow();
    assert.equal(task.provider, "dashscope");
    const posts = ds.journal.list({ method: "POST", path: CREATE });
    assert.equal(posts.length, 1);
    const post = posts[0]!;
    assert.equal(post.headers["x-dashscope-async"], "enable");
    assert.match(post.headers.authorization!, /^Bearer \[redacted/);
    const body = post.body as Json;
    assert.equal(body.model, I2V);
    assert.equal(body.input.prompt, "the camera slowly pushes in", "the @image1 citation is not sent");
    assert.equal(body.input.media.length, 1);
    assert.equal(body.input.media[0].type, "first_frame");
    assert.match(
      body.input.media[0].url,
      /^data:image\/jpeg;base64,/,
      "loopback gateway: inline, lower case",
    );
    assert.deepEqual(body.parameters, { resolution: "720P", duration: 5, watermark: false });
    assert.equal(Number.isInteger(body.parameters.duration), true);
    assert.equal("ratio" in body.parameters, false, "no ratio on i2v");
    assert.equal("img_url" in body.input, false);
    // Polled through GET /api/v1/tasks/{id} until SUCCEEDED, then copied.
    const polls = ds.journal.list({ method: "GET", path: TASK });
    assert.ok(polls.length >= 1);
    const upstream = ds.tasks.list()[0]!;
    assert.equal(upstream.status, "SUCCEEDED");
    ds.tasks.force(upstream.id, { expireUrlsInMs: 0 });
    assert.equal((await fetch(upstream.videoUrl!)).status, 403, "DashScope's URL is gone");
    const bytes = Buffer.from(await (await fetch(String(task.url))).arrayBuffer());
    const out = join(t.dataDir, "dashscope.mp4");
    await writeFile(out, bytes);
    assert.equal((await clipFacts(out)).videoCodec, "h264");
  });

  test("with the DashScope channel disabled, the same flow goes through fal", async () => {
    const res = await t.api(`/v1/admin/channels/${dsChannel.id}/disable`, { method: "POST" });
    assert.equal(res.status, 200);
    const before = ds.journal.list({ method: "POST", path: CREATE }).length;
    const task = await seedFlow();
    assert.equal(task.provider, "fal");
    assert.equal(ds.journal.list({ method: "POST", path: CREATE }).length, before, "DashScope got nothing");

    const posts = fal.journal.list({ method: "POST", path: "/alibaba/happy-horse/image-to-video" });
    assert.equal(posts.length, 1);
    const post = posts[0]!;
    assert.match(post.headers.authorization!, /^Key \[redacted/);
    assert.match(String(post.query.fal_webhook), /\/hooks\/upstream\//, "a webhook is asked for");
    const body = post.body as Json;
    assert.match(body.image_url, /^data:image\/jpeg;base64,/);
    assert.equal(body.prompt, "the camera slowly pushes in");
    assert.equal(body.resolution, "720p", "fal's own naming: lower case");
    assert.equal(body.duration, 5);
    assert.equal("aspect_ratio" in body, false);
    const request = fal.requests.list()[0]!;
    // Status and result went to the URLs fal returned (owner/app only), never a rebuilt path.
    const base = `/alibaba/happy-horse/requests/${request.id}`;
    assert.ok(fal.journal.list({ method: "GET", path: `${base}/status` }).length >= 1);
    assert.equal(fal.journal.list({ method: "GET", path: base }).at(-1)?.status, 200);
    assert.equal(fal.journal.list({ path: /image-to-video\/requests/ }).length, 0);
    // fal signed and delivered its webhook to the gateway's hook URL.
    await until(() => fal.callbacks.attempts().some((a) => a.ok), 5000, "the webhook");
    const hook = fal.callbacks.attempts()[0]!;
    assert.match(hook.headers["x-fal-webhook-signature"]!, /^[0-9a-f]{128}$/);
    await t.api(`/v1/admin/channels/${dsChannel.id}/enable`, { method: "POST" });
  });
});

describe("DashScope: text-to-video and faults", () => {
  let t: TestServer;
  let ds: DashScopeDouble;
  before(async () => {
    ds = await startDashScopeDouble({ profile: "singapore" });
    t = await startTestServer(gatewayOptions);
    await addChannel(t, dashscopeChannel(ds));
  });
  after(async () => {
    await t.stop();
    await ds.close();
  });

  test("text-to-video: ratio, seed and an asked-for watermark are sent; 1080P by default", async () => {
    const id = await submit(t, {
      model: T2V,
      prompt: "a horse gallops along a beach at dawn",
      seconds: "4",
      metadata: { ratio: "9:16", seed: 42, watermark: true },
    });
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    const body = ds.journal.last({ method: "POST", path: CREATE })!.body as Json;
    assert.deepEqual(body, {
      model: T2V,
      input: { prompt: "a horse gallops along a beach at dawn" },
      parameters: { resolution: "1080P", watermark: true, ratio: "9:16", duration: 4, seed: 42 },
    });
    // A seed of -1 means random: DashScope takes no seed for that.
    const random = await submit(t, text("random seed", { seed: -1 }));
    assert.equal((await waitForTask(t, random, { timeoutMs: 30_000 })).status, "succeeded");
    assert.equal(
      "seed" in (ds.journal.last({ method: "POST", path: CREATE })!.body as Json).parameters,
      false,
    );
  });

  test("Throttling on submit: nothing was created; the task goes through after a back-off", async () => {
    ds.journal.clear();
    ds.faults.add({ match: { method: "POST", path: CREATE }, action: { error: "Throttling" } });
    const id = await submit(t, text("throttled once"));
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.deepEqual(
      ds.journal.list({ method: "POST", path: CREATE }).map((e) => e.status),
      [429, 200],
    );
  });

  test("moderation: DataInspectionFailed at submit and on the output both fail the task clearly", async () => {
    const input = await submit(t, text("[[moderate]] refused input"));
    const output = await submit(t, text("[[moderate:output]] refused output"));
    const a = await waitForTask(t, input, { timeoutMs: 30_000 });
    const b = await waitForTask(t, output, { timeoutMs: 30_000 });
    for (const task of [a, b]) {
      assert.equal(task.status, "failed");
      assert.equal((task.error as Json).code, "content_moderated");
      assert.match((task.error as Json).message, /DataInspectionFailed/);
    }
  });

  test("a failed task carries DashScope's code; a task cancelled at DashScope fails as cancelled", async () => {
    const failed = await submit(t, text("[[fail:InvalidParameter]] fails later"));
    const f = await waitForTask(t, failed, { timeoutMs: 30_000 });
    assert.equal(f.status, "failed");
    assert.equal((f.error as Json).code, "InvalidParameter");

    const held = await submit(t, text("[[queue:3600]] cancelled elsewhere"));
    ds.tasks.force(await upstreamOf(t, held), { status: "CANCELED" });
    const c = await waitForTask(t, held, { timeoutMs: 30_000 });
    assert.equal(c.status, "failed");
    assert.equal((c.error as Json).code, "cancelled");
  });

  test("UNKNOWN (HTTP 200): an expired or unknown task id fails as expired", async () => {
    const forgotten = await submit(t, text("[[queue:3600]] forgotten"));
    ds.tasks.force(await upstreamOf(t, forgotten), { forget: true });
    const aged = await submit(t, text("[[queue:360000]] aged out"));
    const agedUp = await upstreamOf(t, aged);
    ds.clock.advance(25 * HOUR);
    for (const id of [forgotten, aged]) {
      const task = await waitForTask(t, id, { timeoutMs: 30_000 });
      assert.equal(task.status, "failed");
      assert.equal((task.error as Json).code, "expired");
      assert.match((task.error as Json).message, /UNKNOWN.*24 h/);
    }
    assert.equal(
      ds.journal.last({ method: "GET", path: `/api/v1/tasks/${agedUp}` })?.status,
      200,
      "UNKNOWN is HTTP 200",
    );
  });

  test("honest cancel: a PENDING task is stopped at DashScope; a RUNNING one answers 409, runs on and is settled", async () => {
    ds.journal.clear();
    const get = async (id: string) => (await (await t.api(`/v1/video/generations/${id}`)).json()) as Json;
    const pending = await submit(t, text("[[queue:3600]] cancel me while pending"));
    const pendingUp = await upstreamOf(t, pending);
    assert.equal((await get(pending)).cancellable, true);
    const stopped = await t.api(`/v1/video/generations/${pending}/cancel`, { method: "POST" });
    assert.equal(stopped.status, 200);
    const stoppedTask = (await stopped.json()) as Json;
    assert.equal(stoppedTask.error.code, "cancelled");
    assert.equal(stoppedTask.cancellable, false);
    // Marked cancelled only after DashScope stopped it: the upstream state is already CANCELED.
    assert.equal(ds.tasks.get(pendingUp)?.status, "CANCELED");
    assert.equal(ds.journal.last({ method: "POST", path: `/api/v1/tasks/${pendingUp}/cancel` })?.status, 200);

    const running = await submit(t, text("[[queue:0]] [[run:1800]] cancel me while running"));
    const runningUp = await upstreamOf(t, running);
    await until(
      async () => (await get(running)).cancellable === false,
      10_000,
      "the gateway to see it running",
    );
    assert.equal(ds.tasks.get(runningUp)?.status, "RUNNING");
    const refused = await t.api(`/v1/video/generations/${running}/cancel`, { method: "POST" });
    assert.equal(refused.status, 409);
    const error = ((await refused.json()) as Json).error;
    assert.equal(error.code, "task_not_cancellable");
    assert.equal(error.param, "task_id");
    assert.match(
      error.message,
      /DashScope has started this task.*runs on to its end and is settled as usual/,
    );
    const finished = await waitForTask(t, running, { timeoutMs: 30_000 });
    assert.equal(finished.status, "succeeded", "the upstream job ran on, and the task follows it");
    assert.ok(Number((finished.usage as Json).cost) > 0, "and it is billed like any finished task");
  });

  test("DashScope's own refusal (a task our last poll still saw PENDING has started) is a refusal, not an error", async () => {
    const id = await submit(t, text("[[queue:0]] [[stuck]] started between polls"));
    const up = await upstreamOf(t, id);
    await until(() => ds.tasks.get(up)?.status === "RUNNING", 5000, "running upstream");
    const task = (await t.server.services.taskRepo.getById(id))!;
    const channel = await t.server.services.channels.require(task.channel_id!);
    const adapter = t.server.services.channels.adapterFor(channel);
    const outcome = await adapter.cancel!(up, t.server.services.channels.context(channel, T2V));
    assert.equal(outcome.cancelled, false);
    assert.match(
      (outcome as { reason: string }).reason,
      /only tasks still waiting to start.*UnsupportedOperation/,
    );
    assert.equal(ds.journal.last({ method: "POST", path: `/api/v1/tasks/${up}/cancel` })?.status, 400);
  });

  test("a task stuck RUNNING forever fails with timeout", async () => {
    const stuck = await startTestServer({ ...gatewayOptions, taskTimeoutSeconds: 2 });
    try {
      await addChannel(stuck, dashscopeChannel(ds));
      const id = await submit(stuck, text("[[stuck]] forever"));
      const task = await waitForTask(stuck, id, { timeoutMs: 15_000 });
      assert.equal(task.status, "failed");
      assert.equal((task.error as Json).code, "timeout");
    } finally {
      await stuck.stop();
    }
  });
});

describe("DashScope: failover on a broken channel", () => {
  let t: TestServer;
  let primary: DashScopeDouble;
  let secondary: DashScopeDouble;
  before(async () => {
    primary = await startDashScopeDouble({ profile: "beijing" });
    secondary = await startDashScopeDouble({ profile: "workspace" });
    t = await startTestServer(gatewayOptions);
    // A Singapore key on the Beijing host: InvalidApiKey.
    await addChannel(
      t,
      dashscopeChannel(primary, { name: "wrong-region", priority: 10, api_key: DEFAULT_DS_KEYS.singapore }),
    );
    await addChannel(
      t,
      dashscopeChannel(secondary, {
        name: "workspace",
        priority: 0,
        base_url: `${secondary.baseUrl}/api/v1?workspace=ws-test`,
      }),
    );
  });
  after(async () => {
    await t.stop();
    await primary.close();
    await secondary.close();
  });

  test("InvalidApiKey (a key of another region) → the next channel takes the task", async () => {
    const id = await submit(t, text("wrong key first"));
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    const refused = primary.journal.last({ method: "POST", path: CREATE })!;
    assert.equal(refused.status, 401);
    const accepted = secondary.journal.last({ method: "POST", path: CREATE })!;
    assert.equal(accepted.status, 200);
    assert.equal(accepted.headers["x-dashscope-workspace"], "ws-test", "the workspace option is sent");
  });

  test("Arrearage and InternalError are not the request's fault: another channel serves it", async () => {
    const list = (await (await t.api("/v1/admin/channels")).json()) as {
      data: Array<{ id: string; name: string }>;
    };
    const wrong = list.data.find((c) => c.name === "wrong-region")!;
    await t.api(`/v1/admin/channels/${wrong.id}`, {
      method: "PATCH",
      json: { api_key: DEFAULT_DS_KEYS.beijing },
    });
    await new Promise((r) => setTimeout(r, 1100)); // the breaker opened by the bad key cools down
    primary.faults.add({ match: { method: "POST", path: CREATE }, action: { error: "Arrearage" } });
    const a = await submit(t, text("overdue account"));
    assert.equal((await waitForTask(t, a, { timeoutMs: 30_000 })).status, "succeeded");
    assert.equal(primary.journal.last({ method: "POST", path: CREATE })!.status, 403);
    await new Promise((r) => setTimeout(r, 1100));
    primary.faults.add({ match: { method: "POST", path: CREATE }, action: { error: "InternalError" } });
    const b = await submit(t, text("internal error"));
    assert.equal((await waitForTask(t, b, { timeoutMs: 30_000 })).status, "succeeded");
    assert.equal(primary.journal.last({ method: "POST", path: CREATE })!.status, 500);
  });
});

describe("DashScope: the 20 QPS query budget is shared by all tasks of an account", () => {
  test("polling more tasks than the budget allows slows down instead of collecting 429s", async () => {
    const QPS = 5;
    // Tasks of about 2.5 s (real) each, polled every few ms if the gateway could: demand far above the budget.
    const ds = await startDashScopeDouble({
      profile: "beijing",
      queryQps: QPS,
      queueDelayMs: 60_000,
      runMsPer5s: { "720P": 2_400_000, "1080P": 2_400_000 },
    });
    const t = await startTestServer(gatewayOptions);
    try {
      // The double's throttle is real: a burst past the budget gets 429 Throttling.RateQuota.
      const burst = await Promise.all(
        Array.from({ length: QPS + 3 }, () =>
          fetch(`${ds.baseUrl}/api/v1/tasks/none`, { headers: { authorization: `Bearer ${ds.keys[0]}` } }),
        ),
      );
      const codes = await Promise.all(burst.map(async (r) => [r.status, ((await r.json()) as Json).code]));
      assert.ok(codes.some(([s, c]) => s === 429 && c === "Throttling.RateQuota"));
      await new Promise((r) => setTimeout(r, 1100));
      ds.journal.clear();

      await addChannel(t, dashscopeChannel(ds, { base_url: `${ds.baseUrl}?qps=${QPS}` }));
      const ids = await Promise.all(Array.from({ length: 12 }, (_, i) => submit(t, text(`budget ${i}`))));
      for (const id of ids) {
        const task = await waitForTask(t, id, { timeoutMs: 45_000 });
        assert.equal(task.status, "succeeded", JSON.stringify(task.error));
      }
      const queries = ds.journal.list({ method: "GET", path: TASK });
      assert.ok(queries.length > 2 * QPS, `several seconds of polling (${queries.length} queries)`);
      assert.equal(queries.filter((q) => q.status === 429).length, 0, "no query was throttled");
      const worst = busiestWindow(
        queries.map((q) => q.realTime),
        1000,
      );
      assert.ok(worst <= QPS, `at most ${QPS} queries in any second (saw ${worst})`);
      assert.equal(worst, QPS, "the budget was the limit: some second used all of it");
    } finally {
      await t.stop();
      await ds.close();
    }
  });
});

function directClient(d: DashScopeDouble, key = d.keys[0]!) {
  return async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${d.baseUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...(method === "POST" && path === CREATE ? { "x-dashscope-async": "enable" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
}

const png = async (width: number, height: number) =>
  `data:image/png;base64,${(
    await sharp({ create: { width, height, channels: 3, background: "#808080" } })
      .png()
      .toBuffer()
  ).toString("base64")}`;

describe("the DashScope double itself (docs/providers.md §7.2)", () => {
  let ds: DashScopeDouble;
  let call: ReturnType<typeof directClient>;
  before(async () => {
    // Manual clock: time moves only when the test says so.
    ds = await startDashScopeDouble({
      clockScale: 0,
      clockStart: Date.UTC(2026, 3, 20, 9, 55, 17),
      jitter: 0,
    });
    call = directClient(ds);
  });
  after(() => ds.close());

  const t2v = (parameters: Record<string, unknown> = {}, input: Record<string, unknown> = {}) => ({
    model: "happyhorse-1.0-t2v",
    input: { prompt: "a horse", ...input },
    parameters: { resolution: "720P", duration: 5, ...parameters },
  });

  test("async only, Bearer keys of this region only, unknown models 404", async () => {
    const sync = await call("POST", CREATE, t2v(), { "x-dashscope-async": "disable" });
    assert.equal(sync.status, 403);
    assert.match(sync.body.message, /does not support synchronous calls/);
    const foreign = await directClient(ds, DEFAULT_DS_KEYS.singapore)("POST", CREATE, t2v());
    assert.equal(foreign.status, 401);
    assert.equal(foreign.body.code, "InvalidApiKey");
    assert.match(foreign.body.message, /another region/);
    assert.ok(foreign.body.request_id);
    const unknown = await call("POST", CREATE, { ...t2v(), model: "happyhorse-9-t2v" });
    assert.equal(unknown.status, 404);
  });

  test("parameter validation: case, types, ranges, per-model fields and media counts", async () => {
    const image = await png(640, 480);
    const bad: Array<[string, unknown, RegExp]> = [
      ["lower-case resolution", t2v({ resolution: "720p" }), /upper case/],
      ["duration as a string", t2v({ duration: "5" }), /integer/],
      ["duration out of range", t2v({ duration: 16 }), /between 3 and 15/],
      ["seed out of range", t2v({ seed: 2147483648 }), /seed/],
      ["no prompt on t2v", t2v({}, { prompt: "" }), /prompt is required/],
      [
        "ratio on i2v",
        {
          model: "happyhorse-1.0-i2v",
          input: { media: [{ type: "first_frame", url: image }] },
          parameters: { ratio: "16:9" },
        },
        /ratio is not supported/,
      ],
      ["legacy img_url", { model: "happyhorse-1.0-i2v", input: { img_url: image } }, /img_url/],
      [
        "two images on i2v",
        {
          model: "happyhorse-1.0-i2v",
          input: {
            media: [
              { type: "first_frame", url: image },
              { type: "first_frame", url: image },
            ],
          },
        },
        /exactly one/,
      ],
      [
        "ten references on r2v",
        {
          model: "happyhorse-1.0-r2v",
          input: {
            prompt: "x",
            media: Array.from({ length: 10 }, () => ({ type: "reference_image", url: image })),
          },
        },
        /1 to 9/,
      ],
      [
        "duration on edit",
        {
          model: "happyhorse-1.0-video-edit",
          input: { prompt: "x", media: [{ type: "video", url: "https://example.com/a.mp4" }] },
          parameters: { duration: 5 },
        },
        /duration is not supported/,
      ],
      [
        "an image too small",
        {
          model: "happyhorse-1.0-i2v",
          input: { media: [{ type: "first_frame", url: await png(200, 200) }] },
        },
        /at least 300 px/,
      ],
    ];
    for (const [what, body, message] of bad) {
      const res = await call("POST", CREATE, body);
      assert.equal(res.status, 400, what);
      assert.equal(res.body.code, "InvalidParameter", what);
      assert.match(res.body.message, message, what);
    }
  });

  test("PENDING → RUNNING → SUCCEEDED with string timestamps, orig_prompt, OSS URL and usage", async () => {
    const created = await call("POST", CREATE, t2v({ ratio: "9:16", duration: 10 }));
    assert.equal(created.status, 200);
    assert.equal(created.body.output.task_status, "PENDING");
    const id = created.body.output.task_id as string;
    assert.match(id, /^[0-9a-f-]{36}$/);
    assert.equal((await call("GET", `/api/v1/tasks/${id}`)).body.output.task_status, "PENDING");
    ds.clock.advance(21_000);
    assert.equal((await call("GET", `/api/v1/tasks/${id}`)).body.output.task_status, "RUNNING");
    ds.clock.advance(2 * MIN);
    const done = (await call("GET", `/api/v1/tasks/${id}`)).body;
    assert.equal(done.output.task_status, "SUCCEEDED");
    assert.equal(done.output.submit_time, "2026-04-20 17:55:17.000", "Beijing time, no zone marker");
    assert.match(done.output.scheduled_time, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
    assert.equal(done.output.orig_prompt, "a horse");
    assert.match(
      done.output.video_url,
      /\/oss\/dashscope-result-bj\/.*\.mp4\?Expires=\d+&OSSAccessKeyId=.*&Signature=/,
    );
    assert.deepEqual(done.usage, {
      duration: 10,
      input_video_duration: 0,
      output_video_duration: 10,
      video_count: 1,
      SR: 720,
      ratio: "9:16",
    });
    const video = await fetch(done.output.video_url);
    assert.equal(video.status, 200);
    assert.equal(video.headers.get("content-type"), "video/mp4");
    ds.clock.advance(25 * 60 * MIN);
    assert.equal((await fetch(done.output.video_url)).status, 403, "the URL expires after 24 h");
    const gone = await call("GET", `/api/v1/tasks/${id}`);
    assert.equal(gone.status, 200);
    assert.equal(gone.body.output.task_status, "UNKNOWN", "and so does the task id");
  });

  test("cancel: PENDING only; RUNNING answers an error; the list shows the account's tasks", async () => {
    const a = (await call("POST", CREATE, t2v())).body.output.task_id;
    assert.equal((await call("POST", `/api/v1/tasks/${a}/cancel`)).status, 200);
    assert.equal((await call("GET", `/api/v1/tasks/${a}`)).body.output.task_status, "CANCELED");
    const b = (await call("POST", CREATE, t2v())).body.output.task_id;
    ds.clock.advance(21_000);
    const refused = await call("POST", `/api/v1/tasks/${b}/cancel`);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, "UnsupportedOperation");
    const list = await call("GET", "/api/v1/tasks?page_no=1&page_size=10&status=CANCELED");
    assert.equal(list.status, 200);
    assert.ok(list.body.data.some((x: Json) => x.task_id === a && x.task_status === "CANCELED"));
  });

  test("async failures: moderation of the output, and a media URL that cannot be downloaded", async () => {
    const moderated = (await call("POST", CREATE, t2v({}, { prompt: "[[moderate:output]] x" }))).body.output
      .task_id;
    const gone = await startReceiver((_r, _i, res) => {
      res.statusCode = 404;
      res.end();
    });
    const unreachable = (
      await call("POST", CREATE, {
        model: "happyhorse-1.0-i2v",
        input: { media: [{ type: "first_frame", url: `${gone.url}.png` }] },
      })
    ).body.output.task_id;
    await new Promise((r) => setTimeout(r, 300)); // the download happens in real time
    await gone.close();
    ds.clock.advance(10 * MIN);
    const m = (await call("GET", `/api/v1/tasks/${moderated}`)).body.output;
    assert.deepEqual([m.task_status, m.code], ["FAILED", "DataInspectionFailed"]);
    const u = (await call("GET", `/api/v1/tasks/${unreachable}`)).body.output;
    assert.deepEqual([u.task_status, u.code], ["FAILED", "InvalidParameter"]);
    assert.match(u.message, /Download the media resource failed: HTTP 404/);
    const sync = await call("POST", CREATE, t2v({}, { prompt: "[[moderate]] x" }));
    assert.deepEqual([sync.status, sync.body.code], [400, "DataInspectionFailed"]);
  });

  test("throttles: the per-account query QPS, the create RPS and the concurrent-task cap", async () => {
    await new Promise((r) => setTimeout(r, 1100)); // the window is real time: let earlier calls age out
    ds.updateSettings({ queryQps: 3, createRps: 2, maxConcurrentTasks: null });
    const queries = await Promise.all(Array.from({ length: 5 }, () => call("GET", "/api/v1/tasks/nope")));
    assert.deepEqual(queries.map((q) => q.status).sort(), [200, 200, 200, 429, 429]);
    assert.equal(queries.find((q) => q.status === 429)!.body.code, "Throttling.RateQuota");
    const creates = await Promise.all(Array.from({ length: 3 }, () => call("POST", CREATE, t2v())));
    assert.deepEqual(creates.map((c) => c.body.code ?? "ok").sort(), ["Throttling", "ok", "ok"]);
    await new Promise((r) => setTimeout(r, 1100));
    ds.updateSettings({ createRps: null, maxConcurrentTasks: 1 });
    for (const t of ds.tasks.list()) if (t.status === "PENDING") ds.tasks.force(t.id, { status: "CANCELED" });
    assert.equal((await call("POST", CREATE, t2v())).status, 200);
    const capped = await call("POST", CREATE, t2v());
    assert.deepEqual([capped.status, capped.body.code], [429, "Throttling.AllocationQuota"]);
    ds.updateSettings({ queryQps: 20, maxConcurrentTasks: null });
  });

  test("faults through the control API: Arrearage, InternalError, a task that stays RUNNING", async () => {
    ds.faults.add({ match: { method: "POST", path: CREATE }, action: { error: "Arrearage" } });
    const overdue = await call("POST", CREATE, t2v());
    assert.deepEqual([overdue.status, overdue.body.code], [403, "Arrearage"]);
    ds.faults.add({ match: { method: "POST", path: CREATE }, action: { error: "InternalError" } });
    assert.equal((await call("POST", CREATE, t2v())).status, 500);
    const id = (await call("POST", CREATE, t2v({}, { prompt: "[[stuck]] forever" }))).body.output.task_id;
    ds.clock.advance(12 * 60 * MIN);
    assert.equal((await call("GET", `/api/v1/tasks/${id}`)).body.output.task_status, "RUNNING");
  });
});
