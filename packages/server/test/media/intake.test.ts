import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream, existsSync } from "node:fs";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { ApiError } from "../../src/domain/errors.ts";
import { inspectFile } from "../../src/media/inspect.ts";
import { intakeStream } from "../../src/media/intake.ts";
import { mediaLimits } from "../../src/media/limits.ts";
import { type Fixtures, makeFixtures, sample, tempDir } from "./fixtures.ts";

const LIMITS = mediaLimits();

/** Assert `promise` rejects with an ApiError of this status/code naming `param`; returns it. */
async function refused(
  promise: Promise<unknown>,
  status: number,
  code: string,
  param = "file",
): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code, err.message);
    assert.equal(err.param, param);
    assert.ok(err.message.startsWith(param), `message names the param: ${err.message}`);
    return err;
  }
  assert.fail(`expected a ${status} ${code} refusal, but it was accepted`);
}

/** A stream that yields `first`, then `filler`-filled chunks forever; `pulled` counts bytes handed out. */
function endless(first: Buffer, filler = 0x00, chunk = 16 * 1024): Readable & { pulled: number } {
  let sentFirst = false;
  // One chunk of read-ahead on every Node (the default highWaterMark is 16 KiB on 20, 64 KiB from 22).
  const stream = new Readable({
    highWaterMark: chunk,
    read() {
      const next = sentFirst ? Buffer.alloc(chunk, filler) : first;
      sentFirst = true;
      stream.pulled += next.length;
      this.push(next);
    },
  }) as Readable & { pulled: number };
  stream.pulled = 0;
  return stream;
}

