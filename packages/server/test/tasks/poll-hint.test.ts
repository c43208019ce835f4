/** Poll hints: an unfinished task's GET says when asking again is worth it (docs/api.md §4). */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { retryAfterSeconds } from "../../src/tasks/poll-hint.ts";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { startTestServer, type TestServer, waitForTask } from "../helpers/server.ts";

test("half the time left to the typical finish, then a tenth of the typical run; 1–30 s", () => {
  assert.equal(retryAfterSeconds(0, 50_000), 25);
  assert.equal(retryAfterSeconds(40_000, 50_000), 5);
  assert.equal(retryAfterSeconds(60_000, 50_000), 5, "past the typical finish: a tenth of it");
  assert.equal(retryAfterSeconds(0, 300_000), 30, "never more than 30 s");
  assert.equal(retryAfterSeconds(0, 500), 1, "never less than 1 s");
  assert.equal(retryAfterSeconds(10_000, 2_000), 1);
});

describe("Retry-After on GET /v1/video/generations/{id}", () => {
  let ark: ArkDouble;
  let t: TestServer;
  before(async () => {
    // Queued upstream for an hour: the task stays unfinished while we look.
    ark = await startArkDouble({ profile: "cn", queueDelayMs: 3_600_000 });
    t = await startTestServer({ localEngine: "all" });
    const res = await t.api("/v1/admin/channels", {
      method: "POST",
      json: {
        provider: "ark",
        base_url: ark.baseUrl,
        api_key: ark.keys[0],
        models: { "seedance-1-5-pro-with-audio": "doubao-seedance-1-5-pro-251215" },
      },
    });
    assert.equal(res.status, 200, await res.clone().text());
  });
  after(async () => {
    await t.stop();
    await ark.close();
  });

  test("an unfinished Ark task hints from Ark's typical run time; a finished one carries no hint", async () => {
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "seedance-1-5-pro-with-audio",
        prompt: "a lighthouse",
        seconds: "5",
        metadata: { resolution: "720p" },
      },
    });
    const { task_id } = (await res.json()) as { task_id: string };
    const get = await t.api(`/v1/video/generations/${task_id}`);
    assert.equal(get.status, 200);
    // Seedance 1.5 pro at 720p: about 100 s per 10 s of video, so 50 s for 5 s; half of it is left to wait.
    const hint = Number(get.headers.get("retry-after"));
    assert.ok(hint >= 24 && hint <= 25, `Retry-After ${get.headers.get("retry-after")}`);
    const etag = get.headers.get("etag")!;
    const unchanged = await t.api(`/v1/video/generations/${task_id}`, { headers: { "if-none-match": etag } });
    assert.equal(unchanged.status, 304);
    assert.ok(Number(unchanged.headers.get("retry-after")) >= 24, "a 304 carries the hint too");

    const local = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "grok-imagine-video",
        prompt: "a quiet street",
        seconds: "2",
        metadata: { resolution: "480p" },
      },
    });
    const done = await waitForTask(t, ((await local.json()) as { task_id: string }).task_id);
    assert.equal(done.status, "succeeded");
    const finished = await t.api(`/v1/video/generations/${done.task_id}`);
    assert.equal(finished.headers.get("retry-after"), null);
  });
});
