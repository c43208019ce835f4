/**
 * Issue 27: the newest built-in models are listed with their limits and make real clips on the
 * local engine (ffprobe checks the length, the height and whether there is sound).
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read by path
type Json = any;

describe("the newest models on the local engine", () => {
  let t: TestServer;
  let photo: string;
  before(async () => {
    t = await startTestServer();
    photo = ((await (await uploadFile(t, sample("photo-saw-2725x2225.jpg"))).json()) as Json).url;
  });
  after(() => t.stop());

  test("/v1/models lists them with their limits", async () => {
    const models = new Map(
      ((await (await t.api("/v1/models")).json()) as Json).data.map((m: Json) => [m.id, m]),
    );
    const g15 = models.get("grok-imagine-video-1.5") as Json;
    assert.deepEqual(g15.keyframes, { max: 4 });
    assert.deepEqual(g15.resolutions.values, ["480p", "720p", "1080p"]);
    assert.equal(g15.audio.mode, "optional");
    assert.equal(g15.prompt.max_length, 4096);
    const s25 = models.get("doubao-seedance-2-5-720p") as Json;
    assert.deepEqual(s25.seconds, { min: 4, max: 30, default: 5 });
    assert.equal(s25.references.total, 50);
    assert.equal(s25.references.audio_only, true);
    assert.deepEqual(s25.operations.extend.seconds, { min: 4, max: 30, default: 5 });
    assert.equal((models.get("happyhorse-1.1-r2v") as Json).references.images, 9);
    assert.deepEqual((models.get("grok-imagine-video") as Json).operations.edit, { max_source_seconds: 8.7 });
    assert.equal((models.get("grok-imagine-video-1.5-lite") as Json).operations.edit, null);
    for (const id of ["grok-imagine-video-1.5", "doubao-seedance-2-5-480p", "happyhorse-1.1-i2v"]) {
      assert.ok((models.get(id) as Json)?.pricing, `${id} has a price`);
    }
  });

  const image = (role: string) => ({ type: "image_url", image_url: { url: photo }, role });
  // height: the short side of the pixel table's frame (480p 16:9 is 864x496; the photo is near 4:3: 752x560).
  const cases: Array<[string, () => Json, { seconds: number; height: number; audio: boolean }]> = [
    [
      "doubao-seedance-2-5-480p",
      () => ({ prompt: "a harbour at night", seconds: "4" }),
      { seconds: 4, height: 496, audio: true },
    ],
    [
      "happyhorse-1.1-t2v",
      () => ({ prompt: "a horse in a meadow", seconds: "3", metadata: { resolution: "720p" } }),
      { seconds: 3, height: 720, audio: true },
    ],
    [
      "happyhorse-1.1-i2v",
      () => ({
        prompt: "slow push in",
        seconds: "3",
        metadata: { resolution: "720p", ratio: "16:9", content: [image("first_frame")] },
      }),
      { seconds: 3, height: 720, audio: true },
    ],
    [
      "happyhorse-1.1-r2v",
      () => ({
        prompt: "@image1 on a workbench, then @image2",
        seconds: "3",
        metadata: { resolution: "720p", content: [image("reference_image"), image("reference_image")] },
      }),
      { seconds: 3, height: 720, audio: true },
    ],
    [
      "grok-imagine-video-1.5",
      () => ({
        prompt: "the saw gleams",
        seconds: "2",
        metadata: { generate_audio: false, content: [image("first_frame"), image("last_frame")] },
      }),
      { seconds: 2, height: 560, audio: false },
    ],
    [
      "grok-imagine-video-1.5-lite",
      () => ({ prompt: "a quiet street", seconds: "2" }),
      { seconds: 2, height: 496, audio: true },
    ],
  ];
  for (const [model, body, expected] of cases) {
    test(`${model} makes a real clip`, async () => {
      const res = await t.api("/v1/video/generations", { method: "POST", json: { model, ...body() } });
      assert.equal(res.status, 200, await res.clone().text());
      const task = await waitForTask(t, ((await res.json()) as Json).task_id, { timeoutMs: 120_000 });
      assert.equal(task.status, "succeeded", JSON.stringify(task.error));
      const path = join(t.dataDir, `${model}.mp4`);
      await writeFile(path, Buffer.from(await (await fetch(String(task.url))).arrayBuffer()));
      const facts = await clipFacts(path);
      assert.ok(Math.abs(facts.duration - expected.seconds) < 0.2, `${model}: ${facts.duration} s`);
      assert.equal(
        Math.min(facts.width, facts.height),
        expected.height,
        `${model}: ${facts.width}x${facts.height}`,
      );
      assert.equal(facts.audioCodec !== null, expected.audio, `${model}: audio ${facts.audioCodec}`);
      assert.equal(facts.videoCodec, "h264");
    });
  }
});
