/**
 * Issue 15 item 7: HappyHorse i2v takes the seed's request with a `ratio`. The model's output follows
 * its first frame (DashScope refuses `ratio` on i2v), so the gateway conforms the first frame to the
 * asked ratio before it goes upstream: centre crop by default, black bars with `metadata.fit: "pad"`.
 * End to end over real HTTP: the gateway, the DashScope and fal doubles, and the local engine.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { toApiModel } from "../../src/api/model-object.ts";
import { Catalog } from "../../src/catalog/models.ts";
import { type DashScopeDouble, startDashScopeDouble } from "../doubles/dashscope/double.ts";
import { type FalDouble, startFalDouble } from "../doubles/fal/double.ts";
import { clipFacts } from "../helpers/probe.ts";
import { addChannel, startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";

const CREATE = "/api/v1/services/aigc/video-generation/video-synthesis";
const FAL_I2V = "/alibaba/happy-horse/image-to-video";
const I2V = "happyhorse-1.0-i2v";
/** The repository's 4:3 example photo. */
const PHOTO = fileURLToPath(new URL("../../../../examples/media/landscape-600x450.jpg", import.meta.url));

// biome-ignore lint/suspicious/noExplicitAny: journal bodies are inspected loosely.
type Json = any;

/** The seed's request (README, docs/api.md §3) on HappyHorse i2v, with metadata overrides. */
function seedRequest(url: string, metadata: Record<string, unknown> = {}) {
  return {
    model: I2V,
    prompt: "@image1 the camera slowly pushes in",
    seconds: "5",
    metadata: {
      ratio: "16:9",
      resolution: "720p",
      content: [{ type: "image_url", image_url: { url }, role: "reference_image" }],
      ...metadata,
    },
  };
}

async function run(t: TestServer, body: unknown, key?: string): Promise<Record<string, Json>> {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const res = await t.api("/v1/video/generations", { method: "POST", json: body, headers });
  assert.equal(res.status, 200, await res.clone().text());
  const { task_id } = (await res.json()) as { task_id: string };
  const task = await waitForTask(t, task_id, { timeoutMs: 60_000, key });
  assert.equal(task.status, "succeeded", JSON.stringify(task.error));
  return task as Record<string, Json>;
}

/** Download the task's clip (GET …/content with the key) and ffprobe it. */
async function clipOf(t: TestServer, task: Record<string, Json>, key?: string) {
  const headers: Record<string, string> = key ? { authorization: `Bearer ${key}` } : {};
  const res = await t.api(`/v1/video/generations/${task.task_id}/content`, { headers });
  assert.equal(res.status, 200);
  const path = join(t.dataDir, `${task.task_id}.mp4`);
  await writeFile(path, Buffer.from(await res.arrayBuffer()));
  return clipFacts(path);
}

/** The picture inside a `data:image/…;base64,…` URL: its size and raw RGB pixels. */
async function pictureOf(dataUrl: string) {
  const m = /^data:image\/[a-z]+;base64,(.+)$/.exec(dataUrl);
  assert.ok(m, `a base64 image data URL, got ${dataUrl.slice(0, 40)}`);
  const { data, info } = await sharp(Buffer.from(m[1]!, "base64"))
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  /** Mean of R+G+B over a rectangle (0 = black). */
  const mean = (x0: number, y0: number, x1: number, y1: number) => {
    let sum = 0;
    for (let y = y0; y < y1; y++)
      for (let x = x0; x < x1; x++) {
        const i = (y * info.width + x) * 3;
        sum += data[i]! + data[i + 1]! + data[i + 2]!;
      }
    return sum / ((x1 - x0) * (y1 - y0) * 3);
  };
  return { width: info.width, height: info.height, mean };
}

const near = (actual: number, expected: number, what: string) =>
  assert.ok(
    Math.abs(actual - expected) < 0.02,
    `${what}: ${actual.toFixed(3)}, expected ${expected.toFixed(3)}`,
  );

