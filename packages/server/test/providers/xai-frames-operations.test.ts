/**
 * Issue 27: what the xAI adapter sends for the 1.5 fields (generate_audio, last_frame, keyframes,
 * user) and for edits and extensions, and what the xAI double refuses, over real HTTP: the adapter
 * is called directly (no gateway, no catalog) against the double, and the double's journal shows
 * the exact bodies. docs/providers.md §3.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { NormalizedMedia, NormalizedRequest } from "../../src/domain/request.ts";
import { ffmpegPath, run } from "../../src/media/ffmpeg.ts";
import { ProviderError, type SubmitContext, type UpstreamStatus } from "../../src/providers/types.ts";
import { XaiAdapter } from "../../src/providers/xai/adapter.ts";
import { startXaiDouble, type XaiDouble } from "../doubles/xai/double.ts";

// biome-ignore lint/suspicious/noExplicitAny: journal bodies are inspected loosely.
type Json = any;

const PNG =
  "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
const FIRST = `${PNG}#first`;
const LAST = `${PNG}#last`;

function request(overrides: Partial<NormalizedRequest> = {}): NormalizedRequest {
  return {
    model: "grok-imagine-video-1.5",
    mode: "text",
    prompt: "a lighthouse at dusk",
    seconds: 6,
    ratio: "16:9",
    resolution: "720p",
    generateAudio: true,
    content: [],
    citations: [],
    ...overrides,
  };
}

function media(
  role: NormalizedMedia["role"],
  url: string,
  extra: Partial<NormalizedMedia> = {},
): NormalizedMedia {
  const kind = role === "source_video" ? "video" : "image";
  return { kind, role, index: 1, position: 0, url, ...extra };
}

/** Encode a real H.264 MP4 of `seconds` (tiny, silent) and give it back as a data: URL. */
async function clip(dir: string, seconds: number): Promise<string> {
  const path = join(dir, `clip-${seconds}s.mp4`);
  await run(ffmpegPath, [
    ...["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", `testsrc2=d=${seconds}:s=160x96:r=12`],
    ...["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path],
  ]);
  return `data:video/mp4;base64,${(await readFile(path)).toString("base64")}`;
}

describe("xAI adapter: 1.5 fields, edits and extensions against the double", () => {
  let xai: XaiDouble;
  let dir: string;
  let threeSeconds: string;
  let nineSeconds: string;
  const adapter = new XaiAdapter({ pollScale: 0.01, submitTimeoutMs: 5000 });
  const context = (upstreamModel: string): SubmitContext => ({
    id: "ch_xai",
    baseUrl: xai.baseUrl,
    apiKey: xai.keys[0]!,
    upstreamModel,
    taskId: "task_1",
    mediaUrl: async (m) => m.url,
  });
  const lastBody = (path: string): Json => xai.journal.last({ method: "POST", path })!.body;
  const finish = async (upstreamId: string): Promise<UpstreamStatus> => {
    for (let i = 0; i < 300; i++) {
      const status = await adapter.status(upstreamId, context("x"));
      if (status.type !== "queued" && status.type !== "running") return status;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`request ${upstreamId} did not finish`);
  };
  const rejection = async (promise: Promise<unknown>): Promise<ProviderError> => {
    const err = await promise.then(
      () => assert.fail("expected the submit to be refused"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ProviderError, String(err));
    return err;
  };

  before(async () => {
    xai = await startXaiDouble();
    dir = await mkdtemp(join(tmpdir(), "xai-ops-"));
    [threeSeconds, nineSeconds] = await Promise.all([clip(dir, 3), clip(dir, 9)]);
  });
  after(async () => {
    await xai.close();
    await rm(dir, { recursive: true, force: true });
  });

  test("generate_audio false on a 1.5 model is sent as false, with the end user as `user`", async () => {
    const { upstreamId } = await adapter.submit(
      request({ generateAudio: false, safetyIdentifier: "5f2b9c0e1d7a4b33" }),
      context("grok-imagine-video-1.5"),
    );
    assert.deepEqual(lastBody("/v1/videos/generations"), {
      model: "grok-imagine-video-1.5",
      prompt: "a lighthouse at dusk",
      duration: 6,
      resolution: "720p",
      aspect_ratio: "16:9",
      generate_audio: false,
      user: "5f2b9c0e1d7a4b33",
    });
    assert.equal(xai.requests.get(upstreamId)?.generateAudio, false);
    assert.equal((await finish(upstreamId)).type, "succeeded");
  });

  test("the 1.5 models are told generate_audio true too; the older model hears nothing of it", async () => {
    await adapter.submit(request(), context("grok-imagine-video-1.5-lite"));
    assert.equal(lastBody("/v1/videos/generations").generate_audio, true);
    await adapter.submit(request({ resolution: "480p" }), context("grok-imagine-video"));
    assert.equal("generate_audio" in lastBody("/v1/videos/generations"), false);
    assert.equal("user" in lastBody("/v1/videos/generations"), false, "no identifier, no user");
  });

  test("first_last_frame: image and last_frame, no aspect ratio when adaptive, citations dropped", async () => {
    const { upstreamId } = await adapter.submit(
      request({
        mode: "first_last_frame",
        prompt: "@image1 the tide comes in until @image2",
        ratio: "adaptive",
        content: [media("first_frame", FIRST), media("last_frame", LAST, { index: 2, position: 1 })],
      }),
      context("grok-imagine-video-1.5"),
    );
    assert.deepEqual(lastBody("/v1/videos/generations"), {
      model: "grok-imagine-video-1.5",
      prompt: "the tide comes in until",
      duration: 6,
      resolution: "720p",
      image: { url: FIRST },
      last_frame: { url: LAST },
      generate_audio: true,
    });
    assert.equal((await finish(upstreamId)).type, "succeeded");
  });

  test("keyframes go as {image, timestamp_s} in time order; the first frame stays `image`", async () => {
    const at = (t: number, n: number) =>
      media("keyframe", `${PNG}#k${n}`, { at: t, index: n + 1, position: n });
    const { upstreamId } = await adapter.submit(
      request({
        mode: "first_frame",
        content: [media("first_frame", FIRST), at(4, 2), at(1 + 1 / 3, 1), at(2.5 + 1 / 6, 3)],
      }),
      context("grok-imagine-video-1.5"),
    );
    const body = lastBody("/v1/videos/generations");
    assert.deepEqual(body.image, { url: FIRST });
    assert.deepEqual(body.keyframes, [
      { image: { url: `${PNG}#k1` }, timestamp_s: 1 + 1 / 3 },
      { image: { url: `${PNG}#k3` }, timestamp_s: 2.5 + 1 / 6 },
      { image: { url: `${PNG}#k2` }, timestamp_s: 4 },
    ]);
    assert.equal("last_frame" in body, false);
    assert.equal((await finish(upstreamId)).type, "succeeded");
  });

  test("edit: POST /v1/videos/edits {model, prompt, video}; polled like a generation; keeps the source's length", async () => {
    const { upstreamId } = await adapter.submit(
      request({
        model: "grok-imagine-video",
        operation: "edit",
        prompt: "make @video1 look like a watercolour",
        seconds: 3,
        ratio: "adaptive",
        content: [media("source_video", threeSeconds)],
      }),
      context("grok-imagine-video"),
    );
    assert.deepEqual(lastBody("/v1/videos/edits"), {
      model: "grok-imagine-video",
      prompt: "make look like a watercolour",
      video: { url: threeSeconds },
    });
    const done = await finish(upstreamId);
    assert.equal(done.type, "succeeded", JSON.stringify(done));
    if (done.type === "succeeded") {
      assert.equal(done.usage?.seconds, 3, "the edit is as long as its 3 s source");
      const bytes = Buffer.from(await (await fetch(done.videoUrl)).arrayBuffer());
      assert.equal(bytes.subarray(4, 8).toString(), "ftyp", "a real MP4");
    }
  });

  test("extend: POST /v1/videos/extensions with duration = the seconds added; the result is source + added", async () => {
    const { upstreamId } = await adapter.submit(
      request({
        model: "grok-imagine-video",
        operation: "extend",
        prompt: "the camera pulls back",
        seconds: 4,
        ratio: "adaptive",
        generateAudio: false,
        safetyIdentifier: "5f2b9c0e1d7a4b33",
        content: [media("source_video", threeSeconds)],
      }),
      context("grok-imagine-video"),
    );
    assert.deepEqual(lastBody("/v1/videos/extensions"), {
      model: "grok-imagine-video",
      prompt: "the camera pulls back",
      duration: 4,
      video: { url: threeSeconds },
    });
    const done = await finish(upstreamId);
    assert.equal(done.type, "succeeded", JSON.stringify(done));
    if (done.type === "succeeded") assert.equal(done.usage?.seconds, 7);
  });

  test("inputs xAI cannot take are refused, not sent: a reference image on a generation, a frame on an edit", async () => {
    const before = xai.journal.list({ method: "POST" }).length;
    const ref = await rejection(
      adapter.submit(
        request({ content: [media("reference_image", FIRST, { position: 2 })] }),
        context("grok-imagine-video-1.5"),
      ),
    );
    assert.equal(ref.kind, "rejected");
    assert.equal(ref.code, "unsupported_by_provider");
    assert.match(ref.message, /reference image.*content\[2\]/);
    const frame = await rejection(
      adapter.submit(
        request({
          operation: "edit",
          content: [media("source_video", threeSeconds), media("first_frame", FIRST, { position: 1 })],
        }),
        context("grok-imagine-video"),
      ),
    );
    assert.match(frame.message, /first frame.*edit/);
    assert.equal(xai.journal.list({ method: "POST" }).length, before, "nothing reached xAI");
  });

  test("the double's refusals reach the adapter as rejected: an edit on 1.5, a source over 8.7 s", async () => {
    const on15 = await rejection(
      adapter.submit(
        request({ operation: "edit", seconds: 3, content: [media("source_video", threeSeconds)] }),
        context("grok-imagine-video-1.5"),
      ),
    );
    assert.equal(on15.kind, "rejected");
    assert.match(on15.message, /does not support video editing/);
    const long = await rejection(
      adapter.submit(
        request({ operation: "edit", seconds: 9, content: [media("source_video", nineSeconds)] }),
        context("grok-imagine-video"),
      ),
    );
    assert.equal(long.kind, "rejected");
    assert.match(long.message, /at most 8\.7 seconds/);
  });
});

describe("the xAI double's contract for the 1.5 fields, edits and extensions", () => {
  let xai: XaiDouble;
  let dir: string;
  let threeSeconds: string;
  before(async () => {
    xai = await startXaiDouble();
    dir = await mkdtemp(join(tmpdir(), "xai-double-"));
    threeSeconds = await clip(dir, 3);
  });
  after(async () => {
    await xai.close();
    await rm(dir, { recursive: true, force: true });
  });

  const post = async (path: string, body: unknown) => {
    const res = await fetch(`${xai.baseUrl}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${xai.keys[0]}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
  const generate = (body: Record<string, unknown>) =>
    post("/v1/videos/generations", { model: "grok-imagine-video-1.5", prompt: "x", duration: 6, ...body });
  const kf = (t: number) => ({ image: { url: PNG }, timestamp_s: t });
  const refused = (res: { status: number; body: Json }, pattern: RegExp) => {
    assert.equal(res.status, 400, JSON.stringify(res.body));
    assert.equal(res.body.code, "Client specified an invalid argument");
    assert.match(res.body.error, pattern);
  };

  test("keyframes: at most 4, strictly inside the clip, on a 1/3 s grid, only on the 1.5 models", async () => {
    assert.equal((await generate({ keyframes: [kf(1), kf(2), kf(3), kf(4 + 2 / 3)] })).status, 200);
    refused(await generate({ keyframes: [kf(1), kf(2), kf(3), kf(4), kf(5)] }), /at most 4 keyframes/);
    refused(await generate({ keyframes: [kf(1.25)] }), /multiple of 1\/3 second/);
    refused(await generate({ keyframes: [kf(0)] }), /strictly inside the clip/);
    refused(await generate({ keyframes: [kf(6)] }), /strictly inside the clip/);
    refused(await generate({ keyframes: [{ image: { url: PNG } }] }), /timestamp_s must be a number/);
    refused(
      await generate({ model: "grok-imagine-video", keyframes: [kf(1)] }),
      /keyframes is not supported/,
    );
    refused(
      await generate({ model: "grok-imagine-video-1.5-lite", keyframes: [kf(1)] }),
      /keyframes is not supported by grok-imagine-video-1.5-lite/,
    );
  });

  test("last_frame: the 1.5 models (and the preview alias), not lite unless set, not the older model", async () => {
    assert.equal((await generate({ image: { url: PNG }, last_frame: { url: PNG } })).status, 200);
    assert.equal(
      (await generate({ model: "grok-imagine-video-1.5-preview", last_frame: { url: PNG } })).status,
      200,
    );
    refused(
      await generate({ model: "grok-imagine-video-1.5-lite", last_frame: { url: PNG } }),
      /last_frame is not supported by grok-imagine-video-1.5-lite/,
    );
    refused(
      await generate({ model: "grok-imagine-video-1.5-lite", reference_images: [{ url: PNG }] }),
      /reference_images is not supported/,
    );
    refused(await generate({ model: "grok-imagine-video", last_frame: { url: PNG } }), /last_frame/);
    xai.updateSettings({ liteTakesFrames: true });
    try {
      assert.equal(
        (await generate({ model: "grok-imagine-video-1.5-lite", last_frame: { url: PNG } })).status,
        200,
      );
    } finally {
      xai.updateSettings({ liteTakesFrames: false });
    }
  });

  test("generate_audio must be a boolean; 21:9 and 5:2 and 1080p only on the 1.5 models; the prompt may go with a frame", async () => {
    refused(await generate({ generate_audio: "no" }), /generate_audio must be a boolean/);
    assert.equal((await generate({ aspect_ratio: "21:9", resolution: "1080p" })).status, 200);
    assert.equal((await generate({ aspect_ratio: "5:2" })).status, 200);
    refused(await generate({ model: "grok-imagine-video", aspect_ratio: "21:9" }), /aspect_ratio/);
    refused(await generate({ model: "grok-imagine-video", resolution: "1080p" }), /resolution/);
    assert.equal((await generate({ prompt: undefined, image: { url: PNG } })).status, 200);
    refused(await generate({ prompt: undefined }), /prompt is required/);
    const created = await generate({});
    assert.equal(xai.requests.get(created.body.request_id)?.resolution, "480p", "480p by default");
  });

  test("edits: grok-imagine-video only, no duration or ratio, the source probed (≤ 8.7 s)", async () => {
    const edit = (body: Record<string, unknown>) =>
      post("/v1/videos/edits", {
        model: "grok-imagine-video",
        prompt: "x",
        video: { url: threeSeconds },
        ...body,
      });
    const ok = await edit({});
    assert.equal(ok.status, 200);
    assert.equal(xai.requests.get(ok.body.request_id)?.sourceSeconds, 3);
    refused(await edit({ duration: 3 }), /duration is not supported for video editing/);
    refused(await edit({ aspect_ratio: "16:9" }), /aspect_ratio is not supported/);
    refused(await edit({ model: "grok-imagine-video-1.5-lite" }), /does not support video editing/);
    refused(await edit({ video: { url: "data:video/mp4;base64,AAAA" } }), /must be an MP4/);
    // A URL the double does not fetch: its facts are declared, as a test declares media anywhere.
    xai.mediaMeta.set("https://media.example/long.mp4", { durationSec: 8.8 });
    refused(await edit({ video: { url: "https://media.example/long.mp4" } }), /at most 8\.7 seconds/);
  });

  test("extensions: +2–10 s (6 by default) to a 2–15 s source; no ratio or resolution", async () => {
    const extend = (body: Record<string, unknown>) =>
      post("/v1/videos/extensions", { prompt: "x", video: { url: threeSeconds }, ...body });
    const byDefault = await extend({});
    assert.equal(byDefault.status, 200);
    assert.equal(xai.requests.get(byDefault.body.request_id)?.duration, 9, "3 s source + 6 s");
    refused(await extend({ duration: 11 }), /between 2 and 10 seconds/);
    refused(await extend({ duration: 1 }), /between 2 and 10 seconds/);
    refused(await extend({ resolution: "720p" }), /resolution is not supported/);
    refused(await extend({ model: "grok-imagine-video-1.5" }), /does not support video extension/);
    xai.mediaMeta.set("https://media.example/short.mp4", { durationSec: 1.5 });
    refused(await extend({ video: { url: "https://media.example/short.mp4" } }), /between 2 and 15 seconds/);
  });
});
