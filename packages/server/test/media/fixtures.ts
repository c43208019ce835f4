import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { ffmpegPath, run } from "../../src/media/ffmpeg.ts";

/** /work/shared/samples, found relative to this file (the repo's sibling `shared` folder). */
export const SAMPLES = fileURLToPath(new URL("../../../../../shared/samples/", import.meta.url));
export const sample = (name: string) => join(SAMPLES, name);

export async function tempDir(
  prefix = "vidrelay-media-test-",
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export interface Fixtures {
  dir: string;
  mp4: string;
  mov: string;
  webm: string;
  rotatedMp4: string;
  longMp4: string;
  audioOnlyMp4: string;
  audioOnlyWebm: string;
  /** Video-only MP4 whose ftyp major brand was patched to "M4A " (claims to be audio). */
  videoOnlyM4a: string;
  mkv: string;
  mp3: string;
  mp3NoId3: string;
  wav: string;
  m4a: string;
  aac: string;
  ogg: string;
  opus: string;
  flac: string;
  bmp: string;
  tiff: string;
  /** A real AVIF file whose ftyp brands were patched to HEIC ones (libheif still decodes it). */
  heic: string;
}

const V = ["-f", "lavfi", "-i", "testsrc2=d=1:s=320x240:r=10"];
const A = ["-f", "lavfi", "-i", "sine=f=440:d=1"];
const H264 = ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast"];

/** Real media files made with the bundled ffmpeg (lavfi test sources) and sharp. */
export async function makeFixtures(dir: string): Promise<Fixtures> {
  const p = (name: string) => join(dir, name);
  const ff = (...args: string[]) => run(ffmpegPath, ["-v", "error", "-nostdin", "-y", ...args]);
  const f: Fixtures = {
    dir,
    mp4: p("clip.mp4"),
    mov: p("clip.mov"),
    webm: p("clip.webm"),
    rotatedMp4: p("rotated.mp4"),
    longMp4: p("long.mp4"),
    audioOnlyMp4: p("audio-only.mp4"),
    audioOnlyWebm: p("audio-only.webm"),
    videoOnlyM4a: p("video-only.m4a"),
    mkv: p("clip.mkv"),
    mp3: p("tone.mp3"),
    mp3NoId3: p("tone-noid3.mp3"),
    wav: p("tone.wav"),
    m4a: p("tone.m4a"),
    aac: p("tone.aac"),
    ogg: p("tone.ogg"),
    opus: p("tone.opus"),
    flac: p("tone.flac"),
    bmp: p("frame.bmp"),
    tiff: p("frame.tiff"),
    heic: p("photo.heic"),
  };
  const videoOnly = p("video-only.mp4");
  await Promise.all([
    ff(...V, ...A, ...H264, "-c:a", "aac", "-shortest", f.mp4),
    ff(...V, ...A, ...H264, "-c:a", "aac", "-shortest", "-f", "mov", f.mov),
    ff(...V, ...A, "-c:v", "libvpx", "-c:a", "libvorbis", "-shortest", f.webm),
    ff("-f", "lavfi", "-i", "testsrc2=d=3:s=160x120:r=10", ...H264, f.longMp4),
    ff(...V, ...H264, videoOnly),
    ff(...A, "-c:a", "aac", f.audioOnlyMp4),
    ff(...A, "-c:a", "libopus", f.audioOnlyWebm),
    ff(...V, ...H264, "-f", "matroska", f.mkv),
    ff(...A, "-c:a", "libmp3lame", f.mp3),
    ff(...A, "-c:a", "libmp3lame", "-write_xing", "0", "-id3v2_version", "0", f.mp3NoId3),
    ff(...A, "-c:a", "pcm_s16le", f.wav),
    ff(...A, "-c:a", "aac", "-f", "ipod", f.m4a),
    ff(...A, "-c:a", "aac", "-f", "adts", f.aac),
    ff(...A, "-c:a", "libvorbis", f.ogg),
    ff(...A, "-c:a", "libopus", f.opus),
    ff(...A, "-c:a", "flac", f.flac),
    ff(...V, "-frames:v", "1", f.bmp),
    sharp({ create: { width: 300, height: 200, channels: 3, background: "#3080c0" } })
      .tiff()
      .toFile(f.tiff),
    (async () => {
      const avif = await sharp({ create: { width: 64, height: 48, channels: 3, background: "#c03030" } })
        .avif()
        .toBuffer();
      const patched = Buffer.from(avif);
      const ftypSize = patched.readUInt32BE(0);
      for (let i = 8; i + 4 <= ftypSize; i += 4) {
        if (patched.toString("latin1", i, i + 4) === "avif") patched.write("heic", i, "latin1");
      }
      await writeFile(f.heic, patched);
    })(),
  ]);
  // Rotation metadata survives only a stream copy with this ffmpeg build.
  await ff("-i", f.mp4, "-c", "copy", "-metadata:s:v:0", "rotate=90", f.rotatedMp4);
  const bytes = await readFile(videoOnly);
  bytes.write("M4A ", 8, "latin1");
  await writeFile(f.videoOnlyM4a, bytes);
  return f;
}
