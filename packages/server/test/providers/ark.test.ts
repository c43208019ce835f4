import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { until } from "../helpers/receiver.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";

const TASKS = "/api/v3/contents/generations/tasks";
const MODEL = "seedance-1-5-pro-with-audio";
const UPSTREAM_MODEL = "doubao-seedance-1-5-pro-251215";

async function addChannel(t: TestServer, double: ArkDouble, extra: Record<string, unknown> = {}) {
  const res = await t.api("/v1/admin/channels", {
    method: "POST",
    json: {
      provider: "ark",
      base_url: double.baseUrl,
      api_key: double.keys[0],
      models: { [MODEL]: UPSTREAM_MODEL, "seedance-1-5-pro-no-audio": UPSTREAM_MODEL },
      ...extra,
    },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return (await res.json()) as { id: string; api_key_hint: string };
}

async function submitText(t: TestServer, prompt: string, extra: Record<string, unknown> = {}) {
  const res = await t.api("/v1/video/generations", {
    method: "POST",
    json: { model: MODEL, prompt, seconds: "5", metadata: { resolution: "480p", ...extra } },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { task_id: string }).task_id;
}

const gatewayOptions = {
  upstreamPollScale: 0.01,
  upstreamSubmitTimeoutSeconds: 1,
  breakerCooldownSeconds: 1,
  sweepIntervalSeconds: 1,
};

describe("Seedance on Ark, end to end against the double", () => {
  let t: TestServer;
  let ark: ArkDouble;
  before(async () => {
    ark = await startArkDouble({ profile: "cn" });
    t = await startTestServer(gatewayOptions);
    await addChannel(t, ark);
  });
  after(async () => {
    await t.stop();
    await ark.close();
  });

  test("the seed flow: exact Ark request, our own re-hosted URL outlives the provider's", async () => {
    const file = (await (await uploadFile(t, sample("photo-saw-2725x2225.jpg"))).json()) as { url: string };
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: MODEL,
        prompt: "@image1 the camera slowly pushes in",
        seconds: "5",
        metadata: {
          ratio: "16:9",
          resolution: "720p",
          content: [{ type: "image_url", image_url: { url: file.url }, role: "reference_image" }],
        },
      },
    });
    assert.equal(res.status, 200);
    const { task_id } = (await res.json()) as { task_id: string };
    const task = await waitForTask(t, task_id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.equal(task.provider, "ark");

    const posts = ark.journal.list({ method: "POST", path: TASKS });
    assert.equal(posts.length, 1);
    const body = posts[0]!.body as Record<string, unknown>;
    assert.equal(body.model, UPSTREAM_MODEL);
    assert.equal(body.duration, 5);
    assert.equal(body.ratio, "16:9");
    assert.equal(body.resolution, "720p");
    assert.equal(body.generate_audio, true);
    const content = body.content as Array<Record<string, unknown>>;
    const text = content.find((c) => c.type === "text") as { text: string };
    assert.equal(text.text.includes("--"), false, "no legacy -- commands in the text");
    const image = content.find((c) => c.type === "image_url") as { role: string; image_url: { url: string } };
    assert.equal(image.role, "first_frame", "a lone reference image on 1.5 pro is sent as first_frame");
    // The gateway is on loopback, which Ark cannot reach: the image goes inline, format lower case.
    assert.match(image.image_url.url, /^data:image\/jpeg;base64,/);
    assert.ok(String(body.callback_url).includes("/hooks/upstream/"));

    // The provider's URL expires; ours keeps serving the ingested copy.
    const upstreamTask = ark.tasks.list().find((x) => x.status === "succeeded")!;
    ark.tasks.force(upstreamTask.id, { expireUrlsInMs: 0 });
    const providerUrl = upstreamTask.content!.video_url;
    assert.equal((await fetch(providerUrl)).status, 403);
    assert.equal(
      String(task.url).includes(new URL(providerUrl).host) && String(task.url).includes("/tos/"),
      false,
    );
    const bytes = Buffer.from(await (await fetch(String(task.url))).arrayBuffer());
    const out = join(t.dataDir, "ark.mp4");
    await writeFile(out, bytes);
    const facts = await clipFacts(out);
    assert.equal(facts.videoCodec, "h264");
    assert.ok((task.video as { bytes: number }).bytes === bytes.length);
  });

  test("the channel's key is sealed at rest and never returned", async () => {
    const list = (await (await t.api("/v1/admin/channels")).json()) as {
      data: Array<Record<string, unknown>>;
    };
    const text = JSON.stringify(list);
    assert.equal(text.includes(ark.keys[0]!), false);
    assert.match(String(list.data[0]!.api_key_hint), /^…/);
    const row = await t.server.database.db.selectFrom("channels").selectAll().executeTakeFirstOrThrow();
    assert.equal(row.api_key_sealed.includes(ark.keys[0]!), false);
    const check = (await (await t.api(`/v1/admin/channels/${row.id}/test`, { method: "POST" })).json()) as {
      ok: boolean;
    };
    assert.equal(check.ok, true);
  });

  test("429 then success: the same task is submitted again later, once created", async () => {
    ark.journal.clear();
    ark.faults.add({
      match: { method: "POST", path: TASKS },
      action: { error: "RateLimitExceeded.EndpointRPMExceeded" },
    });
    const id = await submitText(t, "rate limited once");
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    const posts = ark.journal.list({ method: "POST", path: TASKS });
    assert.deepEqual(
      posts.map((p) => p.status),
      [429, 200],
    );
  });

  test("moderation at submit fails the task with the provider's message", async () => {
    ark.faults.add({
      match: { method: "POST", path: TASKS },
      action: {
        error: "InputTextSensitiveContentDetected",
        message: "The input text may contain sensitive content",
      },
    });
    const id = await submitText(t, "something the provider refuses");
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "failed");
    const error = task.error as { code: string; message: string };
    assert.equal(error.code, "InputTextSensitiveContentDetected");
    assert.match(error.message, /sensitive content/);
  });

  test("moderation of the output, expiry, and an unknown status each resolve correctly", async () => {
    ark.journal.clear();
    ark.updateSettings({ queueDelayMs: 3_600_000 }); // keep them queued until forced
    const moderated = await submitText(t, "moderate the output");
    const expired = await submitText(t, "expire me");
    const paused = await submitText(t, "pause me");
    // Wait until each has an upstream id, then force the upstream states.
    const upstreamOf = async (id: string) => {
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
    };
    ark.tasks.force(await upstreamOf(moderated), {
      status: "failed",
      error: {
        code: "OutputVideoSensitiveContentDetected",
        message: "The output video may contain sensitive content",
      },
    });
    ark.tasks.force(await upstreamOf(expired), { status: "expired" });
    const pausedUpstream = await upstreamOf(paused);
    ark.tasks.force(pausedUpstream, { fakeStatus: { status: "paused", polls: 3 } });
    ark.updateSettings({ queueDelayMs: 100 });

    const m = await waitForTask(t, moderated, { timeoutMs: 30_000 });
    assert.equal(m.status, "failed");
    assert.equal((m.error as { code: string }).code, "content_moderated");
    assert.match((m.error as { message: string }).message, /moderation/);
    const e = await waitForTask(t, expired, { timeoutMs: 30_000 });
    assert.equal(e.status, "failed");
    assert.equal((e.error as { code: string }).code, "expired");
    const p = await waitForTask(t, paused, { timeoutMs: 30_000 });
    assert.equal(p.status, "succeeded", "an unknown status is polled through, never mistaken for terminal");
    const metrics = await (await t.api("/metrics")).text();
    assert.match(metrics, /vidrelay_upstream_unknown_status_total\{provider="ark",status="paused"\} [1-9]/);
  });

  test("a task stuck running past the deadline fails with timeout", async () => {
    const stuckGateway = await startTestServer({ ...gatewayOptions, taskTimeoutSeconds: 2 });
    try {
      await addChannel(stuckGateway, ark);
      ark.updateSettings({ queueDelayMs: 3_600_000 });
      const id = await submitText(stuckGateway, "stuck forever");
      await until(
        async () => !!(await stuckGateway.server.services.taskRepo.getById(id))?.upstream_id,
        10_000,
        "submit",
      );
      const upstream = (await stuckGateway.server.services.taskRepo.getById(id))!.upstream_id!;
      ark.tasks.force(upstream, { status: "running", stuck: true });
      ark.updateSettings({ queueDelayMs: 100 });
      const task = await waitForTask(stuckGateway, id, { timeoutMs: 15_000 });
      assert.equal(task.status, "failed");
      assert.equal((task.error as { code: string }).code, "timeout");
    } finally {
      await stuckGateway.stop();
    }
  });
});

