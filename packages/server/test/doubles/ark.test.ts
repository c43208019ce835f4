import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { probe } from "../../src/media/ffmpeg.ts";
import {
  type ArkDouble,
  type ArkDoubleOptions,
  DEFAULT_ARK_SETTINGS,
  DEFAULT_KEYS,
  startArkDouble,
} from "./ark/double.ts";

const CN_KEY = DEFAULT_KEYS.cn;
const BP_KEY = DEFAULT_KEYS.byteplus;
const TASKS = "/contents/generations/tasks";
const M = {
  liteT2v: "doubao-seedance-1-0-lite-t2v-250428",
  liteI2v: "doubao-seedance-1-0-lite-i2v-250428",
  pro: "doubao-seedance-1-0-pro-250528",
  proFast: "doubao-seedance-1-0-pro-fast-251015",
  pro15: "doubao-seedance-1-5-pro-251215",
  v2: "doubao-seedance-2-0-260128",
  v2fast: "doubao-seedance-2-0-fast-260128",
  v2mini: "doubao-seedance-2-0-mini-260615",
} as const;
const SEC = 1000;
const MIN = 60 * SEC;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

// biome-ignore lint/suspicious/noExplicitAny: JSON responses are inspected loosely in tests.
type Json = any;

interface Res {
  status: number;
  headers: Headers;
  body: Json;
}

/** Calls the double the way an adapter would: over HTTP with a Bearer key. */
function client(d: ArkDouble, key = d.keys[0] as string) {
  return async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Res> => {
    const res = await fetch(`${d.baseUrl}${path}`, {
      method,
      headers: {
        ...(key ? { authorization: `Bearer ${key}` } : {}),
        ...(body !== undefined ? { "content-type": "application/json" } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, headers: res.headers, body: parsed };
  };
}

const text = (t: string) => ({ type: "text", text: t });
const image = (url: string, role?: string) => ({
  type: "image_url",
  image_url: { url },
  ...(role ? { role } : {}),
});
const video = (url: string) => ({ type: "video_url", video_url: { url }, role: "reference_video" });
const audio = (url: string) => ({ type: "audio_url", audio_url: { url }, role: "reference_audio" });

/** Manual-clock double with exact timing: queue 10 s, run = table × duration/10, no jitter. */
function manual(options: ArkDoubleOptions = {}): Promise<ArkDouble> {
  return startArkDouble({
    clockScale: 0,
    clockStart: Date.UTC(2026, 5, 1, 8, 0, 0),
    queueDelayMs: 10 * SEC,
    jitter: 0,
    ...options,
  });
}

async function pngDataUrl(width: number, height: number): Promise<string> {
  const png = await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 40 } } })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}

/** A loopback callback receiver that records what it gets and answers per `respond`. */
async function startReceiver(respond: (body: Json, n: number) => number | "hang" = () => 200) {
  const received: Array<{ body: Json; headers: IncomingMessage["headers"] }> = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as Json;
      received.push({ body, headers: req.headers });
      const answer = respond(body, received.length);
      if (answer === "hang") return;
      res.statusCode = answer;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/ark/secret-token`,
    received,
    close: async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function rawGet(url: string): Promise<{ status?: number; bytes: number; error?: string; length?: string }> {
  return new Promise((resolve) => {
    const req = request(url, (res) => {
      let bytes = 0;
      const done = (error?: string) =>
        resolve({ status: res.statusCode, bytes, error, length: res.headers["content-length"] });
      res.on("data", (c: Buffer) => {
        bytes += c.length;
      });
      res.on("end", () => done());
      res.on("error", (e) => done(e.message));
      res.on("aborted", () => done("aborted"));
    });
    req.on("error", (e) => resolve({ bytes: 0, error: e.message }));
    req.end();
  });
}

function assertArkError(res: Res, status: number, code: string, param?: string) {
  assert.equal(res.status, status, `status for ${code}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body?.error?.code, code, JSON.stringify(res.body));
  assert.equal(typeof res.body.error.message, "string");
  assert.equal(typeof res.body.error.type, "string");
  assert.equal(typeof res.body.error.param, "string");
  if (param !== undefined) assert.equal(res.body.error.param, param);
  const rid = res.headers.get("x-request-id");
  assert.ok(rid, "X-Request-Id on error responses");
  assert.ok(res.body.error.message.includes(rid), "the message carries the request id");
}

