/**
 * S3 failing under a running gateway, through a fault-injecting proxy in front of a real S3 API
 * (s3rver): ingest waits out an outage instead of failing a task the provider finished and billed;
 * a provider URL that is gone fails at once; uploads ride out a short outage and are refused with a
 * retryable 503 during a long one; slow viewers cannot take the gateway's own storage sockets.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { createS3Client, S3Storage } from "../../src/storage/s3.ts";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { type HttpFaultProxy, startHttpFaultProxy } from "../helpers/fault-proxy.ts";
import { sample } from "../helpers/paths.ts";
import { until } from "../helpers/receiver.ts";
import {
  addChannel,
  startTestServer,
  submitTask,
  type TestServer,
  uploadFile,
  waitForTask,
} from "../helpers/server.ts";
import { BUCKET, startTestBucket, type TestBucket } from "./s3rver.ts";

const MODEL = "seedance-1-5-pro-with-audio";
const writes = (req: { method: string }) => req.method === "PUT" || req.method === "POST";

describe("S3 outages under a running gateway", () => {
  let bucket: TestBucket;
  let proxy: HttpFaultProxy;
  let ark: ArkDouble;
  let t: TestServer;
  before(async () => {
    bucket = await startTestBucket();
    proxy = await startHttpFaultProxy(bucket.endpoint);
    ark = await startArkDouble({ profile: "cn" });
    t = await startTestServer({
      storageUrl: `s3://${BUCKET}?endpoint=${encodeURIComponent(proxy.url)}&force_path_style=true`,
      upstreamPollScale: 0.01,
    });
    await addChannel(t, {
      provider: "ark",
      base_url: ark.baseUrl,
      api_key: ark.keys[0],
      models: { [MODEL]: "doubao-seedance-1-5-pro-251215" },
    });
  });
  after(async () => {
    await t?.stop();
    await ark?.close();
    await proxy?.close();
    await bucket?.stop();
  });

  const submit = (prompt: string) =>
    submitTask(t, { model: MODEL, prompt, seconds: "5", metadata: { resolution: "480p" } });

  test("ingest waits out an S3 outage and the task succeeds once S3 is back", async () => {
    proxy.fail({ status: 503, match: writes });
    const id = await submit("a sailing boat at noon");
    // One ingest run meets the outage 12 times (4 tries of the put, 3 requests each by the SDK):
    // wait for more than one whole run to have failed.
    await until(() => proxy.stats().failed >= 16, 60_000, "ingest to meet the outage in two runs");
    const waiting = (await (await t.api(`/v1/video/generations/${id}`)).json()) as { status: string };
    assert.equal(waiting.status, "running");
    // Those runs spent no attempt: only the provider URL's lifetime bounds the waiting (before, 5
    // attempts ~30 s apart in all failed a task the provider had finished and billed).
    const job = await t.server.services.db
      .selectFrom("jobs")
      .select("attempts")
      .where("task_id", "=", id)
      .where("kind", "=", "ingest")
      .executeTakeFirstOrThrow();
    assert.ok(job.attempts <= 1, `the ingest job has spent ${job.attempts} attempts`);
    proxy.pass();
    const task = await waitForTask(t, id, { timeoutMs: 90_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    assert.ok((await bucket.keys("videos/")).includes(`videos/${id}.mp4`));
    const download = await fetch(String(task.url));
    assert.equal(download.status, 200);
    assert.ok((await download.arrayBuffer()).byteLength > 1000);
  });

  test("a provider URL that is gone fails the task at once, with its own code", async () => {
    // The double's URL for this task expires a simulated second after it is made.
    const id = await submit("a tram in the rain [[url-ttl:1]]");
    const started = Date.now();
    const task = (await waitForTask(t, id, { timeoutMs: 30_000 })) as {
      status: string;
      error: { code: string };
    };
    assert.equal(task.status, "failed");
    assert.equal(task.error.code, "provider_video_gone");
    assert.ok(Date.now() - started < 20_000);
    assert.ok(ark.journal.list({ method: "GET", path: /^\/tos\// }).length >= 1, "it did try the URL");
  });

  test("an upload rides out a short outage, and a long one is a 503 with Retry-After", async () => {
    proxy.fail({ status: 503, ms: 1200, match: writes });
    const short = await uploadFile(t, sample("landscape-600x450.jpg"));
    assert.equal(short.status, 200, await short.clone().text());

    const before = ((await (await t.api("/v1/files")).json()) as { data: unknown[] }).data.length;
    proxy.fail({ status: 503, match: writes });
    try {
      const long = await uploadFile(t, sample("landscape-600x450.jpg"));
      assert.equal(long.status, 503);
      assert.match(long.headers.get("retry-after") ?? "", /^\d+$/);
      const body = (await long.json()) as { error: { code: string; type: string } };
      assert.equal(body.error.code, "storage_unavailable");
    } finally {
      proxy.pass();
    }
    const afterList = ((await (await t.api("/v1/files")).json()) as { data: unknown[] }).data.length;
    assert.equal(afterList, before, "a refused upload keeps nothing");
  });
});

describe("viewers and the gateway do not share storage sockets", () => {
  let bucket: TestBucket;
  let proxy: HttpFaultProxy;
  before(async () => {
    bucket = await startTestBucket();
    proxy = await startHttpFaultProxy(bucket.endpoint);
  });
  after(async () => {
    await proxy.close();
    await bucket.stop();
  });

  test("two viewers stalled on a 2-socket viewer pool do not hold up puts, reads or deletes", async () => {
    const location = {
      bucket: BUCKET,
      prefix: "",
      endpoint: proxy.url,
      region: "us-east-1",
      forcePathStyle: true,
    };
    const storage = new S3Storage(
      location,
      createS3Client(location, "us-east-1", 2),
      createS3Client(location, "us-east-1", 2),
    );
    const big = join(tmpdir(), `vidrelay-s3-pool-${process.pid}.bin`);
    await writeFile(big, Buffer.alloc(256 * 1024, 7));
    await storage.putFile("videos/big.bin", big, "application/octet-stream");
    proxy.throttle(1024, undefined, (req) => req.method === "GET" && req.url.includes("big.bin"));
    const viewers = [await storage.serve("videos/big.bin"), await storage.serve("videos/big.bin")];
    for (const viewer of viewers) viewer.on("data", () => {}).on("error", () => {});
    const small = join(tmpdir(), `vidrelay-s3-pool-small-${process.pid}.bin`);
    await writeFile(small, "small");
    const started = Date.now();
    await storage.putFile("files/small.bin", small, "application/octet-stream");
    assert.equal(await storage.size("files/small.bin"), 5);
    await storage.delete("files/small.bin");
    assert.ok(Date.now() - started < 5_000, `the gateway's own calls took ${Date.now() - started} ms`);
    for (const viewer of viewers) viewer.destroy();
    proxy.pass();
    storage.client.destroy();
    storage.serveClient.destroy();
  });
});