describe("failover and duplicates", () => {
  let t: TestServer;
  let primary: ArkDouble;
  let secondary: ArkDouble;
  before(async () => {
    primary = await startArkDouble({ profile: "cn" });
    secondary = await startArkDouble({ profile: "cn" });
    t = await startTestServer(gatewayOptions);
    await addChannel(t, primary, { name: "primary", priority: 10 });
    await addChannel(t, secondary, { name: "secondary", priority: 0 });
  });
  after(async () => {
    await t.stop();
    await primary.close();
    await secondary.close();
  });

  test("500 on the first channel → the task fails over to the next", async () => {
    primary.faults.add({ match: { method: "POST", path: TASKS }, action: { error: "InternalServiceError" } });
    const id = await submitText(t, "fail over");
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.equal(primary.journal.list({ method: "POST", path: TASKS }).at(-1)?.status, 500);
    assert.equal(secondary.journal.list({ method: "POST", path: TASKS }).length, 1);
  });

  test("an ambiguous timeout never creates a second upstream task: Ark is asked first", async () => {
    primary.journal.clear();
    secondary.journal.clear();
    // The create hangs (Ark made nothing): the gateway cannot know that from the timeout alone.
    primary.faults.add({ match: { method: "POST", path: TASKS }, action: { hang: true } });
    const id = await submitText(t, "ambiguous");
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    // It looked the task up at Ark (by model, matched on the request's echo) before sending again.
    const lookups = primary.journal.list({ method: "GET", path: TASKS });
    assert.ok(
      lookups.some((e) => e.query["filter.model"] === UPSTREAM_MODEL),
      "Ark's list was read first",
    );
    const creates = primary.journal.list({ method: "POST", path: TASKS });
    assert.equal(creates.length, 2, "the hung create, then one more once Ark showed none");
    assert.equal(creates.filter((e) => e.status === 200).length, 1, "one task made at Ark");
    assert.equal(
      secondary.journal.list({ method: "POST", path: TASKS }).length,
      0,
      "not resubmitted elsewhere",
    );
  });

  test("out-of-order and duplicated callbacks never un-finish a task", async () => {
    primary.updateSettings({ callbacks: { duplicates: 2, outOfOrder: true } });
    const id = await submitText(t, "callbacks galore");
    const task = await waitForTask(t, id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded");
    await until(() => primary.callbacks.attempts().length >= 3, 10_000, "callbacks to arrive");
    await new Promise((r) => setTimeout(r, 500));
    const again = (await (await t.api(`/v1/video/generations/${id}`)).json()) as Record<string, unknown>;
    assert.equal(again.status, "succeeded");
    assert.equal(again.progress, 100);
    primary.updateSettings({ callbacks: { duplicates: 0, outOfOrder: false } });
  });

  test("a full channel makes tasks wait in submitted, not fail", async () => {
    const ch = (await (await t.api("/v1/admin/channels")).json()) as {
      data: Array<{ id: string; name: string }>;
    };
    for (const c of ch.data)
      await t.api(`/v1/admin/channels/${c.id}`, { method: "PATCH", json: { max_concurrent: 1 } });
    // Queued for 10 simulated hours (a minute of real time): the two slots stay taken.
    primary.updateSettings({ queueDelayMs: 36_000_000 });
    secondary.updateSettings({ queueDelayMs: 36_000_000 });
    const ids = [await submitText(t, "slot 1"), await submitText(t, "slot 2"), await submitText(t, "waits")];
    await new Promise((r) => setTimeout(r, 1500));
    const rows = await Promise.all(ids.map((id) => t.server.services.taskRepo.getById(id)));
    assert.equal(rows.filter((r) => r?.upstream_id).length, 2, "two tasks hold the two slots");
    const waiting = rows.find((r) => !r?.upstream_id)!;
    assert.equal(waiting.status, "submitted");
    primary.updateSettings({ queueDelayMs: 100 });
    secondary.updateSettings({ queueDelayMs: 100 });
    primary.clock.advance(36_000_000); // the queued tasks run now and free their slots
    secondary.clock.advance(36_000_000);
    for (const id of ids) assert.equal((await waitForTask(t, id, { timeoutMs: 60_000 })).status, "succeeded");
  });
});

describe("routing and the model list", () => {
  test("test-mode keys always render locally; /v1/models lists only what a key may use", async () => {
    const ark = await startArkDouble({ profile: "cn" });
    const t = await startTestServer(gatewayOptions);
    try {
      const before = (await (await t.api("/v1/models")).json()) as { data: Array<{ id: string }> };
      assert.ok(before.data.length >= 7, "with no channel, the local engine serves every model");
      await addChannel(t, ark);
      const live = (await (await t.api("/v1/models")).json()) as {
        data: Array<{ id: string; providers: string[] }>;
      };
      assert.deepEqual(live.data.map((m) => m.id).sort(), ["seedance-1-5-pro-no-audio", MODEL].sort());
      assert.deepEqual(live.data[0]!.providers, ["ark"]);
      const unavailable = await t.api("/v1/video/generations", {
        method: "POST",
        json: { model: "happyhorse-1.0-t2v", prompt: "no channel serves this" },
      });
      assert.equal(unavailable.status, 404);

      const testKey = await t.newAccountKey("tester", true);
      const asTest = { headers: { authorization: `Bearer ${testKey}` } };
      const testModels = (await (await t.api("/v1/models", asTest)).json()) as {
        data: Array<{ providers: string[] }>;
      };
      assert.ok(testModels.data.length >= 7);
      assert.ok(testModels.data.every((m) => m.providers.join() === "local"));
      const res = await t.api("/v1/video/generations", {
        method: "POST",
        ...asTest,
        json: { model: MODEL, prompt: "test mode", seconds: "4", metadata: { resolution: "480p" } },
      });
      const { task_id } = (await res.json()) as { task_id: string };
      const task = await waitForTask(t, task_id, { key: testKey, timeoutMs: 30_000 });
      assert.equal(task.status, "succeeded");
      assert.equal(task.provider, "local");
      assert.equal(
        ark.journal.list({ method: "POST", path: TASKS }).length,
        0,
        "nothing reached the provider",
      );
    } finally {
      await t.stop();
      await ark.close();
    }
  });
});

describe("BytePlus ModelArk profile", () => {
  test("international model ids; a key from the other region is refused at channel test", async () => {
    const intl = await startArkDouble({ profile: "byteplus" });
    const t = await startTestServer(gatewayOptions);
    try {
      const res = await t.api("/v1/admin/channels", {
        method: "POST",
        json: {
          provider: "ark",
          name: "byteplus",
          base_url: intl.baseUrl,
          api_key: intl.keys[0],
          models: { [MODEL]: "seedance-1-5-pro-251215" },
        },
      });
      assert.equal(res.status, 200);
      const id = await submitText(t, "hello from the other region");
      const task = await waitForTask(t, id, { timeoutMs: 30_000 });
      assert.equal(task.status, "succeeded", JSON.stringify(task.error));
      assert.equal(
        (intl.journal.list({ method: "POST", path: TASKS })[0]!.body as { model: string }).model,
        "seedance-1-5-pro-251215",
      );

      const wrong = (await (
        await t.api("/v1/admin/channels", {
          method: "POST",
          json: {
            provider: "ark",
            name: "wrong-region",
            base_url: intl.baseUrl,
            api_key: "ark-cn-test-key",
            models: { [MODEL]: "seedance-1-5-pro-251215" },
            enabled: false,
          },
        })
      ).json()) as { id: string };
      const check = (await (
        await t.api(`/v1/admin/channels/${wrong.id}/test`, { method: "POST" })
      ).json()) as {
        ok: boolean;
        error: string;
      };
      assert.equal(check.ok, false);
      assert.match(check.error, /refused this channel's key/);
    } finally {
      await t.stop();
      await intl.close();
    }
  });
});

describe("settlement on the provider's own usage", () => {
  test("a token-priced model is billed on the completion tokens Ark reported, never above the hold", async () => {
    const ark = await startArkDouble({ profile: "cn" });
    const t = await startTestServer(gatewayOptions);
    try {
      await addChannel(t, ark);
      // $1 per million tokens, nothing per second; the hold assumes at most 30,000 tokens a second.
      const price = await t.api(`/v1/admin/prices/${MODEL}`, {
        method: "PUT",
        json: {
          per_second: { "480p": "0", "720p": "0", "1080p": "0" },
          per_million_tokens: "1",
          tokens_per_second: { "480p": 30000, "720p": 60000, "1080p": 120000 },
        },
      });
      assert.equal(price.status, 200, await price.clone().text());
      const id = await submitText(t, "a lighthouse at dusk");
      const task = (await waitForTask(t, id, { timeoutMs: 30_000 })) as {
        status: string;
        usage?: { cost: string; seconds: number };
      };
      assert.equal(task.status, "succeeded");
      const upstream = ark.tasks.list();
      assert.equal(upstream.length, 1);
      const tokens = upstream[0]!.tokens!;
      assert.ok(tokens > 0 && tokens < 5 * 30000, `the double reported ${tokens} tokens`);
      // One micro-unit per token at $1 per million: the charge is the reported count, not the 150,000 held.
      const charged = Math.round(Number(task.usage?.cost) * 1e6);
      assert.ok(Math.abs(charged - tokens) <= 100, `charged ${task.usage?.cost} for ${tokens} tokens`);
    } finally {
      await t.stop();
      await ark.close();
    }
  });
});
