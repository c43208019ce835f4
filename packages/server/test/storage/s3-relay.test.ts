import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";
import { startTestBucket, type TestBucket } from "./s3rver.ts";

const TASKS = "/api/v3/contents/generations/tasks";
const MODEL = "seedance-1-5-pro-with-audio";

/**
 * The relayed path on S3 storage, where every caller of localPath() gets null: dispatch inlines
 * the upload read from the bucket (the gateway is on loopback, the provider cannot fetch it),
 * ingest stores the provider's video in the bucket, and the poster is made on first request
 * from the bucket's mp4.
 */
describe("relaying to a provider with S3 storage", () => {
  let bucket: TestBucket;
  let ark: ArkDouble;
  let t: TestServer;
  before(async () => {
    bucket = await startTestBucket();
    ark = await startArkDouble({ profile: "cn" });
    t = await startTestServer({
      storageUrl: bucket.storageUrl(),
      upstreamPollScale: 0.01,
      upstreamSubmitTimeoutSeconds: 1,
      sweepIntervalSeconds: 1,
    });
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
    await t?.stop();
    await ark?.close();
    await bucket.stop();
  });

  test("the image goes inline from the bucket, the video lands in the bucket, the poster is made from it", async () => {
    const original = await readFile(sample("photo-saw-2725x2225.jpg"));
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
    assert.equal(res.status, 200, await res.clone().text());
    const { task_id } = (await res.json()) as { task_id: string };
    const task = await waitForTask(t, task_id, { timeoutMs: 60_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.equal(task.provider, "ark");

    const body = ark.journal.list({ method: "POST", path: TASKS })[0]!.body as {
      content: Array<{ type: string; image_url?: { url: string } }>;
    };
    const inline = body.content.find((c) => c.type === "image_url")!.image_url!.url;
    assert.match(inline, /^data:image\/jpeg;base64,/);
    assert.deepEqual(
      Buffer.from(inline.split(",")[1]!, "base64"),
      original,
      "the exact bytes from the bucket",
    );

    assert.ok((await bucket.keys("videos/")).includes(`videos/${task_id}.mp4`));
    const video = Buffer.from(await (await fetch(String(task.url))).arrayBuffer());
    assert.equal((task.video as { bytes: number }).bytes, video.length);
    const out = join(t.dataDir, "relayed.mp4");
    await writeFile(out, video);
    assert.equal((await clipFacts(out)).videoCodec, "h264");

    assert.equal((await bucket.keys(`videos/${task_id}.jpg`)).length, 0, "no poster until asked");
    const poster = await fetch(String(task.thumbnail_url));
    assert.equal(poster.status, 200);
    assert.equal(poster.headers.get("content-type"), "image/jpeg");
    const jpeg = Buffer.from(await poster.arrayBuffer());
    assert.deepEqual([...jpeg.subarray(0, 2)], [0xff, 0xd8]);
    assert.deepEqual(await bucket.keys(`videos/${task_id}.jpg`), [`videos/${task_id}.jpg`]);
  });
});
