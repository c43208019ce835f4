/**
 * The OpenAI-compatible door, driven by the official `openai` package unchanged but for `baseURL`
 * and `apiKey`, against a real gateway rendering with the local engine.
 */
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI, { BadRequestError, NotFoundError } from "openai";
import type { Video } from "openai/resources/videos";
import { clipFacts } from "../helpers/probe.ts";
import { startTestServer, type TestServer, uploadFile } from "../helpers/server.ts";

const PHOTO = new URL("../../../../examples/media/landscape-600x450.jpg", import.meta.url).pathname;
const MODEL = "seedance-1-5-pro-no-audio";

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are inspected loosely.
type Json = any;

describe("OpenAI Videos API through the official openai SDK", () => {
  let t: TestServer;
  let client: OpenAI;
  let first: Video;

  before(async () => {
    t = await startTestServer();
    client = new OpenAI({ baseURL: `${t.url}/v1`, apiKey: t.key, maxRetries: 0 });
  });
  after(() => t.stop());

  const until = async (id: string, timeoutMs = 90_000): Promise<Video> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const video = await client.videos.retrieve(id);
      if (video.status === "completed" || video.status === "failed") return video;
      if (Date.now() > deadline) throw new Error(`video ${id} still ${video.status}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  };

  const download = async (id: string, variant?: "video" | "thumbnail") => {
    const response = await client.videos.downloadContent(id, variant ? { variant } : {});
    return { type: response.headers.get("content-type"), bytes: Buffer.from(await response.arrayBuffer()) };
  };

  test("create with an uploaded input_reference, retrieve until completed, download an mp4 of the asked size and length", async () => {
    first = await client.videos.create({
      model: MODEL,
      prompt: "the camera slowly pushes in on the valley",
      seconds: "4",
      size: "864x496" as never, // 480p 16:9: a size this model makes (the SDK's type lists Sora's)
      input_reference: createReadStream(PHOTO),
    });
    assert.equal(first.object, "video");
    assert.equal(first.status, "queued");
    assert.equal(first.model, MODEL);
    assert.equal(first.size, "864x496");
    assert.equal(first.seconds, "4");
    assert.equal(first.remixed_from_video_id, null);
    assert.equal(first.error, null);

    const done = await until(first.id);
    assert.equal(done.status, "completed", JSON.stringify(done.error));
    assert.equal(done.progress, 100);
    assert.ok(done.completed_at && done.completed_at >= done.created_at);
    assert.ok(done.expires_at && done.expires_at > done.completed_at);

    const { type, bytes } = await download(first.id);
    assert.equal(type, "video/mp4");
    const path = join(t.dataDir, "openai-download.mp4");
    await writeFile(path, bytes);
    const facts = await clipFacts(path);
    assert.equal(facts.width, 864);
    assert.equal(facts.height, 496);
    assert.ok(Math.abs(facts.duration - 4) < 0.15, `duration ${facts.duration}`);

    const thumb = await download(first.id, "thumbnail");
    assert.equal(thumb.type, "image/jpeg");
    assert.equal(thumb.bytes.subarray(0, 2).toString("hex"), "ffd8");
  });

  test("one task, two doors: the RelayDance API sees the OpenAI video and the other way round", async () => {
    const relay = (await (await t.api(`/v1/video/generations/${first.id}`)).json()) as Json;
    assert.equal(relay.status, "succeeded");
    assert.equal(relay.metadata.ratio, "16:9");
    assert.equal(relay.metadata.resolution, "480p");

    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: MODEL,
        prompt: "made through RelayDance",
        seconds: "4",
        metadata: { ratio: "1:1", resolution: "480p" },
      },
    });
    const { task_id } = (await res.json()) as { task_id: string };
    const seen = await client.videos.retrieve(task_id);
    assert.equal(seen.id, task_id);
    assert.equal(seen.size, "640x640");
    assert.ok(["queued", "in_progress"].includes(seen.status));
  });

  test("remix makes a new video with the same inputs and a new prompt", async () => {
    const remix = await client.videos.remix(first.id, { prompt: "the same valley at dusk" });
    assert.notEqual(remix.id, first.id);
    assert.equal(remix.remixed_from_video_id, first.id);
    assert.equal(remix.prompt, "the same valley at dusk");
    assert.equal(remix.size, "864x496");
    assert.equal(remix.seconds, "4");
    const done = await until(remix.id);
    assert.equal(done.status, "completed", JSON.stringify(done.error));
    assert.equal(done.remixed_from_video_id, first.id);
    const relay = (await (await t.api(`/v1/video/generations/${remix.id}`)).json()) as Json;
    assert.equal(relay.prompt, "the same valley at dusk");
  });

  test("list: newest first, cursor pages with after = the last id, and order=asc", async () => {
    const page = await client.videos.list({ limit: 2 });
    assert.equal(page.data.length, 2);
    assert.equal(page.has_more, true);
    const all: string[] = [];
    for await (const video of client.videos.list({ limit: 1 })) all.push(video.id);
    assert.ok(all.length >= 3, `${all.length} videos`);
    assert.equal(new Set(all).size, all.length, "no video twice across pages");
    assert.ok(all.includes(first.id));
    const ascending: string[] = [];
    for await (const video of client.videos.list({ limit: 2, order: "asc" })) ascending.push(video.id);
    assert.deepEqual(ascending, [...all].reverse());
  });

  test("delete removes the stored video: retrieve is then a NotFoundError, on both doors", async () => {
    const relay = (await (await t.api(`/v1/video/generations/${first.id}`)).json()) as Json;
    const deleted = await client.videos.delete(first.id);
    assert.deepEqual(deleted, { id: first.id, object: "video.deleted", deleted: true });
    await assert.rejects(client.videos.retrieve(first.id), NotFoundError);
    assert.equal((await t.api(`/v1/video/generations/${first.id}`)).status, 404);
    assert.equal((await fetch(relay.url)).status, 404, "the public mp4 URL is gone");
    const ids: string[] = [];
    for await (const video of client.videos.list()) ids.push(video.id);
    assert.ok(!ids.includes(first.id));
    await assert.rejects(client.videos.delete(first.id), NotFoundError);
  });

  test("a size the model cannot make is a BadRequestError naming the sizes it can", async () => {
    const error = await client.videos
      .create({ model: MODEL, prompt: "too wide", size: "1792x1024", seconds: "4" })
      .then(
        () => assert.fail("accepted"),
        (e: unknown) => e,
      );
    assert.ok(error instanceof BadRequestError);
    assert.equal(error.status, 400);
    assert.equal(error.param, "size");
    assert.equal(error.code, "unsupported_size");
    assert.match(
      error.message,
      /cannot make 1792x1024; the sizes it makes are .*864x496.*1280x720.*1920x1080/,
    );
  });

  test("input_reference as {file_id} and {image_url}; errors name the OpenAI fields", async () => {
    const file = (await (await uploadFile(t, PHOTO)).json()) as { id: string; url: string };
    const byId = await client.videos.create({
      model: MODEL,
      prompt: "from a file id",
      seconds: "4",
      input_reference: { file_id: file.id },
    });
    // No size: the model's default resolution (720p here), shaped like the 4:3 photo.
    assert.equal(byId.size, "1112x834");
    const byUrl = await client.videos.create({
      model: MODEL,
      prompt: "from an image url",
      seconds: "4",
      size: "752x560" as never,
      input_reference: { image_url: file.url },
    });
    assert.equal(byUrl.size, "752x560");

    const missing = await client.videos
      .create({ model: MODEL, prompt: "no such file", input_reference: { file_id: "file_nope" } })
      .catch((e: unknown) => e);
    assert.ok(missing instanceof NotFoundError);
    assert.equal(missing.param, "input_reference.file_id");

    const seconds = await client.videos
      .create({ model: MODEL, prompt: "too long", seconds: "99" as never })
      .catch((e: unknown) => e);
    assert.ok(seconds instanceof BadRequestError);
    assert.equal(seconds.param, "seconds");

    const noModel = await client.videos.create({ prompt: "which model?" }).catch((e: unknown) => e);
    assert.ok(noModel instanceof BadRequestError);
    assert.equal(noModel.param, "model");
    assert.match(noModel.message, /GET \/v1\/models/);
  });

  test("JSON bodies work too (for clients without the SDK)", async () => {
    const res = await t.api("/v1/videos", {
      method: "POST",
      json: { model: MODEL, prompt: "plain json", seconds: 4, size: "640x640" },
    });
    assert.equal(res.status, 200, await res.clone().text());
    const video = (await res.json()) as Json;
    assert.equal(video.size, "640x640");
    const bad = await t.api("/v1/videos", {
      method: "POST",
      json: { model: MODEL, prompt: "x", colour: "red" },
    });
    assert.equal(bad.status, 400);
    assert.equal(((await bad.json()) as Json).error.param, "colour");
  });
});