describe("intakeStream", () => {
  let fx: Fixtures;
  let dir: string;
  let cleanup: () => Promise<void>;
  let n = 0;
  const dest = () => join(dir, `upload-${n++}`);
  before(async () => {
    const t = await tempDir();
    dir = t.dir;
    cleanup = t.cleanup;
    fx = await makeFixtures(join(dir));
  });
  after(() => cleanup());

  const good: Array<[string, string, number, number]> = [
    ["photo-saw-2725x2225.jpg", "image/jpeg", 2725, 2225],
    ["landscape-600x450.jpg", "image/jpeg", 600, 450],
    ["exif-orientation-6.jpg", "image/jpeg", 450, 600], // stored 600x450, displayed portrait
    ["photo-1024x772.webp", "image/webp", 1024, 772],
    ["alpha-2048x1536.png", "image/png", 2048, 1536],
    ["cmyk-500x333.jpg", "image/jpeg", 500, 333],
    ["grey-400x267.jpg", "image/jpeg", 400, 267],
    ["wide-4096x800.avif", "image/avif", 4096, 800],
    ["animated-80x80.gif", "image/gif", 80, 80],
  ];
  for (const [name, mime, width, height] of good) {
    test(`accepts ${name}: ${mime} ${width}x${height}, stored intact`, async () => {
      const path = dest();
      const original = await readFile(sample(name));
      const result = await intakeStream(createReadStream(sample(name)), path, LIMITS, "file");
      assert.deepEqual(
        {
          kind: result.info.kind,
          mime: result.info.mime,
          width: result.info.width,
          height: result.info.height,
        },
        { kind: "image", mime, width, height },
      );
      assert.equal(result.bytes, original.length);
      assert.equal(result.sha256, createHash("sha256").update(original).digest("hex"));
      assert.deepEqual(await readFile(path), original);
    });
  }

  test("corrupt-header.jpg → 400 invalid_file, nothing kept", async () => {
    const path = dest();
    const err = await refused(
      intakeStream(createReadStream(sample("bad/corrupt-header.jpg")), path, LIMITS, "file"),
      400,
      "invalid_file",
    );
    assert.match(err.message, /JPEG/);
    assert.equal(existsSync(path), false);
  });

  for (const [name, pixels] of [
    ["bad/pixel-bomb-65536x65536.png", "4,294,967,296"],
    ["bad/giant-20000x14000.jpg", "280,000,000"],
  ]) {
    test(`${name} → 413 image_too_large naming the pixel count, nothing kept`, async () => {
      const path = dest();
      const started = Date.now();
      const err = await refused(
        intakeStream(createReadStream(sample(name!)), path, LIMITS, "file"),
        413,
        "image_too_large",
      );
      assert.ok(err.message.includes(pixels!), err.message);
      assert.ok(err.message.includes("36,000,000"), err.message);
      assert.equal(existsSync(path), false);
      // Refused from the header: decoding 4.3 gigapixels would take far longer (and gigabytes).
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
    });
  }

  test("a text file named .jpg → 415 unsupported_media_type saying it is text", async () => {
    const renamed = join(dir, "holiday.jpg");
    await copyFile(sample("README.md"), renamed);
    const path = dest();
    const err = await refused(
      intakeStream(createReadStream(renamed), path, LIMITS, "file"),
      415,
      "unsupported_media_type",
    );
    assert.match(err.message, /plain text/);
    assert.match(err.message, /JPEG, PNG/);
    assert.equal(existsSync(path), false);
  });

  test("an endless non-media stream is cut off at the sniffing head with 415", async () => {
    const source = endless(Buffer.from("%PDF-1.7\n"), 0x20);
    const path = dest();
    const err = await refused(intakeStream(source, path, LIMITS, "file"), 415, "unsupported_media_type");
    assert.match(err.message, /PDF/);
    assert.ok(source.pulled < 256 * 1024, `read ${source.pulled} bytes before refusing`);
    assert.equal(existsSync(path), false);
  });

  test("an oversize stream → 413 file_too_large as soon as the limit passes, partial file removed", async () => {
    const small = mediaLimits({ maxImageBytes: 100 * 1024 });
    const jpegStart = (await readFile(sample("landscape-600x450.jpg"))).subarray(0, 4096);
    const source = endless(jpegStart);
    const path = dest();
    const err = await refused(intakeStream(source, path, small, "file"), 413, "file_too_large");
    assert.match(err.message, /100 KB/);
    assert.ok(source.pulled < 400 * 1024, `read ${source.pulled} bytes before refusing`);
    assert.equal(existsSync(path), false);
  });

  test("a real sample over a small configured limit → 413, file removed", async () => {
    const path = dest();
    await refused(
      intakeStream(
        createReadStream(sample("photo-saw-2725x2225.jpg")),
        path,
        mediaLimits({ maxImageBytes: 500_000 }),
        "file",
      ),
      413,
      "file_too_large",
    );
    assert.equal(existsSync(path), false);
  });

  test("a declared size over every limit is refused before reading anything", async () => {
    const source = endless(Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    const path = dest();
    await refused(intakeStream(source, path, LIMITS, "file", 500 * 1024 * 1024), 413, "file_too_large");
    assert.equal(source.pulled, 0);
    assert.equal(existsSync(path), false);
  });

  test("a declared size over the sniffed kind's limit is refused right after sniffing", async () => {
    const source = endless((await readFile(sample("landscape-600x450.jpg"))).subarray(0, 8192));
    const path = dest();
    await refused(intakeStream(source, path, LIMITS, "file", 100 * 1024 * 1024), 413, "file_too_large");
    assert.ok(source.pulled <= 8192 + 16 * 1024, `read ${source.pulled}`);
    assert.equal(existsSync(path), false);
  });

  test("an empty stream → 400 empty_file", async () => {
    const path = dest();
    await refused(intakeStream(Readable.from([]), path, LIMITS, "file"), 400, "empty_file");
    assert.equal(existsSync(path), false);
  });

  test("the param names where referenced media came from", async () => {
    const param = "metadata.content[2].image_url.url";
    const err = await refused(
      intakeStream(createReadStream(sample("bad/corrupt-header.jpg")), dest(), LIMITS, param),
      400,
      "invalid_file",
      param,
    );
    assert.equal(err.toJSON().error.param, param);
  });

  test("kinds: a video where only images are accepted → 415 naming both", async () => {
    const path = dest();
    const err = await refused(
      intakeStream(createReadStream(fx.mp4), path, LIMITS, "image", undefined, ["image"]),
      415,
      "unsupported_media_type",
      "image",
    );
    assert.match(err.message, /MP4 video, but only images are accepted/);
    assert.equal(existsSync(path), false);
  });

  test("an existing destination is neither overwritten nor deleted", async () => {
    const path = dest();
    await writeFile(path, "keep me");
    await assert.rejects(
      intakeStream(createReadStream(sample("landscape-600x450.jpg")), path, LIMITS, "file"),
      (err: NodeJS.ErrnoException) => err.code === "EEXIST",
    );
    assert.equal(await readFile(path, "utf8"), "keep me");
  });

  test("truncated files → 400 invalid_file", async () => {
    for (const [src, bytes] of [
      [sample("landscape-600x450.jpg"), 80_000],
      [sample("alpha-2048x1536.png"), 100_000],
      [fx.bmp, 100_000],
      [fx.mp4, 20_000],
    ] as const) {
      const cut = (await readFile(src)).subarray(0, bytes);
      const path = dest();
      await refused(intakeStream(Readable.from([cut]), path, LIMITS, "file"), 400, "invalid_file");
      assert.equal(existsSync(path), false, src);
    }
  });

  // --- generated images ---------------------------------------------------------------------

  test("BMP (decoded by ffmpeg), TIFF and HEIC-branded files report their size", async () => {
    const bmp = await intakeStream(createReadStream(fx.bmp), dest(), LIMITS, "file");
    assert.deepEqual(bmp.info, { kind: "image", mime: "image/bmp", ext: "bmp", width: 320, height: 240 });
    const tiff = await intakeStream(createReadStream(fx.tiff), dest(), LIMITS, "file");
    assert.deepEqual(tiff.info, { kind: "image", mime: "image/tiff", ext: "tiff", width: 300, height: 200 });
    const heic = await intakeStream(createReadStream(fx.heic), dest(), LIMITS, "file");
    assert.deepEqual(heic.info, { kind: "image", mime: "image/heic", ext: "heic", width: 64, height: 48 });
  });

  test("BMP dimensions are checked against the pixel limit before decoding", async () => {
    await refused(
      intakeStream(createReadStream(fx.bmp), dest(), mediaLimits({ maxImagePixels: 320 * 239 }), "file"),
      413,
      "image_too_large",
    );
  });

  // --- video and audio -------------------------------------------------------------------------

  const av: Array<[keyof Fixtures, Record<string, unknown>]> = [
    ["mp4", { kind: "video", mime: "video/mp4", width: 320, height: 240, hasAudio: true, hasVideo: true }],
    [
      "mov",
      { kind: "video", mime: "video/quicktime", width: 320, height: 240, hasAudio: true, hasVideo: true },
    ],
    ["webm", { kind: "video", mime: "video/webm", width: 320, height: 240, hasAudio: true, hasVideo: true }],
    // Rotation metadata (90°) turns the 320x240 frames into a portrait display.
    [
      "rotatedMp4",
      { kind: "video", mime: "video/mp4", width: 240, height: 320, hasAudio: true, hasVideo: true },
    ],
    ["mp3", { kind: "audio", mime: "audio/mpeg", hasAudio: true, hasVideo: false }],
    ["mp3NoId3", { kind: "audio", mime: "audio/mpeg", hasAudio: true, hasVideo: false }],
    ["wav", { kind: "audio", mime: "audio/wav", hasAudio: true, hasVideo: false }],
    ["m4a", { kind: "audio", mime: "audio/mp4", hasAudio: true, hasVideo: false }],
    ["aac", { kind: "audio", mime: "audio/aac", hasAudio: true, hasVideo: false }],
    ["ogg", { kind: "audio", mime: "audio/ogg", hasAudio: true, hasVideo: false }],
    ["opus", { kind: "audio", mime: "audio/ogg", hasAudio: true, hasVideo: false }],
    // An MP4 container with only sound is an M4A file.
    ["audioOnlyMp4", { kind: "audio", mime: "audio/mp4", hasAudio: true, hasVideo: false }],
  ];
  for (const [key, expected] of av) {
    test(`${key}: ${JSON.stringify(expected)}, about 1 s`, async () => {
      const { info } = await intakeStream(createReadStream(fx[key] as string), dest(), LIMITS, "file");
      for (const [field, value] of Object.entries(expected)) {
        assert.equal(info[field as keyof typeof info], value, `${field} of ${key}`);
      }
      assert.ok(
        info.duration !== undefined && Math.abs(info.duration - 1) < 0.2,
        `duration ${info.duration}`,
      );
    });
  }

  test("a WebM without a video stream → 400 no_video_stream", async () => {
    const path = dest();
    const err = await refused(
      intakeStream(createReadStream(fx.audioOnlyWebm), path, LIMITS, "file"),
      400,
      "no_video_stream",
    );
    assert.match(err.message, /MP3, WAV, M4A/);
    assert.equal(existsSync(path), false);
  });

  test("an M4A-branded file without an audio stream → 400 no_audio_stream", async () => {
    const path = dest();
    await refused(
      intakeStream(createReadStream(fx.videoOnlyM4a), path, LIMITS, "file"),
      400,
      "no_audio_stream",
    );
    assert.equal(existsSync(path), false);
  });

  test("a 3 s video over a 2 s limit → 413 duration_too_long", async () => {
    const path = dest();
    const err = await refused(
      intakeStream(createReadStream(fx.longMp4), path, mediaLimits({ maxVideoSeconds: 2 }), "file"),
      413,
      "duration_too_long",
    );
    assert.match(err.message, /3\.0 s/);
    assert.equal(existsSync(path), false);
  });

  test("a video frame over maxVideoPixels → 413 video_resolution_too_large", async () => {
    await refused(
      intakeStream(createReadStream(fx.mp4), dest(), mediaLimits({ maxVideoPixels: 320 * 200 }), "file"),
      413,
      "video_resolution_too_large",
    );
  });

  test("a video over the video byte limit → 413 file_too_large", async () => {
    await refused(
      intakeStream(createReadStream(fx.mp4), dest(), mediaLimits({ maxVideoBytes: 10_000 }), "file"),
      413,
      "file_too_large",
    );
  });

  test("an audio-only MP4 is held to the audio limit once recognised", async () => {
    const size = (await readFile(fx.audioOnlyMp4)).length;
    const limits = mediaLimits({ maxAudioBytes: size - 1 });
    await refused(
      intakeStream(createReadStream(fx.audioOnlyMp4), dest(), limits, "file"),
      413,
      "file_too_large",
    );
  });

  test("probing that outlasts inspectTimeoutMs → 400 media_inspection_timeout", async () => {
    const path = dest();
    await refused(
      intakeStream(createReadStream(fx.mp4), path, mediaLimits({ inspectTimeoutMs: 1 }), "file"),
      400,
      "media_inspection_timeout",
    );
    assert.equal(existsSync(path), false);
  });

  test("an HLS playlist disguised as MP3 is never read as a playlist (no other file is opened)", async () => {
    // A large ID3 tag pushes the "audio" past the sniffed head, so the sniffer takes it for MP3.
    // Left to guess, ffprobe skips the tag, detects HLS (the .m3u8 name helps) and opens the listed
    // segment: here a FIFO named like a media segment, which would block until the inspection
    // timeout (media_inspection_timeout instead of a quick invalid_file).
    const fifo = join(dir, "segment.ts");
    execFileSync("mkfifo", [fifo]);
    const tag = 8192;
    const id3 = Buffer.from([
      0x49,
      0x44,
      0x33,
      4,
      0,
      0,
      (tag >> 21) & 0x7f,
      (tag >> 14) & 0x7f,
      (tag >> 7) & 0x7f,
      tag & 0x7f,
    ]);
    const playlist = `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1,\nfile:${fifo}\n#EXT-X-ENDLIST\n`;
    const bytes = Buffer.concat([id3, Buffer.alloc(tag), Buffer.from(playlist)]);
    const path = join(dir, "upload.m3u8");
    const started = Date.now();
    await refused(
      intakeStream(Readable.from([bytes]), path, mediaLimits({ inspectTimeoutMs: 4000 }), "file"),
      400,
      "invalid_file",
    );
    assert.ok(Date.now() - started < 3000, `took ${Date.now() - started} ms`);
    assert.equal(existsSync(path), false);
  });

  test("inspectFile sniffs a file on disk", async () => {
    assert.equal((await inspectFile(fx.webm, LIMITS, "file")).mime, "video/webm");
    await refused(inspectFile(fx.mkv, LIMITS, "file"), 415, "unsupported_media_type");
  });
});
