import assert from "node:assert/strict";
import { open, readFile } from "node:fs/promises";
import { after, before, describe, test } from "node:test";
import { describeUnsupported } from "../../src/media/describe-unsupported.ts";
import { SNIFF_BYTES, sniffMedia } from "../../src/media/sniff.ts";
import { type Fixtures, makeFixtures, sample, tempDir } from "./fixtures.ts";

async function head(path: string, n = SNIFF_BYTES): Promise<Buffer> {
  const handle = await open(path, "r");
  try {
    const buf = Buffer.alloc(n);
    const { bytesRead } = await handle.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

describe("sniffMedia", () => {
  let fx: Fixtures;
  let cleanup: () => Promise<void>;
  before(async () => {
    const t = await tempDir();
    cleanup = t.cleanup;
    fx = await makeFixtures(t.dir);
  });
  after(() => cleanup());

  const images: Array<[string, string, string]> = [
    ["photo-saw-2725x2225.jpg", "image/jpeg", "jpg"],
    ["exif-orientation-6.jpg", "image/jpeg", "jpg"],
    ["cmyk-500x333.jpg", "image/jpeg", "jpg"],
    ["alpha-2048x1536.png", "image/png", "png"],
    ["photo-1024x772.webp", "image/webp", "webp"],
    ["animated-80x80.gif", "image/gif", "gif"],
    ["wide-4096x800.avif", "image/avif", "avif"],
    // Refused later for their size or corruption, but their magic numbers are right.
    ["bad/pixel-bomb-65536x65536.png", "image/png", "png"],
    ["bad/giant-20000x14000.jpg", "image/jpeg", "jpg"],
  ];
  for (const [name, mime, ext] of images) {
    test(`sample ${name} → ${mime}`, async () => {
      assert.deepEqual(sniffMedia(await head(sample(name))), { kind: "image", mime, ext });
    });
  }

  const generated: Array<[keyof Fixtures, string, string, string]> = [
    ["bmp", "image", "image/bmp", "bmp"],
    ["tiff", "image", "image/tiff", "tiff"],
    ["heic", "image", "image/heic", "heic"],
    ["mp4", "video", "video/mp4", "mp4"],
    ["mov", "video", "video/quicktime", "mov"],
    ["webm", "video", "video/webm", "webm"],
    ["m4a", "audio", "audio/mp4", "m4a"],
    ["mp3", "audio", "audio/mpeg", "mp3"],
    ["mp3NoId3", "audio", "audio/mpeg", "mp3"],
    ["wav", "audio", "audio/wav", "wav"],
    ["aac", "audio", "audio/aac", "aac"],
    ["ogg", "audio", "audio/ogg", "ogg"],
    ["opus", "audio", "audio/ogg", "opus"],
    // Sniffing sees an MP4 container; inspection finds it is audio-only (see intake tests).
    ["audioOnlyMp4", "video", "video/mp4", "mp4"],
  ];
  for (const [key, kind, mime, ext] of generated) {
    test(`generated ${key} → ${mime}`, async () => {
      assert.deepEqual(sniffMedia(await head(fx[key] as string)), { kind, mime, ext });
    });
  }

  test("a short head (just the magic bytes region) is enough for images", async () => {
    assert.equal(sniffMedia(await head(sample("landscape-600x450.jpg"), 8))?.mime, "image/jpeg");
    assert.equal(sniffMedia(await head(sample("alpha-2048x1536.png"), 8))?.mime, "image/png");
  });

  test("Matroska that is not WebM is refused and described", async () => {
    const h = await head(fx.mkv);
    assert.equal(sniffMedia(h), null);
    assert.match(describeUnsupported(h), /Matroska/);
  });

  test("FLAC is refused and described", async () => {
    const h = await head(fx.flac);
    assert.equal(sniffMedia(h), null);
    assert.equal(describeUnsupported(h), "a FLAC audio file");
  });

  test("text is not media, whatever its name", async () => {
    const text = await readFile(sample("README.md"));
    assert.equal(sniffMedia(text.subarray(0, SNIFF_BYTES)), null);
    assert.equal(describeUnsupported(text), "plain text");
  });

  test("documents and archives are refused and named", () => {
    const pdf = Buffer.from("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "latin1");
    assert.equal(sniffMedia(pdf), null);
    assert.equal(describeUnsupported(pdf), "a PDF document");
    const zip = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x00, 0x00, 0x08, 0x00]);
    assert.equal(sniffMedia(zip), null);
    assert.match(describeUnsupported(zip), /ZIP/);
    const svg = Buffer.from('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>');
    assert.equal(sniffMedia(svg), null);
    assert.equal(describeUnsupported(svg), "an SVG drawing");
    assert.equal(describeUnsupported(Buffer.alloc(0)), "an empty file");
  });

  test("look-alike prefixes are not enough", () => {
    // "BM" followed by text is not a bitmap header.
    assert.equal(sniffMedia(Buffer.from("BMW is a car maker, not an image format")), null);
    // A lone MPEG sync word followed by garbage is not an MP3 stream.
    const fakeMp3 = Buffer.alloc(2048, 0x41);
    fakeMp3[0] = 0xff;
    fakeMp3[1] = 0xfb;
    fakeMp3[2] = 0x90;
    assert.equal(sniffMedia(fakeMp3), null);
    // RIFF that is neither WEBP nor WAVE (an AVI).
    const avi = Buffer.concat([Buffer.from("RIFF"), Buffer.alloc(4), Buffer.from("AVI LIST")]);
    assert.equal(sniffMedia(avi), null);
    assert.equal(describeUnsupported(avi), "an AVI video");
    // Too short to say anything.
    assert.equal(sniffMedia(Buffer.from([0xff, 0xd8])), null);
    assert.equal(sniffMedia(Buffer.alloc(0)), null);
  });

  test("ISO-BMFF brands decide between image, video and audio", () => {
    const ftyp = (major: string, ...compatible: string[]) => {
      const size = 16 + 4 * compatible.length;
      const b = Buffer.alloc(size + 8);
      b.writeUInt32BE(size, 0);
      b.write(`ftyp${major}`, 4, "latin1");
      compatible.forEach((c, i) => {
        b.write(c, 16 + 4 * i, "latin1");
      });
      return b;
    };
    assert.equal(sniffMedia(ftyp("mif1", "mif1", "heic"))?.mime, "image/heic");
    assert.equal(sniffMedia(ftyp("mif1", "mif1", "avif"))?.mime, "image/avif");
    assert.equal(sniffMedia(ftyp("mif1", "mif1", "miaf"))?.mime, "image/heif");
    assert.equal(sniffMedia(ftyp("msf1", "msf1", "hevc"))?.mime, "image/heic");
    assert.equal(sniffMedia(ftyp("heix", "mif1"))?.mime, "image/heic");
    assert.equal(sniffMedia(ftyp("avis", "msf1"))?.mime, "image/avif");
    assert.equal(sniffMedia(ftyp("mp42", "isom"))?.mime, "video/mp4");
    assert.equal(sniffMedia(ftyp("M4V ", "M4V ", "mp42"))?.mime, "video/mp4");
    assert.equal(sniffMedia(ftyp("qt  ", "qt  "))?.mime, "video/quicktime");
    assert.equal(sniffMedia(ftyp("M4A ", "isom"))?.mime, "audio/mp4");
    assert.equal(sniffMedia(ftyp("XAVC", "XAVC", "mp42", "iso2"))?.mime, "video/mp4");
    assert.equal(sniffMedia(ftyp("3gp4", "3gp4")), null);
    assert.equal(describeUnsupported(ftyp("3gp4", "3gp4")), "a 3GP video");
  });
});
