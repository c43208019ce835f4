import assert from "node:assert/strict";
import { stat } from "node:fs/promises";
import { test } from "node:test";
import sharp from "sharp";
import { renderClip } from "../../src/engine/render.ts";
import { parseRate } from "../../src/media/ffmpeg.ts";
import { makeRequest, media, probeStreams, sample, withWorkDir } from "./helpers.ts";

test("16:9 720p 5 s with audio: exact size, h264 yuv420p, aac, 24 fps, 5 s", async () => {
  await withWorkDir(async (dir) => {
    const progress: number[] = [];
    const result = await renderClip({
      request: makeRequest({
        mode: "first_frame",
        prompt: "An old saw on a workbench",
        seconds: 5,
        ratio: "16:9",
        resolution: "720p",
        generateAudio: true,
        returnLastFrame: true,
      }),
      media: [media(sample("photo-saw-2725x2225.jpg"), "image", "first_frame", 1)],
      workDir: dir,
      onProgress: (percent) => progress.push(percent),
    });
    const { info, video, audio } = await probeStreams(result.videoPath);
    assert.equal(video?.codec_name, "h264");
    assert.equal(video?.pix_fmt, "yuv420p");
    assert.equal(video?.width, 1280);
    assert.equal(video?.height, 720);
    assert.equal(parseRate(video?.avg_frame_rate), 24);
    assert.equal(audio?.codec_name, "aac");
    assert.ok(Math.abs(Number(info.format.duration) - 5) <= 0.1, `duration ${info.format.duration}`);
    assert.ok(Math.abs(result.duration - 5) <= 0.05, `reported duration ${result.duration}`);
    assert.equal(result.hasAudio, true);
    assert.equal(result.width, 1280);
    assert.equal(result.bytes, (await stat(result.videoPath)).size);
    assert.ok(result.videoPath.startsWith(dir) && result.posterPath.startsWith(dir));
    assert.equal((await sharp(result.posterPath).metadata()).format, "jpeg");
    const last = await sharp(result.lastFramePath!).metadata();
    assert.deepEqual([last.format, last.width, last.height], ["png", 1280, 720]);
    assert.equal(progress[0], 0);
    assert.equal(progress.at(-1), 100);
    assert.ok(
      progress.every((value, i) => i === 0 || value > progress[i - 1]!),
      "progress is monotonic",
    );
  });
});
