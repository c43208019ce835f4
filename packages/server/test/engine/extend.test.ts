import assert from "node:assert/strict";
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { ApiError } from "../../src/domain/errors.ts";
import { continuationDirection, joinGraph, renderExtension } from "../../src/engine/extend.ts";
import { renderTask } from "../../src/engine/render-task.ts";
import { poseAt } from "../../src/engine/shot-plan.ts";
import type { SourceVideo } from "../../src/engine/video-file.ts";
import { parseRate } from "../../src/media/ffmpeg.ts";
import { decodeFrames, makeRequest, meanAbsDiff, media, probeStreams } from "./helpers.ts";
import { decodeAudio, renderedSource, rms, SOURCE_SIZE, testPattern } from "./source-video.ts";

const { width: W, height: H } = SOURCE_SIZE;
let root: string;
/** 2 s, 48 frames at 24 fps, 864x496, with sound. */
let source: string;
let outputs = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vidrelay-extend-test-"));
  await mkdir(join(root, "source"));
  source = await renderedSource(join(root, "source"), { seconds: 2, audio: true });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function outDir(): Promise<string> {
  const dir = join(root, `out-${outputs++}`);
  await mkdir(dir);
  return dir;
}

const fakeSource: SourceVideo = {
  path: "/nowhere.mp4",
  demuxer: "mov",
  width: 864,
  height: 496,
  rate: "24/1",
  fps: 24,
  duration: 2,
  frames: 48,
  hasAudio: true,
  colour: {},
};

/** The centre of a packed RGB frame at `zoom`, scaled back to the frame's size. */
function zoomed(rgb: Buffer, zoom: number): Promise<Buffer> {
  const width = Math.round(W / zoom);
  const height = Math.round(H / zoom);
  return sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
    .extract({ left: Math.round((W - width) / 2), top: Math.round((H - height) / 2), width, height })
    .resize(W, H, { fit: "fill" })
    .raw()
    .toBuffer();
}

test("the continuation's move: a push-in at the prompt's speed, or a static hold", () => {
  assert.deepEqual(continuationDirection({ prompt: "" }), { move: "push_in", speed: 0.8, fromPrompt: false });
  assert.deepEqual(continuationDirection({ prompt: "a slow push in" }), {
    move: "push_in",
    speed: 0.6,
    fromPrompt: true,
  });
  // Moves that would not start on the whole picture are read as a push-in.
  for (const prompt of ["pan left", "pull back", "orbit around"])
    assert.equal(continuationDirection({ prompt }).move, "push_in", prompt);
  assert.equal(continuationDirection({ prompt: "locked-off camera" }).move, "static");
  assert.equal(continuationDirection({ prompt: "push in", cameraFixed: true }).move, "static");
});

test("the join graph: source then continuation; source audio to the seam, then silence to the end", () => {
  const { graph, seconds } = joinGraph(fakeSource, 24);
  assert.equal(seconds, 3);
  assert.match(graph, /trim=end_frame=48.*\[head\];\[1:v\].*\[tail\];\[head\]\[tail\]concat=n=2:v=1:a=0/);
  assert.match(
    graph,
    /atrim=end_sample=96000.*afade=t=out:st=1\.950000:d=0\.050,apad,atrim=end_sample=144000\[aout\]$/,
  );
  assert.equal(joinGraph({ ...fakeSource, hasAudio: false }, 24).graph.includes("[aout]"), false);
});