describe("HappyHorse i2v with an asked ratio, through DashScope", () => {
  let t: TestServer;
  let ds: DashScopeDouble;
  let photoUrl: string;
  before(async () => {
    ds = await startDashScopeDouble({ profile: "beijing" });
    t = await startTestServer({ upstreamPollScale: 0.01, upstreamSubmitTimeoutSeconds: 2 });
    await addChannel(t, {
      name: "dashscope",
      provider: "dashscope",
      base_url: ds.baseUrl,
      api_key: ds.keys[0],
      models: { [I2V]: I2V },
      max_concurrent: 50,
    });
    const res = await uploadFile(t, PHOTO);
    assert.equal(res.status, 200);
    const file = (await res.json()) as { url: string; width: number; height: number };
    assert.deepEqual([file.width, file.height], [600, 450], "a 4:3 photo");
    photoUrl = file.url;
  });
  after(async () => {
    await t.stop();
    await ds.close();
  });

  test("/v1/models: i2v lists the five ratios beside adaptive (the default) and fit crop|pad", async () => {
    const res = await t.api(`/v1/models/${I2V}`);
    assert.equal(res.status, 200);
    const model = (await res.json()) as Json;
    assert.deepEqual(model.ratios, {
      values: ["16:9", "9:16", "1:1", "4:3", "3:4", "adaptive"],
      default: "adaptive",
      default_with_media: "adaptive",
    });
    assert.deepEqual(model.parameters.fit, { supported: true, values: ["crop", "pad"], default: "crop" });
    // Models that do not conform their first frame say so (their own channels are not set up here).
    // (HappyHorse 1.1 i2v follows its first frame too, and conforms it the same way.)
    for (const other of new Catalog().list().filter((m) => m.id !== I2V && m.id !== "happyhorse-1.1-i2v"))
      assert.deepEqual(toApiModel(other).parameters.fit, { supported: false }, other.id);
    assert.equal(toApiModel(new Catalog().get("happyhorse-1.1-i2v")!).parameters.fit.supported, true);
  });

  test("the seed's request, ratio 16:9 on a 4:3 photo: a centre-cropped first frame, a 16:9 clip", async () => {
    ds.journal.clear();
    const task = await run(t, seedRequest(photoUrl));
    assert.deepEqual(task.metadata, { ratio: "16:9", resolution: "720p", generate_audio: true, fit: "crop" });
    const body = ds.journal.last({ method: "POST", path: CREATE })!.body as Json;
    assert.equal("ratio" in body.parameters, false, "DashScope refuses ratio on i2v: never sent");
    assert.equal(body.input.media.length, 1);
    assert.equal(body.input.media[0].type, "first_frame");
    const sent = await pictureOf(body.input.media[0].url);
    assert.deepEqual([sent.width, sent.height], [600, 338], "the centre 600x338 of the 600x450 photo");
    assert.ok(sent.mean(0, 0, 20, 20) > 30, "cropped, not padded: no black corner");
    const upstream = ds.tasks.list().at(-1)!;
    assert.equal(upstream.ratio, "16:9");
    const clip = await clipOf(t, task);
    near(clip.width / clip.height, 16 / 9, "the clip's aspect");
    assert.equal(task.video.width / task.video.height, clip.width / clip.height, "the task object agrees");
  });

  test('metadata.fit "pad": the first frame is pillarboxed with black bars, the clip is 16:9', async () => {
    ds.journal.clear();
    const task = await run(t, seedRequest(photoUrl, { fit: "pad" }));
    assert.equal(task.metadata.fit, "pad");
    const body = ds.journal.last({ method: "POST", path: CREATE })!.body as Json;
    const sent = await pictureOf(body.input.media[0].url);
    assert.deepEqual([sent.width, sent.height], [800, 450], "the whole photo on a 16:9 canvas");
    // 100 px bars left and right (a few px margin for JPEG ringing), the photo between them.
    assert.ok(sent.mean(0, 0, 96, 450) < 3, "black bar on the left");
    assert.ok(sent.mean(704, 0, 800, 450) < 3, "black bar on the right");
    assert.ok(sent.mean(110, 0, 690, 450) > 30, "the photo in the middle");
    const clip = await clipOf(t, task);
    near(clip.width / clip.height, 16 / 9, "the clip's aspect");
  });

  test("9:16 crop keeps the short side within DashScope's 300 px minimum", async () => {
    ds.journal.clear();
    const task = await run(t, seedRequest(photoUrl, { ratio: "9:16" }));
    const body = ds.journal.last({ method: "POST", path: CREATE })!.body as Json;
    const sent = await pictureOf(body.input.media[0].url);
    assert.deepEqual([sent.width, sent.height], [300, 533], "253x450 centre, scaled up to 300 px wide");
    const clip = await clipOf(t, task);
    near(clip.width / clip.height, 9 / 16, "the clip's aspect");
  });

  test("a submit the provider throttled is retried with the same conformed first frame: one stored copy per task", async () => {
    const conformedFiles = async () => {
      const res = await t.api("/v1/files?limit=100");
      assert.equal(res.status, 200);
      const { data } = (await res.json()) as { data: Array<{ id: string; filename: string }> };
      return data.filter((f) => f.filename.startsWith("first-frame-1x1-crop"));
    };
    const before = await conformedFiles();
    ds.journal.clear();
    const fault = await fetch(`${ds.url}/__control/faults`, {
      method: "POST",
      body: JSON.stringify({
        match: { method: "POST", path: CREATE },
        action: { error: "Throttling.RateQuota" },
      }),
    });
    assert.equal(fault.status, 201);
    await run(t, seedRequest(photoUrl, { ratio: "1:1" }));
    const creates = ds.journal.list({ method: "POST", path: CREATE });
    assert.equal(creates.length, 2, "throttled once (nothing created), then accepted");
    const [first, second] = creates.map((c) => (c.body as Json).input.media[0].url as string);
    assert.equal(second, first, "the retry sent the very picture the first try sent");
    const after = await conformedFiles();
    assert.equal(after.length - before.length, 1, "the retry reused the stored copy instead of adding one");
  });

  test("adaptive (the default) still follows the image: the photo goes as it is, the clip is 4:3", async () => {
    ds.journal.clear();
    const task = await run(t, seedRequest(photoUrl, { ratio: undefined, fit: "pad" }));
    assert.deepEqual(task.metadata, { ratio: "adaptive", resolution: "720p", generate_audio: true });
    const body = ds.journal.last({ method: "POST", path: CREATE })!.body as Json;
    const sent = await pictureOf(body.input.media[0].url);
    assert.deepEqual([sent.width, sent.height], [600, 450]);
    const clip = await clipOf(t, task);
    near(clip.width / clip.height, 4 / 3, "the clip's aspect");
  });

  test("a ratio the photo already has sends the photo unchanged", async () => {
    ds.journal.clear();
    await run(t, seedRequest(photoUrl, { ratio: "4:3" }));
    const body = ds.journal.last({ method: "POST", path: CREATE })!.body as Json;
    const sent = await pictureOf(body.input.media[0].url);
    assert.deepEqual([sent.width, sent.height], [600, 450]);
  });

  test("a bad fit is a 400 naming metadata.fit; pad on a model that crops itself too", async () => {
    for (const [body, code] of [
      [seedRequest(photoUrl, { fit: "stretch" }), "invalid_value"],
      [seedRequest(photoUrl, { fit: 1 }), "invalid_type"],
      [
        { ...seedRequest(photoUrl, { fit: "pad" }), model: "seedance-1-5-pro-with-audio" },
        "unsupported_by_model",
      ],
    ] as const) {
      const res = await t.api("/v1/video/generations", { method: "POST", json: body });
      assert.equal(res.status, 400);
      const { error } = (await res.json()) as Json;
      assert.equal(error.type, "invalid_request_error");
      assert.equal(error.code, code);
      assert.equal(error.param, "metadata.fit");
      assert.match(error.message, /fit/);
    }
  });
});

