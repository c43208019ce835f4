import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { ffmpegPath, parseRate, probe, run } from "../../src/media/ffmpeg.ts";
import { readMp4Info } from "../../src/media/mp4-info.ts";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "mp4-info-"));
});
after(() => rm(dir, { recursive: true, force: true }));

const cases: Array<{ name: string; args: string[] }> = [
  {
    name: "faststart 24 fps with audio",
    args: [
      "-f",
      "lavfi",
      "-i",
      "testsrc2=s=320x180:r=24:d=2",
      "-f",
      "lavfi",
      "-i",
      "sine=d=2",
      "-c:v",
      "libx264",
      "-c:a",
      "aac",
      "-shortest",
      "-movflags",
      "+faststart",
    ],
  },
  {
    name: "moov at the end, 30 fps, no audio, portrait",
    args: ["-f", "lavfi", "-i", "testsrc2=s=180x320:r=30:d=1.5", "-c:v", "libx264"],
  },
  {
    name: "25 fps 1080p",
    args: ["-f", "lavfi", "-i", "testsrc2=s=1920x1080:r=25:d=1", "-c:v", "libx264", "-preset", "ultrafast"],
  },
];

for (const c of cases) {
  test(`agrees with ffprobe: ${c.name}`, async () => {
    const path = join(dir, `${c.name.replace(/\W+/g, "-")}.mp4`);
    await run(ffmpegPath, ["-v", "error", ...c.args, "-pix_fmt", "yuv420p", "-y", path]);
    const mine = await readMp4Info(path);
    const theirs = await probe(path);
    const video = theirs.streams.find((s) => s.codec_type === "video")!;
    assert.equal(mine.width, video.width);
    assert.equal(mine.height, video.height);
    assert.ok(
      Math.abs(mine.duration - Number(theirs.format.duration)) < 0.05,
      `${mine.duration} vs ${theirs.format.duration}`,
    );
    assert.ok(
      Math.abs(mine.fps - parseRate(video.avg_frame_rate)) < 0.1,
      `${mine.fps} vs ${video.avg_frame_rate}`,
    );
    assert.equal(
      mine.hasAudio,
      theirs.streams.some((s) => s.codec_type === "audio"),
    );
  });
}

test("refuses what is not an MP4", async () => {
  const path = join(dir, "not.mp4");
  await run(ffmpegPath, [
    "-v",
    "error",
    "-f",
    "lavfi",
    "-i",
    "testsrc2=s=64x64:d=0.2",
    "-frames:v",
    "1",
    "-y",
    join(dir, "x.png"),
  ]);
  await assert.rejects(readMp4Info(join(dir, "x.png")));
  await rm(path, { force: true });
});