test("extend by 1 s: the source unchanged, then a push-in from its last frame; sound then silence", async () => {
  const dir = await outDir();
  const progress: number[] = [];
  const result = await renderExtension({
    sourcePath: source,
    seconds: 1,
    outDir: dir,
    returnLastFrame: true,
    onProgress: (percent) => progress.push(percent),
  });
  const { info, video, audio } = await probeStreams(result.videoPath);
  assert.deepEqual(
    [video?.codec_name, video?.pix_fmt, video?.width, video?.height],
    ["h264", "yuv420p", W, H],
  );
  assert.equal(parseRate(video?.avg_frame_rate), 24);
  assert.equal(video?.nb_frames, "72");
  assert.ok(Math.abs(Number(info.format.duration) - 3) <= 1 / 24, `duration ${info.format.duration}`);
  assert.ok(audio, "audio stream present");
  assert.ok(Math.abs(Number(audio.duration) - Number(video?.duration)) <= 0.03, `audio ${audio.duration}`);
  assert.deepEqual([result.width, result.height, result.fps, result.hasAudio], [W, H, 24, true]);
  assert.ok(Math.abs(result.duration - 3) <= 1 / 24);
  assert.deepEqual(
    (await readdir(dir)).sort(),
    ["clip.mp4", "last-frame.png", "poster.jpg"],
    "scratch files removed",
  );

  const out = await decodeFrames(result.videoPath, [0, 24, 47, 48, 71], W, H);
  const src = await decodeFrames(source, [0, 24, 47], W, H);
  for (const [k, index] of [0, 24, 47].entries()) {
    const diff = meanAbsDiff(out[k]!.data, src[k]!.data);
    assert.ok(diff < 2.5, `frame ${index} is the source's (${diff})`);
  }
  const lastSource = src[2]!.data;
  const seam = meanAbsDiff(out[3]!.data, lastSource);
  assert.ok(seam < 8, `the first new frame continues from the last (${seam})`);
  // The end is the last frame pushed in to the move's final zoom, not the frame itself.
  const { zoom } = poseAt(continuationDirection({ prompt: "" }), 1, 1, W / H);
  assert.ok(zoom > 1.05, `zoom ${zoom}`);
  const end = out[4]!.data;
  const toZoomed = meanAbsDiff(end, await zoomed(lastSource, zoom));
  const toUnzoomed = meanAbsDiff(end, lastSource);
  assert.ok(
    toZoomed < 8 && toZoomed * 2 < toUnzoomed,
    `end vs zoomed ${toZoomed}, vs unzoomed ${toUnzoomed}`,
  );

  const sound = await decodeAudio(result.videoPath, 8000);
  assert.ok(Math.abs(sound.length / 8000 - 3) < 0.03, `audio ${sound.length / 8000} s`);
  assert.ok(rms(sound.subarray(4000, 12000)) > 0.005, "the source's sound is carried");
  assert.ok(rms(sound.subarray(16400, 24000)) < 1e-4, "silence over the extension");

  const lastPng = await sharp(result.lastFramePath!).removeAlpha().raw().toBuffer();
  assert.ok(meanAbsDiff(lastPng, end) < 2, "last-frame.png is the final frame");
  const poster = await sharp(result.posterPath).removeAlpha().raw().toBuffer();
  assert.ok(meanAbsDiff(poster, out[0]!.data) < 4, "poster is the first frame");
  assert.equal(progress[0], 0);
  assert.equal(progress.at(-1), 100);
  assert.ok(
    progress.every((value, i) => i === 0 || value > progress[i - 1]!),
    "progress is monotonic",
  );
});

test("renderTask extend of a silent 30 fps 320x240 source, static: its size and rate, no audio, held frame", async () => {
  const dir = await outDir();
  const silent = await testPattern(dir, "pattern.mp4", { width: 320, height: 240, fps: 30, seconds: 1 });
  const work = await outDir();
  const result = await renderTask({
    request: makeRequest({
      operation: "extend",
      seconds: 2,
      prompt: "hold it, static camera",
      mode: "reference",
    }),
    media: [media(silent, "video", "source_video", 1)],
    workDir: work,
  });
  const { info, video, audio } = await probeStreams(result.videoPath);
  assert.equal(audio, undefined);
  assert.equal(result.hasAudio, false);
  assert.deepEqual(
    [video?.width, video?.height, parseRate(video?.avg_frame_rate), video?.nb_frames],
    [320, 240, 30, "90"],
  );
  assert.ok(Math.abs(Number(info.format.duration) - 3) <= 1 / 30);
  const [first, lastSource, held, end] = await decodeFrames(result.videoPath, [0, 29, 30, 89], 320, 240);
  const [original] = await decodeFrames(silent, [0], 320, 240);
  assert.ok(meanAbsDiff(first!.data, original!.data) < 3, "starts with the source");
  assert.ok(
    meanAbsDiff(held!.data, lastSource!.data) < 4 && meanAbsDiff(end!.data, lastSource!.data) < 4,
    "held",
  );
  // testsrc2 moves: the source's first and last frames differ, so "held" means something.
  assert.ok(meanAbsDiff(first!.data, lastSource!.data) > 5);
});

test("refusals: seconds out of range; an aborted render rejects", async () => {
  for (const seconds of [0, -1, 61, Number.NaN])
    await assert.rejects(
      renderExtension({ sourcePath: source, seconds, outDir: root }),
      (error: unknown) =>
        error instanceof ApiError && error.code === "out_of_range" && error.param === "seconds",
      String(seconds),
    );
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  await assert.rejects(
    renderExtension({ sourcePath: source, seconds: 1, outDir: await outDir(), signal: controller.signal }),
    /stop/,
  );
});
