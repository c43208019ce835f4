import { mkdir, readFile, rename, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ffmpegPath, run } from "../../../src/media/ffmpeg.ts";

/** The real media every double serves: a 2 s 320x180 H.264 + AAC MP4 and its last frame as PNG. */
export interface SampleMedia {
  mp4: Buffer;
  png: Buffer;
  mp4Path: string;
  pngPath: string;
}

/** Bump when the recipe changes so stale caches are not reused. */
const RECIPE = "v2";
export const MEDIA_DIR = join(tmpdir(), `vidrelay-doubles-media-${RECIPE}`);

let cached: Promise<SampleMedia> | undefined;

/** Generate (once per machine, cached in os.tmpdir()) and load the sample media. */
export function sampleMedia(): Promise<SampleMedia> {
  cached ??= build().catch((err) => {
    cached = undefined;
    throw err;
  });
  return cached;
}

async function build(): Promise<SampleMedia> {
  await mkdir(MEDIA_DIR, { recursive: true });
  const mp4Path = join(MEDIA_DIR, "sample-320x180-2s.mp4");
  const pngPath = join(MEDIA_DIR, "sample-320x180-last-frame.png");
  const ff = (...args: string[]) => run(ffmpegPath, ["-v", "error", "-nostdin", "-y", ...args]);
  if (!(await exists(mp4Path))) {
    const tmp = `${mp4Path}.${process.pid}.${Date.now()}.tmp.mp4`;
    await ff(
      ...["-f", "lavfi", "-i", "testsrc2=d=2:s=320x180:r=24"],
      ...["-f", "lavfi", "-i", "sine=f=440:d=2:sample_rate=44100"],
      ...["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "30", "-g", "24"],
      ...["-c:a", "aac", "-ac", "1", "-b:a", "64k", "-shortest", "-movflags", "+faststart", tmp],
    );
    await rename(tmp, mp4Path);
  }
  if (!(await exists(pngPath))) {
    const tmp = `${pngPath}.${process.pid}.${Date.now()}.tmp.png`;
    await ff("-sseof", "-0.2", "-i", mp4Path, "-update", "1", "-frames:v", "1", tmp).catch(async (err) => {
      await rm(tmp, { force: true });
      throw err;
    });
    await rename(tmp, pngPath);
  }
  const [mp4, png] = await Promise.all([readFile(mp4Path), readFile(pngPath)]);
  return { mp4, png, mp4Path, pngPath };
}

/**
 * Sample clips in each HappyHorse ratio (same recipe as the 16:9 sample), for doubles whose output
 * follows the input image: DashScope's i2v answers in the first frame's shape.
 */
export const RATIO_SAMPLE_SIZES: Record<string, readonly [number, number]> = {
  "16:9": [320, 180],
  "9:16": [180, 320],
  "1:1": [240, 240],
  "4:3": [240, 180],
  "3:4": [180, 240],
};

let ratioCache: Promise<Record<string, Buffer>> | undefined;

/** Generate (once per machine, cached in os.tmpdir()) and load one 2 s clip per ratio. */
export function ratioSamples(): Promise<Record<string, Buffer>> {
  ratioCache ??= buildRatioSamples().catch((err) => {
    ratioCache = undefined;
    throw err;
  });
  return ratioCache;
}

async function buildRatioSamples(): Promise<Record<string, Buffer>> {
  const base = await sampleMedia();
  const out: Record<string, Buffer> = {};
  for (const [ratio, [w, h]] of Object.entries(RATIO_SAMPLE_SIZES)) {
    if (w === 320 && h === 180) {
      out[ratio] = base.mp4;
      continue;
    }
    const path = join(MEDIA_DIR, `sample-${w}x${h}-2s.mp4`);
    if (!(await exists(path))) {
      const tmp = `${path}.${process.pid}.${Date.now()}.tmp.mp4`;
      await run(ffmpegPath, [
        ...["-v", "error", "-nostdin", "-y"],
        ...["-f", "lavfi", "-i", `testsrc2=d=2:s=${w}x${h}:r=24`],
        ...["-f", "lavfi", "-i", "sine=f=440:d=2:sample_rate=44100"],
        ...["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "veryfast", "-crf", "30", "-g", "24"],
        ...["-c:a", "aac", "-ac", "1", "-b:a", "64k", "-shortest", "-movflags", "+faststart", tmp],
      ]);
      await rename(tmp, path);
    }
    out[ratio] = await readFile(path);
  }
  return out;
}

async function exists(path: string): Promise<boolean> {
  try {
    return (await stat(path)).size > 0;
  } catch {
    return false;
  }
}
