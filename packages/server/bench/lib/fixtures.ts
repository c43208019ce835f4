import { rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { ffmpegPath, run } from "../../src/media/ffmpeg.ts";
import { DEFAULT_MEDIA_LIMITS } from "../../src/media/limits.ts";

const MiB = 2 ** 20;

/**
 * Upload fixtures, made once and kept in the OS temp dir between runs (both are real media that the
 * gateway's intake accepts: sniffed, decoded or probed, within the limits).
 */
async function cached(name: string, ok: (bytes: number) => boolean, make: (path: string) => Promise<void>) {
  const path = join(tmpdir(), name);
  const size = await stat(path).then(
    (s) => s.size,
    () => -1,
  );
  if (size > 0 && ok(size)) return path;
  const partial = `${path}.${process.pid}.partial`;
  try {
    await make(partial);
    const made = (await stat(partial)).size;
    if (!ok(made)) throw new Error(`${name}: generated ${made} bytes, outside the intended range`);
    await rename(partial, path);
  } finally {
    await rm(partial, { force: true });
  }
  return path;
}

/** A ≈1 MB baseline JPEG, 1600×1200 (gaussian noise over a flat colour, so it compresses like a photo). */
export function jpegFixture(): Promise<string> {
  return cached(
    "vidrelay-bench-fixture-1mb.jpg",
    (n) => n > 0.8 * MiB && n < 1.4 * MiB,
    async (path) => {
      await sharp({
        create: {
          width: 1600,
          height: 1200,
          channels: 3,
          background: { r: 90, g: 140, b: 200 },
          noise: { type: "gaussian", mean: 128, sigma: 27 },
        },
      })
        .jpeg({ quality: 90 })
        .toFile(path);
    },
  );
}

/**
 * An H.264 MP4 just under the 200 MiB video limit: ~5 s of 1280×720 testsrc2 with noise, lossless x264
 * (so the bitrate is huge), cut by ffmpeg's `-fs` and finished with a normal moov (faststart).
 */
export function mp4Fixture(): Promise<string> {
  const limit = DEFAULT_MEDIA_LIMITS.maxVideoBytes;
  return cached(
    "vidrelay-bench-fixture-200mb.mp4",
    (n) => n >= 190 * MiB && n <= limit - MiB,
    async (path) => {
      await run(ffmpegPath, [
        "-hide_banner",
        "-v",
        "error",
        "-nostdin",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=1280x720:rate=30,noise=alls=60:allf=t+u",
        "-t",
        "30",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-qp",
        "0",
        "-pix_fmt",
        "yuv420p",
        "-fs",
        String(198 * 10 ** 6),
        "-movflags",
        "+faststart",
        "-f",
        "mp4",
        path,
      ]);
    },
  );
}
