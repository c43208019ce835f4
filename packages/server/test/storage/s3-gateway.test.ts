import assert from "node:assert/strict";
import type { Dirent } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DeleteObjectCommand } from "@aws-sdk/client-s3";
import { S3Storage } from "../../src/storage/s3.ts";
import { sample } from "../helpers/paths.ts";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";
import { BUCKET, startTestBucket, type TestBucket } from "./s3rver.ts";

/** Every file under dir (recursively); [] when dir does not exist. */
async function filesUnder(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(path)));
    else out.push(path);
  }
  return out;
}

/** A real gateway with VIDRELAY_STORAGE_URL=s3://vidrelay/gw?endpoint=<s3rver>&force_path_style=true. */
describe("a gateway on S3-compatible storage, end to end", () => {
  let bucket: TestBucket;
  let t: TestServer;
  let key: string;
  let fileId: string;
  let fileUrl: string;
  let task: Record<string, unknown>;
  let video: Buffer;
  const auth = () => ({ authorization: `Bearer ${key}` });
  before(async () => {
    bucket = await startTestBucket();
    t = await startTestServer({ storageUrl: bucket.storageUrl("gw") });
    key = await t.newAccountKey("s3-storage", true); // test mode: always the local engine
  });
  after(async () => {
    await t?.stop();
    await bucket.stop();
  });

  test("the server composed an S3Storage for the bucket and prefix", () => {
    const storage = t.server.services.storage;
    assert.ok(storage instanceof S3Storage);
    assert.equal(storage.bucket, BUCKET);
    assert.equal(storage.prefix, "gw/");
  });

  test("an upload is stored in the bucket and served back from it, whole and ranged", async () => {
    const original = await readFile(sample("landscape-600x450.jpg"));
    const res = await uploadFile(t, sample("landscape-600x450.jpg"), { key });
    assert.equal(res.status, 200, await res.clone().text());
    const file = (await res.json()) as { id: string; url: string; bytes: number };
    fileId = file.id;
    fileUrl = file.url;
    assert.equal(file.bytes, original.length);
    assert.ok(fileUrl.startsWith(`${t.url}/files/`), "the URL is ours, not the bucket's");
    const keys = await bucket.keys("gw/files/");
    assert.equal(keys.length, 1);
    assert.match(keys[0]!, new RegExp(`^gw/files/\\w\\w/${fileId}\\.jpg$`));

    const whole = await fetch(fileUrl);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get("content-type"), "image/jpeg");
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), original);
    const ranged = await fetch(fileUrl, { headers: { range: "bytes=100-199" } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get("content-range"), `bytes 100-199/${original.length}`);
    assert.deepEqual(Buffer.from(await ranged.arrayBuffer()), original.subarray(100, 200));
  });

  test("a task rendered by the local engine reads the image from the bucket and stores its mp4 there", async () => {
    const submitted = await t.api("/v1/video/generations", {
      method: "POST",
      headers: auth(),
      json: {
        model: "seedance-1-5-pro-no-audio",
        prompt: "@image1 the camera slowly pushes in",
        seconds: "4",
        metadata: {
          ratio: "16:9",
          resolution: "480p",
          content: [{ type: "image_url", image_url: { url: fileUrl }, role: "reference_image" }],
        },
      },
    });
    assert.equal(submitted.status, 200, await submitted.clone().text());
    const { task_id } = (await submitted.json()) as { task_id: string };
    task = await waitForTask(t, task_id, { key, timeoutMs: 120_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.equal(task.provider, "local");
    assert.ok(String(task.url).startsWith(`${t.url}/videos/`), "stable URL on our origin");
    const keys = await bucket.keys(`gw/videos/${task_id}`);
    assert.deepEqual(keys, [`gw/videos/${task_id}.jpg`, `gw/videos/${task_id}.mp4`]);
  });

  test("the mp4 downloads whole (a real H.264 file) and by Range (206, Content-Range, 416)", async () => {
    const res = await fetch(String(task.url));
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "video/mp4");
    assert.equal(res.headers.get("accept-ranges"), "bytes");
    video = Buffer.from(await res.arrayBuffer());
    assert.equal(Number(res.headers.get("content-length")), video.length);
    assert.equal((task.video as { bytes: number }).bytes, video.length);
    const out = join(t.dataDir, "downloaded.mp4");
    await writeFile(out, video);
    const facts = await clipFacts(out);
    assert.equal(facts.videoCodec, "h264");
    const meta = task.video as { width: number; height: number };
    assert.deepEqual([facts.width, facts.height], [meta.width, meta.height]);
    assert.ok(Math.abs(facts.duration - 4) <= 0.1, `duration ${facts.duration}`);

    const head = await fetch(String(task.url), { method: "HEAD" });
    assert.equal(Number(head.headers.get("content-length")), video.length);
    const middle = await fetch(String(task.url), { headers: { range: "bytes=1000-5999" } });
    assert.equal(middle.status, 206);
    assert.equal(middle.headers.get("content-range"), `bytes 1000-5999/${video.length}`);
    assert.equal(middle.headers.get("content-length"), "5000");
    assert.deepEqual(Buffer.from(await middle.arrayBuffer()), video.subarray(1000, 6000));
    const suffix = await t.api(`/v1/video/generations/${task.task_id}/content`, {
      headers: { ...auth(), range: "bytes=-10" },
    });
    assert.equal(suffix.status, 206);
    assert.deepEqual(Buffer.from(await suffix.arrayBuffer()), video.subarray(video.length - 10));
    const beyond = await fetch(String(task.url), { headers: { range: `bytes=${video.length}-` } });
    assert.equal(beyond.status, 416);
    assert.equal(beyond.headers.get("content-range"), `bytes */${video.length}`);
  });

  test("the thumbnail is served from the bucket, and re-made from the bucket's mp4 when it is missing", async () => {
    const poster = await fetch(String(task.thumbnail_url));
    assert.equal(poster.status, 200);
    assert.equal(poster.headers.get("content-type"), "image/jpeg");
    const first = Buffer.from(await poster.arrayBuffer());
    assert.deepEqual([...first.subarray(0, 2)], [0xff, 0xd8]);

    // Relayed videos get their poster on first request: ffmpeg needs a file, and localPath() is
    // null on S3, so ensurePoster streams the mp4 out of the bucket into a temp file first.
    const taskId = String(task.task_id);
    await bucket.client.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `gw/videos/${taskId}.jpg` }));
    await t.server.services.db
      .updateTable("tasks")
      .set({ poster_key: null })
      .where("id", "=", taskId)
      .execute();
    const remade = await fetch(String(task.thumbnail_url));
    assert.equal(remade.status, 200);
    const again = Buffer.from(await remade.arrayBuffer());
    assert.deepEqual([...again.subarray(0, 2)], [0xff, 0xd8]);
    assert.deepEqual(await bucket.keys(`gw/videos/${taskId}.jpg`), [`gw/videos/${taskId}.jpg`]);
  });

  test("nothing was written under the data dir's blobs folder, and no temp file is left behind", async () => {
    assert.deepEqual(await filesUnder(join(t.dataDir, "blobs")), []);
    assert.deepEqual(await filesUnder(join(t.dataDir, "tmp")), []);
    assert.deepEqual(await filesUnder(join(t.dataDir, "work")), []);
  });

  test("DELETE /v1/files/{id} removes the object from the bucket; its URL then 404s", async () => {
    const res = await t.api(`/v1/files/${fileId}`, { method: "DELETE", headers: auth() });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await bucket.keys("gw/files/"), []);
    assert.equal((await fetch(fileUrl)).status, 404);
  });

  test("the expiry sweep removes expired files' objects", async () => {
    const res = await uploadFile(t, sample("grey-400x267.jpg"), { key });
    assert.equal(res.status, 200);
    assert.equal((await bucket.keys("gw/files/")).length, 1);
    const removed = await t.server.services.files.sweepExpired(Date.now() + 8 * 24 * 3600 * 1000);
    assert.ok(removed >= 1);
    assert.deepEqual(await bucket.keys("gw/files/"), []);
  });

  test("an object gone from the bucket answers like a missing file on disk: 404 media_gone", async () => {
    await bucket.client.send(
      new DeleteObjectCommand({ Bucket: BUCKET, Key: `gw/videos/${task.task_id}.mp4` }),
    );
    const res = await fetch(String(task.url));
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "media_gone");
  });
});
