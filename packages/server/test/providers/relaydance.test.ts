import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { mapStatus } from "../../src/providers/relaydance/adapter.ts";
import { readTask, taskIdOf } from "../../src/providers/relaydance/wire.ts";
import { sampleMedia } from "../doubles/lib/media.ts";
import { sample } from "../helpers/paths.ts";
import { startReceiver, until } from "../helpers/receiver.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";

const I2V = "happyhorse-1.0-i2v";
const SEEDANCE = "seedance-1-5-pro-with-audio";

const gatewayOptions = {
  upstreamPollScale: 0.01,
  upstreamSubmitTimeoutSeconds: 2,
  breakerCooldownSeconds: 1,
  sweepIntervalSeconds: 1,
};

// biome-ignore lint/suspicious/noExplicitAny: JSON is inspected loosely in tests.
type Json = any;

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/**
 * Two vidrelay instances: `front` relays to `back` through a RelayDance-compatible channel; `back`
 * renders with its local engine. `back` may reach loopback (webhooks to `front`, test media).
 */
describe("a vidrelay relaying to another vidrelay", () => {
  let front: TestServer;
  let back: TestServer;
  let backKey: string;
  let channelId: string;
  before(async () => {
    back = await startTestServer({ allowPrivateTargets: "127.0.0.1" });
    backKey = await back.newAccountKey("front-gateway");
    front = await startTestServer(gatewayOptions);
    const res = await front.api("/v1/admin/channels", {
      method: "POST",
      json: {
        name: "back",
        provider: "relaydance",
        base_url: `${back.url}/v1?callbacks=on`,
        api_key: backKey,
        models: { [I2V]: I2V, [SEEDANCE]: SEEDANCE },
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    channelId = ((await res.json()) as { id: string }).id;
  });
  after(async () => {
    await front.stop();
    await back.stop();
  });

  const asBack = () => ({ headers: { authorization: `Bearer ${backKey}` } });
  const backTask = async (id: string) =>
    (await (await back.api(`/v1/video/generations/${id}`, asBack())).json()) as Json;
  const upstreamOf = async (id: string) => {
    let upstream = "";
    await until(
      async () => {
        upstream = (await front.server.services.taskRepo.getById(id))?.upstream_id ?? "";
        return upstream !== "";
      },
      10_000,
      "an upstream id",
    );
    return upstream;
  };

  test("the seed i2v flow: statuses, progress and the final video survive the hop", async () => {
    const file = (await (await uploadFile(front, sample("photo-saw-2725x2225.jpg"))).json()) as {
      url: string;
    };
    const res = await front.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: I2V,
        prompt: "@image1 the camera slowly pushes in",
        seconds: "3",
        metadata: {
          resolution: "720p",
          content: [{ type: "image_url", image_url: { url: file.url }, role: "reference_image" }],
        },
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { task_id } = (await res.json()) as { task_id: string };

    // Watch the front task while the back renders.
    const seen: Array<{ status: string; progress: number }> = [];
    let task: Json;
    for (;;) {
      task = (await (await front.api(`/v1/video/generations/${task_id}`)).json()) as Json;
      seen.push({ status: task.status, progress: task.progress });
      if (task.status === "succeeded" || task.status === "failed") break;
      await new Promise((r) => setTimeout(r, 40));
    }
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.equal(task.provider, "relaydance");
    const running = seen.filter((s) => s.status === "running");
    assert.ok(running.length > 0, "the front reported running while the back rendered");
    assert.ok(
      running.some((s) => s.progress > 0 && s.progress < 100),
      `the back's progress was carried: ${JSON.stringify(running.map((s) => s.progress))}`,
    );
    for (let i = 1; i < running.length; i++) assert.ok(running[i]!.progress >= running[i - 1]!.progress);

    // The back got the request in the contract's own terms.
    const upstream = await upstreamOf(task_id);
    const remote = await backTask(upstream);
    assert.equal(remote.status, "succeeded");
    assert.equal(remote.model, I2V);
    assert.equal(remote.seconds, "3");
    assert.equal(remote.prompt, "@image1 the camera slowly pushes in", "citations pass through unchanged");
    assert.equal(remote.metadata.resolution, "720p");
    assert.equal(remote.metadata.ratio, "adaptive");

    // The same bytes, re-hosted by the front under its own URL.
    const mine = Buffer.from(await (await fetch(String(task.url))).arrayBuffer());
    const theirs = Buffer.from(
      await (await back.api(`/v1/video/generations/${upstream}/content`, asBack())).arrayBuffer(),
    );
    assert.equal(sha256(mine), sha256(theirs));
    assert.ok(String(task.url).startsWith(front.url));
    for (const key of ["width", "height", "fps", "has_audio", "bytes"])
      assert.equal(task.video[key], remote.video[key]);

    // The back announced the result to the front's hook (a hint; the front re-polled with its key).
    await until(
      async () => {
        const d = (await (
          await back.api(`/v1/video/generations/${upstream}/deliveries`, asBack())
        ).json()) as Json;
        return (d.data ?? []).some(
          (x: Json) =>
            x.url.includes("/hooks/upstream/") && x.attempts.some((a: Json) => a.status_code === 200),
        );
      },
      10_000,
      "the webhook to the front",
    );
  });

  test("the last frame and the vendor parameters travel too", async () => {
    const res = await front.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: SEEDANCE,
        prompt: "a paper boat drifts",
        seconds: "4",
        metadata: { resolution: "480p", ratio: "1:1", seed: 5, return_last_frame: true, camera_fixed: true },
      },
    });
    const { task_id } = (await res.json()) as { task_id: string };
    const task = (await waitForTask(front, task_id, { timeoutMs: 60_000 })) as Json;
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.ok(task.last_frame_url, "the back's last frame was copied");
    assert.equal((await fetch(task.last_frame_url)).headers.get("content-type"), "image/png");
    const remote = await backTask(await upstreamOf(task_id));
    assert.deepEqual(remote.metadata, {
      ratio: "1:1",
      resolution: "480p",
      generate_audio: true,
      seed: 5,
      camera_fixed: true,
      return_last_frame: true,
    });
  });

  test("a task that fails on the back fails on the front with the same code and message", async () => {
    // A media URL nobody answers: the back's local engine cannot fetch it and fails the task.
    const gone = await startReceiver();
    await gone.close();
    const res = await front.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: I2V,
        seconds: "3",
        metadata: {
          resolution: "720p",
          content: [{ type: "image_url", image_url: { url: `${gone.url}.jpg` }, role: "first_frame" }],
        },
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { task_id } = (await res.json()) as { task_id: string };
    const task = (await waitForTask(front, task_id, { timeoutMs: 30_000 })) as Json;
    const remote = await backTask(await upstreamOf(task_id));
    assert.equal(remote.status, "failed");
    assert.equal(task.status, "failed");
    assert.deepEqual(task.error, remote.error);
    assert.equal(task.error.code, "media_fetch_failed");
    assert.match(task.error.message, /could not fetch image 1/);
  });

  test("cancelled on the back → failed/cancelled on the front; cancelled on the front → cancelled on the back", async () => {
    const submit = async (prompt: string) => {
      const res = await front.api("/v1/video/generations", {
        method: "POST",
        json: { model: SEEDANCE, prompt, seconds: "8", metadata: { resolution: "720p" } },
      });
      return ((await res.json()) as { task_id: string }).task_id;
    };
    const a = await submit("cancelled at the back");
    const aUp = await upstreamOf(a);
    const cancel = await back.api(`/v1/video/generations/${aUp}/cancel`, { method: "POST", ...asBack() });
    assert.equal(cancel.status, 200);
    const ta = (await waitForTask(front, a, { timeoutMs: 30_000 })) as Json;
    assert.equal(ta.status, "failed");
    assert.deepEqual(ta.error, (await backTask(aUp)).error);
    assert.equal(ta.error.code, "cancelled");

    const b = await submit("cancelled at the front");
    const bUp = await upstreamOf(b);
    await front.api(`/v1/video/generations/${b}/cancel`, { method: "POST" });
    await until(
      async () => (await backTask(bUp)).status === "failed",
      10_000,
      "the cancel to reach the back",
    );
    assert.equal((await backTask(bUp)).error.code, "cancelled");
  });

  test("the channel test works; a request the back refuses (400) fails at once with its code", async () => {
    const check = (await (
      await front.api(`/v1/admin/channels/${channelId}/test`, { method: "POST" })
    ).json()) as Json;
    assert.equal(check.ok, true);
    // Map a 1–15 s model onto the back's 4–12 s one: a 2 s request passes here and is refused there.
    await front.api(`/v1/admin/channels/${channelId}`, {
      method: "PATCH",
      json: { models: { [I2V]: I2V, [SEEDANCE]: SEEDANCE, "grok-imagine-video": SEEDANCE } },
    });
    const res = await front.api("/v1/video/generations", {
      method: "POST",
      json: { model: "grok-imagine-video", prompt: "too short for the back", seconds: "2" },
    });
    const { task_id } = (await res.json()) as { task_id: string };
    const task = (await waitForTask(front, task_id, { timeoutMs: 30_000 })) as Json;
    assert.equal(task.status, "failed");
    assert.equal(task.error.code, "unsupported_by_model");
    assert.match(task.error.message, /seconds must be a whole number from 4 to 12.*\(seconds\)/);
    const row = await front.server.services.taskRepo.getById(task_id);
    assert.equal(row!.upstream_id, null, "nothing was created upstream");
  });
});

