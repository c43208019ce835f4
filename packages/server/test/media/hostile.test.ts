/**
 * Hostile media against a real gateway: files that try to make ffmpeg/ffprobe reach out (an HLS
 * playlist dressed as an MP4, `concat:`/`file:` references) or allocate without bound (absurd
 * dimensions in a header). Each is refused with a 4xx (or, when fetched later for a render, fails
 * the task with `invalid_media`); no request reaches the canary server the playlists point at,
 * and the canary FIFO they list is never opened.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { closeSync, constants, openSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { decodeVideoFrames } from "../../src/engine/video-source.ts";
import { ffmpegPath, run } from "../../src/media/ffmpeg.ts";
import { startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";
import { sample, tempDir } from "./fixtures.ts";

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are inspected loosely.
type Json = any;

/** Whether some process has the FIFO open for reading (a non-blocking writer can open it only then). */
function fifoHasReader(path: string): boolean {
  try {
    closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENXIO") return false;
    throw error;
  }
}

interface Origin {
  url: string;
  /** Paths requested, in order. */
  requested: string[];
  close(): Promise<void>;
}

/** A loopback HTTP server that records every path asked for. */
async function startOrigin(answer: (path: string, res: ServerResponse) => void): Promise<Origin> {
  const requested: string[] = [];
  const server = createServer((req, res) => {
    requested.push(req.url ?? "");
    answer(req.url ?? "", res);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requested,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** ftyp box (sniffs as MP4) followed by anything. */
function mp4Head(rest: string): Buffer {
  const ftyp = Buffer.alloc(24);
  ftyp.writeUInt32BE(24, 0);
  ftyp.write("ftypisom", 4, "latin1");
  ftyp.writeUInt32BE(0x200, 12);
  ftyp.write("isomavc1", 16, "latin1");
  return Buffer.concat([ftyp, Buffer.from(rest)]);
}

/** A tiny MJPEG .mov whose sample description, track header and JPEG frame headers claim w×h. */
function mjpegClaiming(dir: string, w: number, h: number): string {
  const small = join(dir, "small.mov");
  execFileSync(ffmpegPath, [
    ...["-v", "error", "-nostdin", "-f", "lavfi", "-i", "color=c=red:s=64x48", "-frames:v", "2"],
    ...["-c:v", "mjpeg", "-y", small],
  ]);
  const d = execFileSync("cat", [small]);
  for (
    let i = d.indexOf(Buffer.from([0xff, 0xc0]));
    i >= 0;
    i = d.indexOf(Buffer.from([0xff, 0xc0]), i + 2)
  ) {
    d.writeUInt16BE(h, i + 5);
    d.writeUInt16BE(w, i + 7);
  }
  const entry = d.indexOf("stsd") + 12; // size, "stsd", version/flags, entry count
  d.writeUInt16BE(w, entry + 32);
  d.writeUInt16BE(h, entry + 34);
  const tkhd = d.indexOf("tkhd") + 4 + 4 + 20 + 8 + 8 + 36;
  d.writeUInt32BE(w * 65536, tkhd);
  d.writeUInt32BE(h * 65536, tkhd + 4);
  const out = join(dir, `claims-${w}x${h}.mov`);
  execFileSync("tee", [out], { input: d, stdio: ["pipe", "ignore", "inherit"] });
  return out;
}

describe("hostile media never makes the media tools reach out", () => {
  let t: TestServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let canary: Origin;
  let origin: Origin;
  let fifo: string;
  let fifoOpened = false;
  let watch: NodeJS.Timeout;
  const served = new Map<string, { type: string; body: Buffer }>();

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    fifo = join(dir, "secret.ts");
    execFileSync("mkfifo", [fifo]);
    watch = setInterval(() => {
      if (!fifoOpened && fifoHasReader(fifo)) fifoOpened = true;
    }, 2);
    // Where the playlists point: nothing may ever arrive here.
    canary = await startOrigin((_path, res) => res.end("segment"));
    // Where a task's media URL points: serves the hostile files by path.
    origin = await startOrigin((path, res) => {
      const file = served.get(path);
      if (!file) {
        res.statusCode = 404;
        return res.end();
      }
      res.setHeader("content-type", file.type);
      res.end(file.body);
    });
    t = await startTestServer({ allowPrivateTargets: "127.0.0.1" });
  });
  after(async () => {
    clearInterval(watch);
    await t.stop();
    await canary.close();
    await origin.close();
    await cleanup();
  });

  const playlist = () =>
    "#EXTM3U\n#EXT-X-TARGETDURATION:1\n" +
    `#EXTINF:1,\n${canary.url}/seg0.ts\n` +
    `#EXTINF:1,\nfile:${fifo}\n` +
    `#EXTINF:1,\n${fifo}\n` +
    `#EXTINF:1,\nconcat:file:${fifo}|${canary.url}/seg1.ts\n` +
    "#EXT-X-ENDLIST\n";

  const nothingReachedOut = (what: string) => {
    assert.equal(canary.requested.length, 0, `${what}: a request reached the canary server`);
    assert.equal(fifoOpened, false, `${what}: the canary FIFO was opened`);
  };

  const upload = async (name: string, bytes: Buffer) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    const res = await uploadFile(t, path, { filename: name, contentType: "video/mp4" });
    return { status: res.status, error: ((await res.json()) as Json).error };
  };

  test("an HLS playlist named .mp4 → 415, read as nothing but bytes", async () => {
    const { status, error } = await upload("clip.mp4", Buffer.from(playlist()));
    assert.equal(status, 415);
    assert.equal(error.code, "unsupported_media_type");
    assert.equal(error.param, "file");
    nothingReachedOut("HLS named .mp4");
  });

  test("an HLS playlist behind a real MP4 ftyp box → 400 invalid_file (MP4 demuxer only)", async () => {
    const { status, error } = await upload("tricky.mp4", mp4Head(`\n${playlist()}`));
    assert.equal(status, 400);
    assert.equal(error.code, "invalid_file");
    nothingReachedOut("HLS behind ftyp");
  });

  test("absurd dimensions in a video header → 413 before any frame is decoded", async () => {
    const path = mjpegClaiming(dir, 16000, 16000);
    const res = await uploadFile(t, path, { filename: "huge.mov" });
    assert.equal(res.status, 413, await res.clone().text());
    const error = ((await res.json()) as Json).error;
    assert.equal(error.code, "video_resolution_too_large");
    assert.match(error.message, /16000/);
  });

  test("absurd dimensions in an image header → 413 naming the pixel count", async () => {
    const res = await uploadFile(t, sample("bad/pixel-bomb-65536x65536.png"));
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as Json).error.code, "image_too_large");
  });

  test("file: and concat: media URLs → 400 naming the entry", async () => {
    for (const url of [
      `file://${fifo}`,
      `concat:file:${fifo}|${canary.url}/x.ts`,
      `subfile,,start,0,end,9,,:${fifo}`,
    ]) {
      const res = await t.api("/v1/video/generations", {
        method: "POST",
        json: {
          model: "doubao-seedance-2-0-480p",
          prompt: "@video1 again",
          seconds: "4",
          metadata: { content: [{ type: "video_url", video_url: { url }, role: "reference_video" }] },
        },
      });
      assert.equal(res.status, 400, url);
      const error = ((await res.json()) as Json).error;
      assert.equal(error.param, "metadata.content[0].video_url.url", url);
    }
    nothingReachedOut("file:/concat: URLs");
  });

  test("a media URL serving a playlist as video/mp4: the task fails as invalid_media, nothing else is fetched", async () => {
    served.set("/plain.mp4", { type: "video/mp4", body: Buffer.from(playlist()) });
    served.set("/boxed.mp4", { type: "video/mp4", body: mp4Head(`\n${playlist()}`) });
    for (const path of ["/plain.mp4", "/boxed.mp4"]) {
      const res = await t.api("/v1/video/generations", {
        method: "POST",
        json: {
          model: "doubao-seedance-2-0-480p",
          prompt: "@video1 again",
          seconds: "4",
          metadata: {
            content: [
              { type: "video_url", video_url: { url: `${origin.url}${path}` }, role: "reference_video" },
            ],
          },
        },
      });
      assert.equal(res.status, 200, await res.clone().text());
      const task = await waitForTask(t, ((await res.json()) as Json).task_id, { timeoutMs: 30_000 });
      assert.equal(task.status, "failed", path);
      assert.equal((task.error as Json).code, "invalid_media", path);
    }
    assert.deepEqual(origin.requested, ["/plain.mp4", "/boxed.mp4"], "only the URLs given were fetched");
    nothingReachedOut("playlist served as video/mp4");
  });

  test("the engine's decoder on a playlist that skipped intake: refused, while a bare ffmpeg would follow it", async () => {
    const path = join(dir, "skipped-intake.mp4");
    await writeFile(path, mp4Head(`\n${playlist()}`));
    const frames = decodeVideoFrames(path, { demuxer: "mov", width: 64, height: 48, fps: 10, frameCount: 5 });
    await assert.rejects(frames.next(), /could not decode|no decodable frames/);
    frames.close();
    nothingReachedOut("engine decoder");

    // The threat is real: ffmpeg left to guess (no forced demuxer, no protocol whitelist) reads
    // a plain playlist and opens the local file it lists (here the FIFO, where it then blocks).
    const bare = join(dir, "bare.m3u8");
    await writeFile(bare, `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\n${fifo}\n#EXT-X-ENDLIST\n`);
    await run(ffmpegPath, ["-v", "error", "-nostdin", "-i", bare, "-f", "null", "-"], {
      timeoutMs: 1500,
    }).catch(() => {});
    assert.equal(fifoOpened, true, "an unguarded ffmpeg opened the file the playlist lists");
    fifoOpened = false;
  });
});
