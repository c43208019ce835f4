/**
 * Deadlines (docs/api.md §3.4): a task with a 60 s deadline on an upstream that will not finish in
 * time fails with `deadline_exceeded`, the provider got the deadline field and the cancel, and the
 * account is not charged. Real time: the test waits the minute.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { startTestServer, type TestServer, waitForTask } from "../helpers/server.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read by path
type Json = any;

const MODEL = "seedance-1-5-pro-with-audio";
const TASKS = "/api/v3/contents/generations/tasks";

describe("metadata.deadline_seconds", () => {
  let ark: ArkDouble;
  let t: TestServer;
  before(async () => {
    // Queued upstream for an hour, in real time (the double's clock unscaled, so Ark's own
    // one-hour expiry does not come first): only the deadline can end the task.
    ark = await startArkDouble({ profile: "cn", queueDelayMs: 3_600_000, clockScale: 1 });
    t = await startTestServer({ sweepIntervalSeconds: 1, upstreamPollScale: 0.01 });
    const res = await t.api("/v1/admin/channels", {
      method: "POST",
      json: {
        provider: "ark",
        base_url: ark.baseUrl,
        api_key: ark.keys[0],
        models: { [MODEL]: "doubao-seedance-1-5-pro-251215" },
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
  });
  after(async () => {
    await t.stop();
    await ark.close();
  });

  test("past its deadline the task fails with deadline_exceeded, is cancelled upstream and costs nothing", async () => {
    const balance = async () => ((await (await t.api("/v1/balance")).json()) as Json).balance_micros;
    const before = await balance();
    const started = Date.now();
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: { model: MODEL, prompt: "a lighthouse", seconds: "5", metadata: { deadline_seconds: 60 } },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const { task_id } = (await res.json()) as { task_id: string };
    const running = (await (await t.api(`/v1/video/generations/${task_id}`)).json()) as Json;
    assert.equal(running.metadata.deadline_seconds, 60);

    const task = (await waitForTask(t, task_id, { timeoutMs: 90_000 })) as Json;
    const took = (Date.now() - started) / 1000;
    assert.equal(task.status, "failed");
    assert.equal(task.error.code, "deadline_exceeded");
    assert.match(task.error.message, /deadline of 60 s.*cancelled at the provider/);
    assert.ok(took >= 59 && took < 75, `ended after ${took.toFixed(1)} s`);

    const create = ark.journal.last({ method: "POST", path: TASKS })!.body as Json;
    assert.equal(create.execution_expires_after, 3600, "Ark's shortest deadline: an hour");
    const upstream = ark.tasks.list().at(-1)!;
    assert.equal(upstream.status, "cancelled", "cancelled at the provider");
    assert.equal(await balance(), before, "not charged");
    assert.ok(
      task.usage === undefined || task.usage === null || task.usage.cost === "0.0000",
      JSON.stringify(task.usage),
    );
  });

  test("deadline_seconds outside 60 s–72 h is a 400 naming it", async () => {
    for (const value of [59, 259_201, 90.5, "60"]) {
      const res = await t.api("/v1/video/generations", {
        method: "POST",
        json: { model: MODEL, prompt: "x", metadata: { deadline_seconds: value } },
      });
      assert.equal(res.status, 400, String(value));
      assert.equal(((await res.json()) as Json).error.param, "metadata.deadline_seconds");
    }
  });
});