describe("Ark double: create → poll → succeeded (compressed real-time clock)", () => {
  let d: ArkDouble;
  let dir: string;
  before(async () => {
    d = await startArkDouble({ profile: "cn" });
    dir = await mkdtemp(join(tmpdir(), "ark-double-test-"));
  });
  after(async () => {
    await d.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("produces a downloadable, probe-able MP4 with correct tokens and echoes", async () => {
    const api = client(d);
    const started = performance.now();
    const created = await api("POST", TASKS, {
      model: M.pro,
      content: [text("A cat yawns at the camera")],
      resolution: "720p",
      ratio: "16:9",
      duration: 5,
      return_last_frame: true,
      safety_identifier: "sha256-user",
    });
    assert.equal(created.status, 200);
    assert.match(created.body.id, /^cgt-\d{14}-[a-z0-9]{5}$/);
    assert.equal(created.body.safety_identifier, "sha256-user");
    assert.match(created.headers.get("x-request-id") ?? "", /^02\d{13}[0-9a-f]{24}$/);
    const id = created.body.id as string;

    const seen = new Set<string>();
    let task: Json;
    for (;;) {
      const got = await api("GET", `${TASKS}/${id}`);
      assert.equal(got.status, 200);
      assert.ok(got.headers.get("x-request-id"));
      task = got.body;
      seen.add(task.status);
      if (task.status === "succeeded") break;
      assert.ok(performance.now() - started < 3000, "finishes within a few hundred ms of real time");
      await new Promise((r) => setTimeout(r, 15));
    }
    assert.ok(seen.has("queued") || seen.has("running"));
    assert.equal(task.error, null);
    assert.equal(task.model, M.pro);
    assert.equal(task.resolution, "720p");
    assert.equal(task.ratio, "16:9");
    assert.equal(task.duration, 5);
    assert.equal(task.frames, 121);
    assert.equal(task.framespersecond, 24);
    assert.equal(task.generate_audio, false);
    assert.equal(task.draft, false);
    assert.equal(task.service_tier, "default");
    assert.equal(task.execution_expires_after, 172800);
    assert.equal(task.safety_identifier, "sha256-user");
    assert.ok(Number.isInteger(task.seed) && task.seed >= 0 && task.seed <= 2 ** 32 - 1, "seed -1 resolved");
    assert.equal(task.usage.completion_tokens, (1248 * 704 * 121) / 1024);
    assert.equal(task.usage.total_tokens, task.usage.completion_tokens);
    assert.ok(task.updated_at >= task.created_at + 40, "about 50 simulated seconds of queue + run time");
    assert.match(
      task.content.video_url,
      /\/tos\/ark-content-generation-cn-beijing\/.+\.mp4\?X-Tos-Algorithm=TOS4-HMAC-SHA256&.*X-Tos-Expires=86400&.*X-Tos-Signature=[0-9a-f]{64}$/,
    );

    const mp4 = await fetch(task.content.video_url);
    assert.equal(mp4.status, 200);
    const file = join(dir, "out.mp4");
    await writeFile(file, Buffer.from(await mp4.arrayBuffer()));
    const info = await probe(file);
    const v = info.streams.find((s) => s.codec_type === "video");
    const a = info.streams.find((s) => s.codec_type === "audio");
    assert.equal(v?.codec_name, "h264");
    assert.equal(v?.width, 320);
    assert.equal(v?.height, 180);
    assert.equal(a?.codec_name, "aac");
    assert.ok(Math.abs(Number(info.format.duration) - 2) < 0.1);

    const frame = await fetch(task.content.last_frame_url);
    assert.equal(frame.status, 200);
    assert.equal(frame.headers.get("content-type"), "image/png");
    const meta = await sharp(Buffer.from(await frame.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["png", 320, 180]);
  });
});

describe("Ark double: outputs, echoes, clock and URL expiry (manual clock)", () => {
  let d: ArkDouble;
  before(async () => {
    d = await manual();
  });
  after(() => d.close());

  it("follows the clock: queued → running → succeeded at the table times", async () => {
    const api = client(d);
    const { body } = await api("POST", TASKS, {
      model: M.pro,
      content: [text("timing")],
      resolution: "720p",
    });
    const id = body.id as string;
    assert.equal((await api("GET", `${TASKS}/${id}`)).body.status, "queued");
    d.clock.advance(10 * SEC - 1);
    assert.equal((await api("GET", `${TASKS}/${id}`)).body.status, "queued");
    d.clock.advance(1);
    assert.equal((await api("GET", `${TASKS}/${id}`)).body.status, "running");
    // 1.0 pro 720p: 85 s per 10 s clip → 42.5 s for 5 s.
    d.clock.advance(42_499);
    assert.equal((await api("GET", `${TASKS}/${id}`)).body.status, "running");
    d.clock.advance(1);
    const done = (await api("GET", `${TASKS}/${id}`)).body;
    assert.equal(done.status, "succeeded");
    assert.equal(done.updated_at - done.created_at, 52);
    assert.equal(done.last_frame_url, undefined);
    assert.equal(done.content.last_frame_url, undefined, "no last frame unless return_last_frame");
  });

  it("resolves adaptive ratio from the first frame, seed -1, and uses the 1.5 pixel table", async () => {
    const api = client(d);
    const portrait = await pngDataUrl(576, 1024);
    const { body } = await api("POST", TASKS, {
      model: M.pro15,
      content: [text("she turns around"), image(portrait)],
      seed: -1,
      duration: 5,
    });
    d.clock.advance(HOUR);
    const t = (await api("GET", `${TASKS}/${body.id}`)).body;
    assert.equal(t.status, "succeeded");
    assert.equal(t.ratio, "9:16");
    assert.equal(t.resolution, "720p");
    assert.equal(t.generate_audio, true, "audio defaults on for 1.5 pro");
    assert.notEqual(t.seed, -1);
    assert.equal(t.usage.completion_tokens, 108900);
    const explicit = await api("POST", TASKS, {
      model: M.v2,
      content: [text("x")],
      duration: 10,
      seed: 42,
      ratio: "1:1",
    });
    d.clock.advance(HOUR);
    const t2 = (await api("GET", `${TASKS}/${explicit.body.id}`)).body;
    assert.deepEqual([t2.seed, t2.ratio, t2.frames, t2.duration], [42, "1:1", 241, 10]);
    assert.equal(t2.usage.completion_tokens, Math.floor((960 * 960 * 241) / 1024));
  });

  it("expires output URLs after the TTL, early on demand, and with the [[url-ttl]] marker", async () => {
    const api = client(d);
    const mk = async (prompt: string) => {
      const { body } = await api("POST", TASKS, {
        model: M.proFast,
        content: [text(prompt)],
        return_last_frame: true,
      });
      d.clock.advance(90 * SEC); // queue 10 s + run 50 s (1080p, 5 s)
      return (await api("GET", `${TASKS}/${body.id}`)).body as Json;
    };
    const a = await mk("a");
    const b = await mk("b");
    const c = await mk("c [[url-ttl:60]]");
    for (const t of [a, b, c]) assert.equal((await fetch(t.content.video_url)).status, 200);

    d.clock.advance(60 * SEC);
    const early = await fetch(c.content.video_url);
    assert.equal(early.status, 403);
    assert.match(await early.text(), /<Code>AccessDenied<\/Code>/);
    assert.match(c.content.video_url, /X-Tos-Expires=86400/, "the URL still advertises 24 h");

    const expired = await fetch(`${d.url}/__control/expire-urls`, {
      method: "POST",
      body: JSON.stringify({ tag: b.id }),
    });
    assert.deepEqual(await expired.json(), { expired: 2 });
    assert.equal((await fetch(b.content.video_url)).status, 403);
    assert.equal((await fetch(b.content.last_frame_url)).status, 403);
    assert.equal((await fetch(a.content.video_url)).status, 200);

    d.clock.advance(DAY);
    const late = await fetch(a.content.video_url);
    assert.equal(late.status, 403);
    assert.match(await late.text(), /Request has expired/);
    assert.equal((await api("GET", `${TASKS}/${a.id}`)).status, 200, "the task record outlives its URL");
  });
});

describe("Ark double: validation", () => {
  let d: ArkDouble;
  let api: ReturnType<typeof client>;
  let small: string;
  let landscape: string;
  before(async () => {
    d = await manual({ queueCap: 10_000 });
    api = client(d);
    small = await pngDataUrl(200, 200);
    landscape = await pngDataUrl(640, 360);
  });
  after(() => d.close());

  const img = "https://img.example/a.png";
  const img2 = "https://img.example/b.png";
  type Case = [name: string, body: () => Json, status: number, code?: string, param?: string, headers?: Json];
  const cases: Case[] = [
    ["missing model", () => ({ content: [text("x")] }), 400, "MissingParameter", "model"],
    [
      "unknown model",
      () => ({ model: "doubao-seedance-9", content: [text("x")] }),
      404,
      "InvalidEndpointOrModel.NotFound",
    ],
    ["missing content", () => ({ model: M.pro }), 400, "MissingParameter", "content"],
    ["empty content", () => ({ model: M.pro, content: [] }), 400, "InvalidParameter", "content"],
    [
      "unknown content type",
      () => ({ model: M.pro, content: [{ type: "gif_url" }] }),
      400,
      "InvalidParameter",
    ],
    [
      "mixed image scenarios",
      () => ({
        model: M.liteI2v,
        content: [text("x"), image(img, "first_frame"), image(img2, "reference_image")],
      }),
      400,
      "InvalidParameter",
      "content.role",
    ],
    [
      "two images without roles",
      () => ({ model: M.pro, content: [text("x"), image(img), image(img2)] }),
      400,
      "MissingParameter",
    ],
    [
      "two first frames",
      () => ({ model: M.pro, content: [text("x"), image(img, "first_frame"), image(img2, "first_frame")] }),
      400,
      "InvalidParameter",
    ],
    [
      "three frame images",
      () => ({
        model: M.pro,
        content: [text("x"), image(img, "first_frame"), image(img2, "last_frame"), image(img, "first_frame")],
      }),
      400,
      "InvalidParameter",
    ],
    [
      "lone last frame",
      () => ({ model: M.pro, content: [image(img, "last_frame")] }),
      400,
      "InvalidParameter",
    ],
    [
      "5 reference images on 1.0 lite",
      () => ({
        model: M.liteI2v,
        content: [text("x"), ...Array.from({ length: 5 }, () => image(img, "reference_image"))],
      }),
      400,
      "InvalidParameter",
    ],
    [
      "4 reference images on 1.0 lite",
      () => ({
        model: M.liteI2v,
        content: [text("x"), ...Array.from({ length: 4 }, () => image(img, "reference_image"))],
      }),
      200,
    ],
    [
      "10 reference images on 2.0",
      () => ({
        model: M.v2,
        content: [text("x"), ...Array.from({ length: 10 }, () => image(img, "reference_image"))],
      }),
      400,
      "InvalidParameter",
    ],
    [
      "9 reference images on 2.0",
      () => ({
        model: M.v2,
        content: [text("x"), ...Array.from({ length: 9 }, () => image(img, "reference_image"))],
      }),
      200,
    ],
    [
      "reference images on 1.0 pro",
      () => ({ model: M.pro, content: [text("x"), image(img, "reference_image")] }),
      400,
      "InvalidParameter",
    ],
    [
      "first+last on 1.0 pro fast",
      () => ({
        model: M.proFast,
        content: [text("x"), image(img, "first_frame"), image(img2, "last_frame")],
      }),
      400,
      "InvalidParameter",
    ],
    [
      "first+last on 1.0 pro",
      () => ({ model: M.pro, content: [text("x"), image(img, "last_frame"), image(img2, "first_frame")] }),
      200,
    ],
    [
      "image on 1.0 lite t2v",
      () => ({ model: M.liteT2v, content: [text("x"), image(img)] }),
      400,
      "InvalidParameter",
    ],
    ["no image on 1.0 lite i2v", () => ({ model: M.liteI2v, content: [text("x")] }), 400, "MissingParameter"],
    ["bad role", () => ({ model: M.pro, content: [image(img, "middle_frame")] }), 400, "InvalidParameter"],
    [
      "video on 1.5 pro",
      () => ({ model: M.pro15, content: [text("x"), video("https://v/a.mp4")] }),
      400,
      "InvalidParameter",
    ],
    [
      "audio on 1.0 pro",
      () => ({ model: M.pro, content: [text("x"), audio("https://a/a.mp3")] }),
      400,
      "InvalidParameter",
    ],
    [
      "audio alone on 2.0",
      () => ({ model: M.v2, content: [text("x"), audio("https://a/a.mp3")] }),
      400,
      "InvalidParameter",
    ],
    [
      "audio + reference image on 2.0",
      () => ({ model: M.v2, content: [text("x"), image(img, "reference_image"), audio("https://a/a.mp3")] }),
      200,
    ],
    [
      "video + first frame on 2.0",
      () => ({ model: M.v2, content: [text("x"), image(img, "first_frame"), video("https://v/a.mp4")] }),
      400,
      "InvalidParameter",
    ],
    [
      "wrong video role",
      () => ({
        model: M.v2,
        content: [text("x"), { type: "video_url", video_url: { url: "https://v" }, role: "first_frame" }],
      }),
      400,
      "InvalidParameter",
    ],
    [
      "4 videos on 2.0",
      () => ({ model: M.v2, content: [text("x"), ...Array(4).fill(video("https://v/a.mp4"))] }),
      400,
      "InvalidParameter",
    ],
    [
      "declared video too long",
      () => ({ model: M.v2, content: [text("x"), video("https://v/long.mp4")] }),
      400,
      "InvalidParameter",
      undefined,
      { "https://v/long.mp4": { durationSec: 20 } },
    ],
    [
      "resolution enum",
      () => ({ model: M.pro, content: [text("x")], resolution: "2k" }),
      400,
      "InvalidParameter",
      "resolution",
    ],
    [
      "1080p on 2.0 fast",
      () => ({ model: M.v2fast, content: [text("x")], resolution: "1080p" }),
      400,
      "InvalidParameter",
      "resolution",
    ],
    [
      "1080p on 2.0 mini",
      () => ({ model: M.v2mini, content: [text("x")], resolution: "1080p" }),
      400,
      "InvalidParameter",
      "resolution",
    ],
    [
      "4k on cn 2.0",
      () => ({ model: M.v2, content: [text("x")], resolution: "4k" }),
      400,
      "InvalidParameter",
      "resolution",
    ],
    [
      "1080p with reference images on 1.0 lite",
      () => ({ model: M.liteI2v, content: [text("x"), image(img, "reference_image")], resolution: "1080p" }),
      400,
      "InvalidParameter",
      "resolution",
    ],
    [
      "ratio enum",
      () => ({ model: M.pro, content: [text("x")], ratio: "5:4" }),
      400,
      "InvalidParameter",
      "ratio",
    ],
    [
      "duration 13 on 1.0",
      () => ({ model: M.pro, content: [text("x")], duration: 13 }),
      400,
      "InvalidParameter",
      "duration",
    ],
    [
      "duration 1 on 1.0",
      () => ({ model: M.pro, content: [text("x")], duration: 1 }),
      400,
      "InvalidParameter",
      "duration",
    ],
    ["duration 2 on 1.0", () => ({ model: M.pro, content: [text("x")], duration: 2 }), 200],
    [
      "duration -1 on 1.0",
      () => ({ model: M.pro, content: [text("x")], duration: -1 }),
      400,
      "InvalidParameter",
      "duration",
    ],
    [
      "duration 3 on 1.5",
      () => ({ model: M.pro15, content: [text("x")], duration: 3 }),
      400,
      "InvalidParameter",
      "duration",
    ],
    ["duration -1 on 1.5", () => ({ model: M.pro15, content: [text("x")], duration: -1 }), 200],
    [
      "duration 16 on 2.0",
      () => ({ model: M.v2, content: [text("x")], duration: 16 }),
      400,
      "InvalidParameter",
      "duration",
    ],
    ["duration 15 on 2.0", () => ({ model: M.v2, content: [text("x")], duration: 15 }), 200],
    [
      "duration as string",
      () => ({ model: M.pro, content: [text("x")], duration: "5" }),
      400,
      "InvalidParameter",
      "duration",
    ],
    [
      "frames on 1.5",
      () => ({ model: M.pro15, content: [text("x")], frames: 121 }),
      400,
      "InvalidParameter",
      "frames",
    ],
    [
      "frames on 2.0",
      () => ({ model: M.v2, content: [text("x")], frames: 121 }),
      400,
      "InvalidParameter",
      "frames",
    ],
    [
      "frames not 25+4n",
      () => ({ model: M.pro, content: [text("x")], frames: 30 }),
      400,
      "InvalidParameter",
      "frames",
    ],
    [
      "frames 293",
      () => ({ model: M.pro, content: [text("x")], frames: 293 }),
      400,
      "InvalidParameter",
      "frames",
    ],
    ["frames 121 on 1.0", () => ({ model: M.pro, content: [text("x")], frames: 121 }), 200],
    [
      "draft on 1.0",
      () => ({ model: M.pro, content: [text("x")], draft: true }),
      400,
      "InvalidParameter",
      "draft",
    ],
    [
      "draft at 720p",
      () => ({ model: M.pro15, content: [text("x")], draft: true, resolution: "720p" }),
      400,
      "InvalidParameter",
      "resolution",
    ],
    [
      "draft with return_last_frame",
      () => ({ model: M.pro15, content: [text("x")], draft: true, return_last_frame: true }),
      400,
      "InvalidParameter",
      "return_last_frame",
    ],
    [
      "draft with flex",
      () => ({ model: M.pro15, content: [text("x")], draft: true, service_tier: "flex" }),
      400,
      "InvalidParameter",
    ],
    [
      "flex on 2.0",
      () => ({ model: M.v2, content: [text("x")], service_tier: "flex" }),
      400,
      "InvalidParameter",
      "service_tier",
    ],
    ["flex on 1.0", () => ({ model: M.pro, content: [text("x")], service_tier: "flex" }), 200],
    [
      "service_tier enum",
      () => ({ model: M.pro, content: [text("x")], service_tier: "turbo" }),
      400,
      "InvalidParameter",
    ],
    [
      "execution_expires_after 3599",
      () => ({ model: M.pro, content: [text("x")], execution_expires_after: 3599 }),
      400,
      "InvalidParameter",
      "execution_expires_after",
    ],
    [
      "execution_expires_after 259201",
      () => ({ model: M.pro, content: [text("x")], execution_expires_after: 259201 }),
      400,
      "InvalidParameter",
    ],
    [
      "execution_expires_after 3600",
      () => ({ model: M.pro, content: [text("x")], execution_expires_after: 3600 }),
      200,
    ],
    ["seed -2", () => ({ model: M.pro, content: [text("x")], seed: -2 }), 400, "InvalidParameter", "seed"],
    [
      "seed 2^32",
      () => ({ model: M.pro, content: [text("x")], seed: 2 ** 32 }),
      400,
      "InvalidParameter",
      "seed",
    ],
    ["seed 2^32-1", () => ({ model: M.pro, content: [text("x")], seed: 2 ** 32 - 1 }), 200],
    [
      "generate_audio on 1.0",
      () => ({ model: M.pro, content: [text("x")], generate_audio: true }),
      400,
      "InvalidParameter",
    ],
    [
      "camera_fixed on 2.0",
      () => ({ model: M.v2, content: [text("x")], camera_fixed: true }),
      400,
      "InvalidParameter",
    ],
    [
      "tools on 1.0",
      () => ({ model: M.pro, content: [text("x")], tools: [{ type: "web_search" }] }),
      400,
      "InvalidParameter",
    ],
    ["tools on 2.0", () => ({ model: M.v2, content: [text("x")], tools: [{ type: "web_search" }] }), 200],
    [
      "callback_url scheme",
      () => ({ model: M.pro, content: [text("x")], callback_url: "ftp://x/y" }),
      400,
      "InvalidParameter",
    ],
    ["no prompt for t2v", () => ({ model: M.pro, content: [text("   ")] }), 400, "MissingParameter"],
    [
      "upper-case data URL format",
      () => ({ model: M.pro, content: [image(landscape.replace("image/png", "image/PNG"))] }),
      400,
      "InvalidImageURL.InvalidFormat",
    ],
    ["lower-case data URL", () => ({ model: M.pro, content: [image(landscape)] }), 200],
    [
      "unsupported data URL format",
      () => ({ model: M.pro, content: [image("data:image/svg+xml;base64,PHN2Zy8+")] }),
      400,
      "InvalidParameter.UnsupportedImageFormat",
    ],
    ["empty image URL", () => ({ model: M.pro, content: [image("")] }), 400, "InvalidImageURL.EmptyURL"],
    ["image too small (decoded)", () => ({ model: M.pro, content: [image(small)] }), 400, "InvalidParameter"],
    [
      "image too small (declared)",
      () => ({ model: M.pro, content: [image(img)] }),
      400,
      "InvalidParameter",
      undefined,
      { [img]: { width: 300, height: 600 } },
    ],
    [
      "image ratio out of bounds (declared, indexed)",
      () => ({ model: M.pro, content: [text("x"), image(img)] }),
      400,
      "InvalidParameter",
      undefined,
      [{ width: 1500, height: 500 }],
    ],
    [
      "image too large (declared)",
      () => ({ model: M.pro, content: [image(img)] }),
      400,
      "InvalidParameter.OversizedImage",
      undefined,
      { [img]: { width: 1000, height: 1000, bytes: 31 * 1024 * 1024 } },
    ],
    [
      "heic on 1.0",
      () => ({ model: M.pro, content: [image(img)] }),
      400,
      "InvalidParameter.UnsupportedImageFormat",
      undefined,
      { [img]: { format: "heic" } },
    ],
    [
      "heic on 1.5",
      () => ({ model: M.pro15, content: [image(img)] }),
      200,
      undefined,
      undefined,
      { [img]: { format: "heic" } },
    ],
    [
      "real face on 2.0",
      () => ({ model: M.v2, content: [text("x"), image(img, "reference_image")] }),
      400,
      "InputImageSensitiveContentDetected.PrivacyInformation",
      undefined,
      { [img]: { face: true } },
    ],
    [
      "real face from an asset on 2.0",
      () => ({ model: M.v2, content: [text("x"), image("asset://asset-123", "reference_image")] }),
      200,
      undefined,
      undefined,
      { "asset://asset-123": { face: true } },
    ],
    [
      "real face in a reference video",
      () => ({ model: M.v2, content: [text("x"), video("https://v/face.mp4")] }),
      400,
      "InputVideoSensitiveContentDetected.PrivacyInformation",
      undefined,
      { "https://v/face.mp4": { face: true } },
    ],
  ];

  for (const [name, body, status, code, param, meta] of cases) {
    it(`${name} → ${status}${code ? ` ${code}` : ""}`, async () => {
      const headers: Record<string, string> = meta ? { "x-double-media-meta": JSON.stringify(meta) } : {};
      const res = await api("POST", TASKS, body(), headers);
      if (code) assertArkError(res, status, code, param);
      else assert.equal(res.status, status, JSON.stringify(res.body));
    });
  }

  it("rejects non-JSON bodies and bodies over the cap (64 MiB by default)", async () => {
    assertArkError(await api("POST", TASKS, "{not json"), 400, "InvalidParameter");
    assert.equal(d.settings.maxBodyBytes, 64 * 1024 * 1024);
    // Pushing 64 MiB through loopback takes seconds on a slow box; the cap is the same code at 1 MiB.
    const cap = 1024 * 1024;
    const set = await fetch(`${d.url}/__control/settings`, {
      method: "POST",
      body: JSON.stringify({ maxBodyBytes: cap }),
    });
    assert.equal(set.status, 200);
    const body = { model: M.pro, content: [text("p")] };
    const base = JSON.stringify(body).length;
    const padded = (size: number) => ({ ...body, content: [text("p".repeat(size - base + 1))] });
    assert.equal(JSON.stringify(padded(cap)).length, cap);
    assert.equal((await api("POST", TASKS, padded(cap))).status, 200, "exactly at the cap is fine");
    assertArkError(await api("POST", TASKS, padded(cap + 1)), 400, "InvalidParameter");
    assert.equal(d.journal.last({ method: "POST" })?.bodyBytes, cap + 1);
    d.updateSettings({ maxBodyBytes: 64 * 1024 * 1024 });
  });

  it("takes media facts registered through the control API", async () => {
    const url = "https://img.example/registered.png";
    await fetch(`${d.url}/__control/media-meta`, {
      method: "POST",
      body: JSON.stringify({ [url]: { width: 100, height: 100 } }),
    });
    assertArkError(
      await api("POST", TASKS, { model: M.pro, content: [image(url)] }),
      400,
      "InvalidParameter",
    );
  });

  it("parses legacy --commands on 1.x and rejects (or ignores) them on 2.x", async () => {
    const one = await api("POST", TASKS, {
      model: M.pro,
      content: [text("a dog runs --rs 480p --rt 1:1 --dur 3 --seed 7 --cf true --wm false")],
    });
    assert.equal(one.status, 200);
    const t = d.tasks.view(one.body.id) as Json;
    assert.deepEqual([t.resolution, t.ratio, t.duration, t.seed], ["480p", "1:1", 3, 7]);
    const topLevelWins = await api("POST", TASKS, {
      model: M.pro,
      content: [text("x --dur 3")],
      duration: 6,
    });
    assert.equal((d.tasks.view(topLevelWins.body.id) as Json).duration, 6);
    assertArkError(
      await api("POST", TASKS, { model: M.pro, content: [text("x --resolution 4k")] }),
      400,
      "InvalidParameter",
      "resolution",
    );
    assertArkError(
      await api("POST", TASKS, { model: M.pro, content: [text("x --fps 16")] }),
      400,
      "InvalidParameter",
    );
    assertArkError(
      await api("POST", TASKS, { model: M.v2, content: [text("x --rs 480p")] }),
      400,
      "InvalidParameter",
      "content.text",
    );
    await fetch(`${d.url}/__control/settings`, {
      method: "POST",
      body: JSON.stringify({ legacyCommandsOn2x: "ignore" }),
    });
    const ignored = await api("POST", TASKS, { model: M.v2, content: [text("x --rs 480p")] });
    assert.equal(ignored.status, 200);
    assert.equal((d.tasks.view(ignored.body.id) as Json).resolution, "720p");
    d.updateSettings({ legacyCommandsOn2x: "reject" });
  });

  it("turns a 1.5 pro draft into a final video via a draft_task item", async () => {
    const draft = await api("POST", TASKS, {
      model: M.pro15,
      content: [text("a draft of waves")],
      draft: true,
      seed: 99,
    });
    assert.equal(draft.status, 200);
    const early = await api("POST", TASKS, {
      model: M.pro15,
      content: [{ type: "draft_task", draft_task: { id: draft.body.id } }],
    });
    assertArkError(early, 400, "InvalidParameter", "content.draft_task.id");
    d.clock.advance(HOUR);
    const dt = d.tasks.view(draft.body.id) as Json;
    assert.deepEqual([dt.status, dt.draft, dt.resolution], ["succeeded", true, "480p"]);
    const final = await api("POST", TASKS, {
      model: M.pro15,
      content: [{ type: "draft_task", draft_task: { id: draft.body.id } }],
      resolution: "720p",
    });
    assert.equal(final.status, 200);
    const ft = d.tasks.view(final.body.id) as Json;
    assert.deepEqual(
      [ft.draft, ft.draft_task_id, ft.seed, ft.resolution],
      [false, draft.body.id, 99, "720p"],
    );
    const notDraft = await api("POST", TASKS, {
      model: M.pro15,
      content: [{ type: "draft_task", draft_task: { id: final.body.id } }],
    });
    assertArkError(notDraft, 400, "InvalidParameter");
    assertArkError(
      await api("POST", TASKS, {
        model: M.pro,
        content: [{ type: "draft_task", draft_task: { id: draft.body.id } }],
      }),
      400,
      "InvalidParameter",
    );
  });
});

describe("Ark double: regions, keys and model ids", () => {
  let cn: ArkDouble;
  let bp: ArkDouble;
  before(async () => {
    cn = await manual({ profile: "cn", endpoints: { "ep-20260101-abcde": M.pro } });
    bp = await manual({ profile: "byteplus" });
  });
  after(async () => {
    await cn.close();
    await bp.close();
  });

  it("answers 401 for a missing, wrong or other-region key", async () => {
    const body = { model: M.pro, content: [text("x")] };
    assertArkError(await client(cn, "")("POST", TASKS, body), 401, "AuthenticationError");
    assertArkError(await client(cn, "nope")("POST", TASKS, body), 401, "AuthenticationError");
    const cross = await client(cn, BP_KEY)("POST", TASKS, body);
    assertArkError(cross, 401, "AuthenticationError");
    assert.equal(cross.body.error.type, "Unauthorized");
    assert.match(cross.body.error.message, /region/);
    assertArkError(await client(bp, CN_KEY)("GET", `${TASKS}/cgt-x`), 401, "AuthenticationError");
  });

  it("accepts each region's model ids and 404s the other region's", async () => {
    assert.equal((await client(cn)("POST", TASKS, { model: M.pro, content: [text("x")] })).status, 200);
    assert.equal(
      (await client(bp)("POST", TASKS, { model: "seedance-1-0-pro-250528", content: [text("x")] })).status,
      200,
    );
    const v2 = await client(bp)("POST", TASKS, {
      model: "dreamina-seedance-2-0-260128",
      content: [text("x")],
      resolution: "4k",
    });
    assert.equal(v2.status, 200, "BytePlus 2.0 lists 4k");
    assert.equal(
      (
        await client(bp)("POST", TASKS, {
          model: "dreamina-seedance-2-5-260628",
          content: [text("x")],
          duration: 30,
        })
      ).status,
      200,
    );
    assertArkError(
      await client(cn)("POST", TASKS, { model: "seedance-1-0-pro-250528", content: [text("x")] }),
      404,
      "InvalidEndpointOrModel.NotFound",
    );
    assertArkError(
      await client(bp)("POST", TASKS, { model: M.pro, content: [text("x")] }),
      404,
      "InvalidEndpointOrModel.NotFound",
    );
    assertArkError(
      await client(cn)("POST", TASKS, { model: "dreamina-seedance-2-5-260628", content: [text("x")] }),
      404,
      "InvalidEndpointOrModel.NotFound",
    );
    assertArkError(
      await client(cn)("POST", TASKS, { model: "seedance-1-0-pro", content: [text("x")] }),
      404,
      "InvalidEndpointOrModel.NotFound",
    );
  });

  it("accepts configured endpoint ids and reports ModelNotOpen", async () => {
    const ep = await client(cn)("POST", TASKS, { model: "ep-20260101-abcde", content: [text("x")] });
    assert.equal(ep.status, 200);
    assert.equal((cn.tasks.view(ep.body.id) as Json).model, "ep-20260101-abcde");
    assertArkError(
      await client(cn)("POST", TASKS, { model: "ep-unknown", content: [text("x")] }),
      404,
      "InvalidEndpointOrModel.NotFound",
    );
    cn.updateSettings({ notOpenModels: [M.v2] });
    assertArkError(
      await client(cn)("POST", TASKS, { model: M.v2, content: [text("x")] }),
      404,
      "ModelNotOpen",
    );
  });

  it("sends X-Request-Id on every response, unknown paths included", async () => {
    const res = await client(cn)("GET", "/nope");
    assertArkError(res, 404, "ResourceNotFound");
    const file = await fetch(`${cn.url}/tos/none/x.mp4`);
    assert.ok(file.headers.get("x-request-id"));
  });
});

describe("Ark double: list, delete, expiry and retention", () => {
  let d: ArkDouble;
  let api: ReturnType<typeof client>;
  before(async () => {
    d = await manual({ queueDelayMs: MIN });
    api = client(d);
  });
  after(() => d.close());

  it("lists with filters and pages", async () => {
    const ids: string[] = [];
    for (const [model, tier] of [
      [M.pro, "default"],
      [M.pro, "flex"],
      [M.proFast, "default"],
      [M.v2, "default"],
    ] as const) {
      const r = await api("POST", TASKS, { model, content: [text("list me")], service_tier: tier });
      assert.equal(r.status, 200);
      ids.push(r.body.id);
      d.clock.advance(SEC);
    }
    d.clock.advance(2 * MIN); // non-flex tasks are running (or done); flex waits in the queue for 2 h
    let r = await api("GET", `${TASKS}?page_num=1&page_size=500`);
    assert.equal(r.status, 200);
    assert.equal(r.body.total, 4);
    assert.deepEqual(
      r.body.items.map((t: Json) => t.id),
      [...ids].reverse(),
      "newest first",
    );
    assert.equal(r.body.items[0].framespersecond, 24);
    r = await api("GET", `${TASKS}?filter.service_tier=flex`);
    assert.deepEqual([r.body.total, r.body.items[0].id], [1, ids[1]]);
    r = await api("GET", `${TASKS}?filter.status=queued`);
    assert.deepEqual(
      r.body.items.map((t: Json) => t.id),
      [ids[1]],
    );
    r = await api("GET", `${TASKS}?filter.model=${M.pro}`);
    assert.equal(r.body.total, 2);
    r = await api("GET", `${TASKS}?filter.task_ids=${ids[0]}&filter.task_ids=${ids[3]}`);
    assert.deepEqual(r.body.items.map((t: Json) => t.id).sort(), [ids[0], ids[3]].sort());
    r = await api("GET", `${TASKS}?page_size=3&page_num=2`);
    assert.deepEqual([r.body.total, r.body.items.length, r.body.items[0].id], [4, 1, ids[0]]);
    assertArkError(await api("GET", `${TASKS}?page_size=0`), 400, "InvalidParameter", "page_size");
    assertArkError(await api("GET", `${TASKS}?page_size=501`), 400, "InvalidParameter", "page_size");
    assertArkError(await api("GET", `${TASKS}?page_num=abc`), 400, "InvalidParameter", "page_num");
    assertArkError(
      await api("GET", `${TASKS}?filter.status=paused`),
      400,
      "InvalidParameter",
      "filter.status",
    );
    d.clock.advance(8 * DAY);
    r = await api("GET", TASKS);
    assert.equal(r.body.total, 0, "tasks older than 7 days are gone");
    assertArkError(await api("GET", `${TASKS}/${ids[0]}`), 404, "ResourceNotFound");
  });

  it("cancels queued tasks, refuses running ones, deletes terminal ones", async () => {
    const a = (await api("POST", TASKS, { model: M.pro, content: [text("cancel me")] })).body.id;
    const b = (await api("POST", TASKS, { model: M.pro, content: [text("run me")] })).body.id;
    d.clock.advance(30 * SEC);
    let del = await api("DELETE", `${TASKS}/${a}`);
    assert.equal(del.status, 200);
    assert.deepEqual(del.body, {});
    assert.ok(del.headers.get("x-request-id"));
    assert.equal((await api("GET", `${TASKS}/${a}`)).body.status, "cancelled");
    d.clock.advance(MIN);
    assert.equal((await api("GET", `${TASKS}/${a}`)).body.status, "cancelled", "a cancelled task never runs");
    assert.equal((await api("GET", `${TASKS}/${b}`)).body.status, "running");
    assertArkError(await api("DELETE", `${TASKS}/${b}`), 400, "InvalidParameter");
    d.clock.advance(HOUR);
    assert.equal((await api("GET", `${TASKS}/${b}`)).body.status, "succeeded");
    del = await api("DELETE", `${TASKS}/${b}`);
    assert.equal(del.status, 200);
    assertArkError(await api("GET", `${TASKS}/${b}`), 404, "ResourceNotFound");
    assertArkError(await api("DELETE", `${TASKS}/${b}`), 404, "ResourceNotFound");
    assert.equal((await api("GET", `${TASKS}?filter.status=cancelled`)).body.total, 1);
    d.clock.advance(DAY);
    assertArkError(await api("GET", `${TASKS}/${a}`), 404, "ResourceNotFound");
    assert.equal(
      (await api("GET", `${TASKS}?filter.status=cancelled`)).body.total,
      0,
      "cancelled records vanish after 24 h",
    );
    assertArkError(await api("GET", `${TASKS}/cgt-20260101000000-nope1`), 404, "ResourceNotFound");
  });

  it("expires tasks after execution_expires_after, from running or from queued", async () => {
    const running = (
      await api("POST", TASKS, {
        model: M.pro,
        content: [text("slow [[expire]]")],
        execution_expires_after: 3600,
      })
    ).body.id;
    const queued = (
      await api("POST", TASKS, {
        model: M.pro,
        content: [text("flex")],
        service_tier: "flex",
        execution_expires_after: 3600,
      })
    ).body.id;
    d.clock.advance(30 * MIN);
    assert.equal((await api("GET", `${TASKS}/${running}`)).body.status, "running");
    assert.equal((await api("GET", `${TASKS}/${queued}`)).body.status, "queued");
    d.clock.advance(30 * MIN);
    for (const id of [running, queued]) {
      const t = (await api("GET", `${TASKS}/${id}`)).body;
      assert.equal(t.status, "expired");
      assert.equal(t.content, undefined);
      assert.equal(t.usage, undefined);
    }
    assert.equal(
      (await api("DELETE", `${TASKS}/${running}`)).status,
      200,
      "expired is terminal: DELETE removes it",
    );
  });

  it("runs at most maxRunning tasks at once", async () => {
    d.updateSettings({ maxRunning: 1 });
    const a = (await api("POST", TASKS, { model: M.pro, content: [text("one")] })).body.id;
    const b = (await api("POST", TASKS, { model: M.pro, content: [text("two")] })).body.id;
    d.clock.advance(MIN);
    assert.equal((await api("GET", `${TASKS}/${a}`)).body.status, "running");
    assert.equal((await api("GET", `${TASKS}/${b}`)).body.status, "queued");
    d.clock.advance(MIN); // a finishes (1 min + 42.5 s), then b starts
    const ta = (await api("GET", `${TASKS}/${a}`)).body;
    assert.equal(ta.status, "succeeded");
    assert.equal((await api("GET", `${TASKS}/${b}`)).body.status, "running");
    d.updateSettings({ maxRunning: null });
  });
});

describe("Ark double: callbacks", () => {
  it("POSTs the task body on each transition, in order, with no signature", async () => {
    const d = await manual();
    const rx = await startReceiver();
    try {
      const { body } = await client(d)("POST", TASKS, {
        model: M.pro,
        content: [text("cb")],
        callback_url: rx.url,
      });
      d.clock.advance(HOUR);
      await d.callbacks.idle();
      assert.deepEqual(
        rx.received.map((r) => r.body.status),
        ["queued", "running", "succeeded"],
      );
      const last = rx.received[2]?.body;
      const got = (await client(d)("GET", `${TASKS}/${body.id}`)).body;
      assert.deepEqual(last, got, "same structure as the query response");
      for (const r of rx.received) {
        assert.equal(r.headers.authorization, undefined);
        assert.equal(
          Object.keys(r.headers).some((h) => /signature/i.test(h)),
          false,
        );
      }
      const recorded = (await (await fetch(`${d.url}/__control/callbacks?key=${body.id}`)).json()) as Json;
      assert.equal(recorded.total, 3);
      assert.deepEqual(
        recorded.items.map((a: Json) => [a.event, a.status, a.ok]),
        [
          ["queued", 200, true],
          ["running", 200, true],
          ["succeeded", 200, true],
        ],
      );
    } finally {
      await rx.close();
      await d.close();
    }
  });

  it("retries terminal callbacks 3 times when not acknowledged, but not the others", async () => {
    const d = await manual({ callbacks: { retryDelayMs: 5, ackTimeoutMs: 400 } });
    const rx = await startReceiver((b, n) =>
      b.status === "running" ? 500 : b.status === "succeeded" ? (n === 3 ? "hang" : 503) : 200,
    );
    try {
      const { body } = await client(d)("POST", TASKS, {
        model: M.pro,
        content: [text("cb")],
        callback_url: rx.url,
      });
      d.clock.advance(HOUR);
      await d.callbacks.idle();
      const attempts = d.callbacks.attempts({ key: body.id });
      assert.deepEqual(
        attempts.map((a) => [a.event, a.attempt, a.status ?? a.error]),
        [
          ["queued", 1, 200],
          ["running", 1, 500],
          ["succeeded", 1, "timeout"],
          ["succeeded", 2, 503],
          ["succeeded", 3, 503],
          ["succeeded", 4, 503],
        ],
      );
    } finally {
      await rx.close();
      await d.close();
    }
  });

  it("duplicates, reorders and drops callbacks (markers and settings)", async () => {
    const d = await manual();
    const rx = await startReceiver();
    try {
      const api = client(d);
      const dup = (
        await api("POST", TASKS, { model: M.pro, content: [text("x [[cb-dup:3]]")], callback_url: rx.url })
      ).body.id;
      const ooo = (
        await api("POST", TASKS, { model: M.pro, content: [text("x [[cb-ooo]]")], callback_url: rx.url })
      ).body.id;
      const drop = (
        await api("POST", TASKS, {
          model: M.pro,
          content: [text("x [[cb-drop:running]]")],
          callback_url: rx.url,
        })
      ).body.id;
      const failed = (
        await api("POST", TASKS, { model: M.pro, content: [text("x [[fail]]")], callback_url: rx.url })
      ).body.id;
      d.clock.advance(HOUR);
      await d.callbacks.idle();
      const statuses = (id: string) => rx.received.filter((r) => r.body.id === id).map((r) => r.body.status);
      assert.deepEqual(statuses(dup), [
        "queued",
        "running",
        "succeeded",
        "succeeded",
        "succeeded",
        "succeeded",
      ]);
      assert.deepEqual(statuses(ooo), ["queued", "succeeded", "running"]);
      assert.deepEqual(statuses(drop), ["queued", "succeeded"]);
      assert.deepEqual(
        d.callbacks.attempts({ key: drop, event: "running" }).map((a) => a.dropped),
        [true],
      );
      assert.deepEqual(statuses(failed), ["queued", "running", "failed"]);
      assert.equal(
        rx.received.find((r) => r.body.id === failed && r.body.status === "failed")?.body.error.code,
        "InternalServiceError",
      );

      d.updateSettings({ callbacks: { duplicates: 1, outOfOrder: true } });
      rx.received.length = 0;
      const viaSettings = (
        await api("POST", TASKS, { model: M.pro, content: [text("s")], callback_url: rx.url })
      ).body.id;
      d.clock.advance(HOUR);
      await d.callbacks.idle();
      assert.deepEqual(statuses(viaSettings), ["queued", "succeeded", "succeeded", "running"]);
      assert.equal(d.settings.callbacks.retries, 3, "a partial callbacks patch keeps the other fields");
    } finally {
      await rx.close();
      await d.close();
    }
  });
});

describe("Ark double: injected faults", () => {
  let d: ArkDouble;
  let api: ReturnType<typeof client>;
  before(async () => {
    d = await manual({ endpoints: { "ep-rpm": M.pro } });
    api = client(d);
  });
  after(() => d.close());
  const create = (extra: Json = {}, prompt = "fault test") =>
    api("POST", TASKS, { model: M.pro, content: [text(prompt)], ...extra });
  const faults = (rule: unknown) =>
    fetch(`${d.url}/__control/faults`, { method: "POST", body: JSON.stringify(rule) }).then((r) => r.status);

  it("answers the 429 family, SetLimitExceeded, 500s and 403 from fault rules", async () => {
    const codes = [
      "RateLimitExceeded.EndpointRPMExceeded",
      "ModelAccountRpmRateLimitExceeded",
      "RequestBurstTooFast",
      "ServerOverloaded",
      "QuotaExceeded",
      "SetLimitExceeded",
    ];
    for (const code of codes)
      assert.equal(
        await faults({ match: { method: "POST", path: `/api/v3${TASKS}` }, action: { error: code } }),
        201,
      );
    for (const code of codes) {
      const r = await create();
      assertArkError(r, 429, code);
      assert.equal(r.body.error.type, "TooManyRequests");
    }
    await faults({ match: { model: M.pro }, action: { error: "InternalServiceError" } });
    await faults({
      match: { model: M.pro },
      action: { error: "InternalServiceError", headers: { "x-should-retry": "false" } },
    });
    await faults({ match: { method: "POST" }, action: { error: "AccountOverdueError" } });
    let r = await create();
    assertArkError(r, 500, "InternalServiceError");
    assert.equal(r.headers.get("x-should-retry"), null);
    r = await create();
    assertArkError(r, 500, "InternalServiceError");
    assert.equal(r.headers.get("x-should-retry"), "false");
    r = await create();
    assertArkError(r, 403, "AccountOverdueError");
    assert.equal(r.body.error.type, "Forbidden");
    assert.equal((await create()).status, 200, "all faults used up");
    const journaled = d.journal.list({ method: "POST" }).filter((e) => e.fault !== undefined);
    assert.equal(journaled.length, 9);
    assert.ok(journaled.every((e) => e.status === 429 || e.status === 500 || e.status === 403));
  });

  it("answers a non-JSON 502, hangs, and drops connections", async () => {
    await faults({
      match: { method: "GET", path: `^/api/v3${TASKS}/` },
      action: { status: 502, nonJson: true },
    });
    const r = await api("GET", `${TASKS}/cgt-any`);
    assert.equal(r.status, 502);
    assert.equal(typeof r.body, "string");
    assert.match(r.body, /<html>/);
    await faults({ match: { path: `/api/v3${TASKS}` }, action: { hang: true } });
    await assert.rejects(
      fetch(`${d.baseUrl}${TASKS}`, {
        method: "POST",
        headers: { authorization: `Bearer ${CN_KEY}` },
        body: "{}",
        signal: AbortSignal.timeout(150),
      }),
      /abort|timeout/i,
    );
    await faults({ match: { path: `/api/v3${TASKS}` }, action: { dropConnection: true } });
    await assert.rejects(create());
  });

  it("applies account settings: overdue, queue cap (QuotaExceeded), spend cap, RPM and burst", async () => {
    await fetch(`${d.url}/__control/faults`, { method: "DELETE" });
    d.updateSettings({ accountOverdue: true });
    assertArkError(await create(), 403, "AccountOverdueError");
    d.updateSettings({ accountOverdue: false });

    d.clock.advance(DAY); // everything earlier has finished
    const res = await fetch(`${d.url}/__control/settings`, {
      method: "POST",
      body: JSON.stringify({ queueCap: 2 }),
    });
    assert.equal(res.status, 200);
    const q1 = (await create()).body.id;
    assert.equal((await create()).status, 200);
    const over = await create();
    assertArkError(over, 429, "QuotaExceeded");
    assert.match(over.body.error.message, /queued/);
    await api("DELETE", `${TASKS}/${q1}`);
    assert.equal((await create()).status, 200, "room again after a cancel");
    d.updateSettings({ queueCap: DEFAULT_ARK_SETTINGS.queueCap });
    assert.equal(DEFAULT_ARK_SETTINGS.queueCap, 120);
    d.clock.advance(DAY);

    const spent = d.tasks.list().reduce((n, t) => n + (t.tokens ?? 0), 0);
    d.updateSettings({ spendLimitTokens: spent });
    assertArkError(await create(), 429, "SetLimitExceeded");
    d.updateSettings({ spendLimitTokens: null });

    d.updateSettings({ rpm: 2 });
    d.clock.advance(MIN);
    assert.equal((await create()).status, 200);
    assert.equal((await create()).status, 200);
    assertArkError(await create(), 429, "ModelAccountRpmRateLimitExceeded");
    assert.equal((await create({ model: M.proFast })).status, 200, "RPM is per model");
    assert.equal((await create({ model: "ep-rpm" })).status, 200);
    assert.equal((await create({ model: "ep-rpm" })).status, 200);
    assertArkError(await create({ model: "ep-rpm" }), 429, "RateLimitExceeded.EndpointRPMExceeded");
    d.clock.advance(MIN);
    assert.equal((await create()).status, 200, "the window slides");
    d.updateSettings({ rpm: null, burst: { max: 2, windowMs: SEC } });
    d.clock.advance(MIN);
    assert.equal((await create()).status, 200);
    assert.equal((await create()).status, 200);
    assertArkError(await create(), 429, "RequestBurstTooFast");
    d.clock.advance(SEC);
    assert.equal((await create()).status, 200);
    d.updateSettings({ burst: null });
  });

  it("moderates synchronously and asynchronously via prompt markers", async () => {
    assertArkError(await create({}, "bad words [[moderate]]"), 400, "InputTextSensitiveContentDetected");
    assertArkError(
      await create({}, "face [[moderate:image]]"),
      400,
      "InputImageSensitiveContentDetected.PrivacyInformation",
    );
    const id = (await create({}, "looks fine [[moderate:output]]")).body.id;
    d.clock.advance(HOUR);
    const t = (await api("GET", `${TASKS}/${id}`)).body;
    assert.equal(t.status, "failed");
    assert.equal(t.error.code, "OutputVideoSensitiveContentDetected");
    assert.equal(typeof t.error.message, "string");
    assert.equal(t.content, undefined);
    assert.equal(t.usage, undefined);
    const f = (await create({}, "x [[fail:OutputAudioSensitiveContentDetected]]")).body.id;
    d.clock.advance(HOUR);
    assert.equal((await api("GET", `${TASKS}/${f}`)).body.error.code, "OutputAudioSensitiveContentDetected");
  });

  it("keeps a [[stuck]] task running forever and shows an unknown status for N polls", async () => {
    const stuck = (await create({ execution_expires_after: 3600 }, "x [[stuck]]")).body.id;
    d.clock.advance(5 * DAY);
    assert.equal((await api("GET", `${TASKS}/${stuck}`)).body.status, "running");
    assertArkError(await api("DELETE", `${TASKS}/${stuck}`), 400, "InvalidParameter");

    const paused = (await create({}, "x [[status:paused:2]]")).body.id;
    d.clock.advance(HOUR);
    const polls = [];
    for (let i = 0; i < 3; i++) polls.push((await api("GET", `${TASKS}/${paused}`)).body.status);
    assert.deepEqual(polls, ["paused", "paused", "succeeded"]);
  });

  it("forces task states through the control API", async () => {
    const id = (await create()).body.id;
    const force = (patch: unknown) =>
      fetch(`${d.url}/__control/tasks/${id}`, { method: "POST", body: JSON.stringify(patch) }).then(
        async (r) => ({
          status: r.status,
          body: (await r.json()) as Json,
        }),
      );
    assert.equal((await force({ status: "running" })).body.status, "running");
    assert.equal((await force({ fakeStatus: { status: "paused", polls: 1 } })).status, 200);
    assert.equal((await api("GET", `${TASKS}/${id}`)).body.status, "paused");
    const failed = await force({
      status: "failed",
      error: { code: "InternalServiceError", message: "boom" },
    });
    assert.equal(failed.body.status, "failed");
    const t = (await api("GET", `${TASKS}/${id}`)).body;
    assert.deepEqual(t.error, { code: "InternalServiceError", message: "boom" });
    assert.equal((await force({ status: "running" })).status, 400);
    assert.equal(
      (await fetch(`${d.url}/__control/tasks/cgt-none`, { method: "POST", body: "{}" })).status,
      404,
    );
    const ok = (await create({ return_last_frame: true })).body.id;
    d.tasks.force(ok, { status: "succeeded" });
    const done = d.tasks.view(ok) as Json;
    assert.equal(done.status, "succeeded");
    assert.equal((await fetch(done.content.video_url)).status, 200);
    d.tasks.force(ok, { expireUrlsInMs: 0 });
    assert.equal((await fetch(done.content.video_url)).status, 403);
    const internal = (await (await fetch(`${d.url}/__control/tasks/${ok}`)).json()) as Json;
    assert.equal(internal.params.family, "1.0-pro");
  });

  it("serves slow and truncated video bodies", async () => {
    const id = (await create()).body.id;
    d.clock.advance(HOUR);
    const url = (d.tasks.view(id) as Json).content.video_url as string;
    await faults({ match: { path: "^/tos/" }, action: { truncate: 4096 } });
    const cut = await rawGet(url);
    assert.equal(cut.status, 200);
    assert.equal(cut.bytes, 4096);
    assert.ok(Number(cut.length) > 4096);
    assert.ok(cut.error);
    const size = d.files.sample.mp4.length;
    await faults({
      match: { path: "^/tos/" },
      action: { throttle: { chunkBytes: Math.ceil(size / 4), intervalMs: 50 } },
    });
    const t0 = performance.now();
    const slow = await rawGet(url);
    assert.equal(slow.bytes, size);
    assert.ok(performance.now() - t0 >= 140);
    assert.equal((await rawGet(url)).bytes, size, "faults used up");
  });
});

describe("Ark double: journal", () => {
  it("records what the adapter sent, minus secrets, queryable over HTTP", async () => {
    const d = await manual();
    try {
      const api = client(d);
      const body = { model: M.pro, content: [text("journal")], seed: 5 };
      const { body: created } = await api("POST", TASKS, body, { "x-client-request-id": "client-1" });
      await api("GET", `${TASKS}/${created.id}`);
      await api("GET", `${TASKS}?filter.task_ids=a&filter.task_ids=b`);
      const res = (await (await fetch(`${d.url}/__control/requests?method=POST`)).json()) as Json;
      assert.equal(res.total, 1);
      const e = res.items[0];
      assert.deepEqual(e.body, body);
      assert.equal(e.path, `/api/v3${TASKS}`);
      assert.equal(e.headers.authorization, `Bearer [redacted …${CN_KEY.slice(-4)}]`);
      assert.equal(JSON.stringify(e).includes(CN_KEY), false, "the key never appears in the journal");
      assert.equal(e.headers["x-client-request-id"], "client-1");
      assert.equal(e.status, 200);
      const list = d.journal.last({ method: "GET", path: `/api/v3${TASKS}` });
      assert.deepEqual(list?.query, { "filter.task_ids": ["a", "b"] });
      const byRegex = (await (
        await fetch(`${d.url}/__control/requests?path=${encodeURIComponent("/tasks/cgt-[^/]+$")}`)
      ).json()) as Json;
      assert.equal(byRegex.total, 1, "a regex source filters paths");
      assert.equal(
        ((await (await fetch(`${d.url}/__control/requests`, { method: "DELETE" })).json()) as Json).cleared,
        3,
      );
      assert.equal(d.journal.size, 0);
    } finally {
      await d.close();
    }
  });
});