describe("HappyHorse i2v with an asked ratio, through fal and the local engine", () => {
  let t: TestServer;
  let fal: FalDouble;
  let photoUrl: string;
  before(async () => {
    fal = await startFalDouble();
    t = await startTestServer({ upstreamPollScale: 0.01, upstreamSubmitTimeoutSeconds: 2 });
    await addChannel(t, {
      name: "fal",
      provider: "fal",
      base_url: `${fal.baseUrl}?jwks_url=${encodeURIComponent(fal.jwksUrl)}`,
      api_key: fal.keys[0],
      models: { [I2V]: "alibaba/happy-horse/image-to-video" },
    });
    photoUrl = ((await (await uploadFile(t, PHOTO)).json()) as { url: string }).url;
  });
  after(async () => {
    await t.stop();
    await fal.close();
  });

  test("fal: the image_url is the 16:9 centre crop, and no aspect_ratio is sent", async () => {
    await run(t, seedRequest(photoUrl));
    const body = fal.journal.last({ method: "POST", path: FAL_I2V })!.body as Json;
    assert.equal("aspect_ratio" in body, false);
    const sent = await pictureOf(body.image_url);
    assert.deepEqual([sent.width, sent.height], [600, 338]);
  });

  test("the local engine (test-mode key) renders the same request as a 16:9 clip, padded too", async () => {
    const key = await t.newAccountKey("sandbox", true);
    const upload = await uploadFile(t, PHOTO, { key });
    const url = ((await upload.json()) as { url: string }).url;
    for (const fit of ["crop", "pad"]) {
      const task = await run(t, { ...seedRequest(url, { fit }), seconds: "3" }, key);
      assert.equal(task.provider ?? "local", "local");
      assert.equal(task.metadata.fit, fit);
      const clip = await clipOf(t, task, key);
      assert.deepEqual([clip.width, clip.height], [1280, 720], `${fit}: 720p 16:9`);
    }
    // The engine rendered the conformed pictures, stored as the account's files like data: URLs are.
    const files = (await (
      await t.api("/v1/files", { headers: { authorization: `Bearer ${key}` } })
    ).json()) as Json;
    const names = files.data.map((f: Json) => `${f.filename} ${f.width}x${f.height}`).sort();
    assert.deepEqual(names, [
      "first-frame-16x9-crop.jpg 600x338",
      "first-frame-16x9-pad.jpg 800x450",
      "landscape-600x450.jpg 600x450",
    ]);
  });
});
