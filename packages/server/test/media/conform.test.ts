import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import sharp from "sharp";
import { conformedSize, conformImage, hasRatio } from "../../src/media/conform.ts";
import { ffmpegPath, run } from "../../src/media/ffmpeg.ts";

const HH = { minSide: 300, maxSide: null, maxAspect: 2.5, maxBytes: 10 * 1024 * 1024 };
const PIXELS = 36_000_000;

describe("conformedSize", () => {
  test("crop keeps the picture's short dimension; pad its long one", () => {
    assert.deepEqual(conformedSize(600, 450, "16:9", "crop", HH), { width: 600, height: 338 });
    assert.deepEqual(conformedSize(600, 450, "16:9", "pad", HH), { width: 800, height: 450 });
    assert.deepEqual(conformedSize(1920, 1080, "1:1", "crop", HH), { width: 1080, height: 1080 });
    assert.deepEqual(conformedSize(1920, 1080, "1:1", "pad", HH), { width: 1920, height: 1920 });
  });
  test("scaled up to the provider's minimum side, down to the maximum", () => {
    assert.deepEqual(conformedSize(600, 450, "9:16", "crop", HH), { width: 300, height: 533 });
    assert.deepEqual(conformedSize(8000, 4500, "1:1", "pad", HH), { width: 4096, height: 4096 });
    const small = { ...HH, maxSide: 1000 };
    assert.deepEqual(conformedSize(3000, 2000, "16:9", "crop", small), { width: 1000, height: 563 });
  });
  test("hasRatio tolerates 1 %", () => {
    assert.equal(hasRatio(1920, 1088, "16:9"), true);
    assert.equal(hasRatio(600, 450, "16:9"), false);
  });
});

describe("conformImage", () => {
  let dir: string | undefined;
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  const photo = () =>
    sharp({ create: { width: 600, height: 450, channels: 3, background: "#4080c0" } })
      .jpeg()
      .toBuffer();

  test("pad letterboxes with black bars; crop has none; a picture at the ratio is left alone", async () => {
    const padded = await conformImage(await photo(), {
      ratio: "4:3",
      fit: "pad",
      bounds: HH,
      maxInputPixels: PIXELS,
    });
    assert.equal(padded, null);
    const tall = await conformImage(await photo(), {
      ratio: "1:1",
      fit: "pad",
      bounds: HH,
      maxInputPixels: PIXELS,
    });
    assert.deepEqual([tall!.width, tall!.height, tall!.mime], [600, 600, "image/jpeg"]);
    const { data } = await sharp(tall!.bytes).raw().toBuffer({ resolveWithObject: true });
    assert.ok(data[0]! + data[1]! + data[2]! < 10, "top-left is a black bar");
    const mid = (300 * 600 + 300) * 3;
    assert.ok(data[mid + 2]! > 150, "the blue photo in the middle");
  });

  test("EXIF orientation is applied before measuring", async () => {
    // Stored 600x450 with orientation 6: shown 450x600 (3:4).
    const rotated = await sharp(await photo())
      .withMetadata({ orientation: 6 })
      .jpeg()
      .toBuffer();
    assert.equal(
      await conformImage(rotated, { ratio: "3:4", fit: "crop", bounds: HH, maxInputPixels: PIXELS }),
      null,
    );
    const wide = await conformImage(rotated, {
      ratio: "16:9",
      fit: "crop",
      bounds: HH,
      maxInputPixels: PIXELS,
    });
    assert.deepEqual([wide!.width, wide!.height], [533, 300], "450x253 centre, scaled to 300 px high");
  });

  test("too many bytes: re-encoded smaller; too many pixels: refused before decoding", async () => {
    const noise = await sharp(Buffer.from(Array.from({ length: 900 * 600 * 3 }, () => Math.random() * 256)), {
      raw: { width: 900, height: 600, channels: 3 },
    })
      .png()
      .toBuffer();
    const small = await conformImage(noise, {
      ratio: "1:1",
      fit: "crop",
      bounds: { ...HH, maxBytes: 150_000 },
      maxInputPixels: PIXELS,
    });
    assert.ok(small!.bytes.length <= 150_000, `${small!.bytes.length} bytes`);
    assert.ok(Math.min(small!.width, small!.height) >= 300);
    await assert.rejects(
      conformImage(noise, { ratio: "1:1", fit: "crop", bounds: HH, maxInputPixels: 100_000 }),
      /pixels|pixel limit/,
    );
  });

  test("BMP (no libvips loader) is decoded by ffmpeg", async () => {
    dir = await mkdtemp(join(tmpdir(), "conform-test-"));
    const bmp = join(dir, "in.bmp");
    await run(ffmpegPath, [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "color=c=red:s=400x300",
      "-frames:v",
      "1",
      bmp,
    ]);
    const out = await conformImage(await readFile(bmp), {
      ratio: "16:9",
      fit: "pad",
      bounds: HH,
      maxInputPixels: PIXELS,
    });
    assert.deepEqual([out!.width, out!.height], [533, 300]);
  });
});