describe("RelayDance-compatible gateways in the wild", () => {
  test("statuses, envelopes, URLs, progress and errors in the variants other gateways send", () => {
    const map = (json: unknown) => mapStatus(readTask(json)!);
    assert.deepEqual(map({ task_id: "t", status: "queued" }), { type: "queued" });
    assert.deepEqual(map({ code: 0, data: { task_id: "t", status: "SUBMITTED" } }), { type: "queued" });
    assert.deepEqual(
      map({ code: "success", message: "", data: { task_id: "t", status: "IN_PROGRESS", progress: "45%" } }),
      {
        type: "running",
        progress: 45,
      },
    );
    assert.deepEqual(map({ id: "t", status: "RUNNING", progress: 30 }), { type: "running", progress: 30 });
    for (const body of [
      { status: "succeeded", url: "https://a/v.mp4" },
      { status: "SUCCESS", metadata: { url: "https://a/v.mp4" } },
      { code: 200, data: { status: "completed", result_url: "https://a/v.mp4" } },
      { status: "succeeded", video_url: "https://a/v.mp4" },
    ])
      assert.equal((map(body) as { videoUrl: string }).videoUrl, "https://a/v.mp4", JSON.stringify(body));
    assert.deepEqual(map({ status: "FAILURE", fail_reason: "upstream exploded" }), {
      type: "failed",
      code: "upstream_failed",
      message: "upstream exploded",
      retryable: false,
    });
    assert.deepEqual(map({ status: "failed", error: { code: "content_moderated", message: "no" } }), {
      type: "failed",
      code: "content_moderated",
      message: "no",
      retryable: false,
    });
    assert.equal((map({ status: "canceled" }) as { code: string }).code, "cancelled");
    assert.equal((map({ status: "expired" }) as { code: string }).code, "expired");
    assert.equal(map({ status: "succeeded" }).type, "failed", "success without a URL is not success");
    assert.deepEqual(map({ status: "paused" }), { type: "unknown", raw: "paused" });
    assert.equal(taskIdOf({ code: 0, data: { task_id: "abc" } }), "abc");
    assert.equal(taskIdOf({ id: "xyz", object: "video" }), "xyz");
  });

  test("end to end against a gateway that wraps everything in {code, data} and upper-cases statuses", async () => {
    const media = await sampleMedia();
    let polls = 0;
    const received: Json[] = [];
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { "content-type": "application/json" });
          res.end(JSON.stringify(body));
        };
        if (req.method === "POST" && req.url === "/v1/video/generations") {
          received.push(JSON.parse(Buffer.concat(chunks).toString()));
          return send(200, { code: 0, msg: "ok", data: { task_id: "wild-1" } });
        }
        if (req.method === "GET" && req.url === "/v1/video/generations/wild-1") {
          polls++;
          if (polls < 2) return send(200, { code: 0, data: { task_id: "wild-1", status: "QUEUED" } });
          if (polls < 4)
            return send(200, {
              code: 0,
              data: { task_id: "wild-1", status: "IN_PROGRESS", progress: "60%" },
            });
          const { port } = server.address() as AddressInfo;
          return send(200, {
            code: 0,
            data: { task_id: "wild-1", status: "SUCCESS", result_url: `http://127.0.0.1:${port}/out.mp4` },
          });
        }
        if (req.method === "GET" && req.url === "/out.mp4") {
          res.writeHead(200, { "content-type": "video/mp4" });
          return res.end(media.mp4);
        }
        send(404, { code: 404, message: "not found" });
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const t = await startTestServer(gatewayOptions);
    try {
      const { port } = server.address() as AddressInfo;
      const res = await t.api("/v1/admin/channels", {
        method: "POST",
        json: {
          provider: "relaydance",
          base_url: `http://127.0.0.1:${port}`,
          api_key: "sk-wild",
          models: { [SEEDANCE]: "sd15" },
        },
      });
      assert.equal(res.status, 200);
      const sub = await t.api("/v1/video/generations", {
        method: "POST",
        json: { model: SEEDANCE, prompt: "wild", seconds: "4", metadata: { resolution: "480p" } },
      });
      const { task_id } = (await sub.json()) as { task_id: string };
      const task = (await waitForTask(t, task_id, { timeoutMs: 30_000 })) as Json;
      assert.equal(task.status, "succeeded", JSON.stringify(task.error));
      assert.equal(received[0].model, "sd15");
      assert.equal(received[0].seconds, "4");
      assert.equal("callback_url" in received[0].metadata, false, "auto: a loopback hook URL is not offered");
      const bytes = Buffer.from(await (await fetch(task.url)).arrayBuffer());
      assert.equal(sha256(bytes), sha256(media.mp4));
    } finally {
      await t.stop();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
