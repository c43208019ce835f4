import assert from "node:assert/strict";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { ApiError } from "../../src/domain/errors.ts";
import { cropToRatio, editGraph, renderEdit } from "../../src/engine/edit.ts";
import { planEdit } from "../../src/engine/edit-plan.ts";
import { renderTask } from "../../src/engine/render-task.ts";
import type { RenderResult } from "../../src/engine/types.ts";
import type { SourceVideo } from "../../src/engine/video-file.ts";
import { ffmpegPath, parseRate, run, ToolError } from "../../src/media/ffmpeg.ts";
import {
  decodeFrames,
  luminanceStdDev,
  makeRequest,
  meanAbsDiff,
  meanColour,
  media,
  probeStreams,
  type RgbFrame,
} from "./helpers.ts";
import {
  chromaSpread,
  decodeAudio,
  flipped,
  mean,
  renderedSource,
  rms,
  SOURCE_SIZE,
  sharpness,
  testPattern,
  yuvFrame,
} from "./source-video.ts";

const { width: W, height: H } = SOURCE_SIZE;
let root: string;
/** 2 s, 48 frames at 24 fps, 864x496, with sound; a pan, so every frame differs. */
let source: string;
let sourceFrames: Map<number, RgbFrame>;
let outputs = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vidrelay-edit-test-"));
  await mkdir(join(root, "source"));
  source = await renderedSource(join(root, "source"), { seconds: 2, audio: true });
  const indices = [0, 10, 17, 24, 30, 47];
  const frames = await decodeFrames(source, indices, W, H);
  sourceFrames = new Map(indices.map((index, k) => [index, frames[k]!]));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function outDir(): Promise<string> {
  const dir = join(root, `out-${outputs++}`);
  await mkdir(dir);
  return dir;
}

async function edit(
  prompt: string,
  options: { from?: string; returnLastFrame?: boolean } = {},
): Promise<RenderResult> {
  return renderEdit({
    sourcePath: options.from ?? source,
    plan: planEdit(prompt),
    outDir: await outDir(),
    returnLastFrame: options.returnLastFrame,
  });
}

async function frame(path: string, index: number, width: number = W, height: number = H): Promise<Buffer> {
  const [decoded] = await decodeFrames(path, [index], width, height);
  assert.ok(decoded, `frame ${index} of ${path}`);
  return decoded.data;
}

const sourceFrame = (index: number) => sourceFrames.get(index)!.data;

async function facts(path: string) {
  const { info, video, audio } = await probeStreams(path);
  return {
    width: video?.width,
    height: video?.height,
    frames: Number(video?.nb_frames),
    fps: parseRate(video?.avg_frame_rate),
    duration: Number(info.format.duration),
    videoSeconds: Number(video?.duration),
    audioSeconds: audio ? Number(audio.duration) : undefined,
    codec: video?.codec_name,
    pixFmt: video?.pix_fmt,
  };
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
  colour: { space: "bt709" },
};

test("the filter graph: crop and flips first, reverse, retiming, fades last; audio follows", () => {
  const graph = editGraph(
    planEdit("fade out, reverse, slow motion, crop to 9:16, mirror, black and white"),
    fakeSource,
  );
  assert.deepEqual(
    [graph.width, graph.height, graph.frames, graph.seconds, graph.audio],
    [280, 496, 96, 4, true],
  );
  const order = ["crop=280:496", "hflip", "reverse", "setpts=PTS/0.5", "hue=s=0", "fade=t=out:st=3"];
  const at = order.map((part) => graph.graph.indexOf(part));
  assert.ok(
    at.every((index, k) => index > 0 && (k === 0 || index > at[k - 1]!)),
    `${order} in ${graph.graph}`,
  );
  assert.match(
    graph.graph,
    /areverse,atempo=0\.5,.*afade=t=out:st=3\.000000:d=1\.000.*atrim=end_sample=192000\[aout\]/,
  );
  assert.equal(
    editGraph(planEdit("speed up"), { ...fakeSource, hasAudio: false }).graph.includes("[aout]"),
    false,
  );
  assert.equal(editGraph(planEdit("speed up"), fakeSource).frames, 24);
  assert.match(
    editGraph(planEdit("speed up"), fakeSource).graph,
    /select=not\(mod\(n\\,2\)\),settb=AVTB,setpts=PTS\/2,/,
  );
  const plain = editGraph(planEdit("mirror"), fakeSource);
  assert.equal(plain.frames, 48);
  assert.ok(!/setpts=PTS\/|select=|atempo/.test(plain.graph), `no retiming in ${plain.graph}`);
  assert.equal(editGraph(planEdit("fade in"), fakeSource).posterFrame, 12);
});

test("reversing a clip too large to hold is refused with unsupported_edit", () => {
  const long = { ...fakeSource, width: 1920, height: 1080, frames: 1440, duration: 60 };
  assert.throws(
    () => editGraph(planEdit("reverse"), long),
    (error: unknown) =>
      error instanceof ApiError && error.code === "unsupported_edit" && /at most \d+ s/.test(error.message),
  );
  // Cropped first, so a crop makes more of it fit.
  assert.doesNotThrow(() => editGraph(planEdit("reverse"), { ...long, frames: 240 }));
});

test("cropToRatio keeps the centre's full height or width, even sides", () => {
  assert.deepEqual(cropToRatio(864, 496, "9:16"), { width: 280, height: 496 });
  assert.deepEqual(cropToRatio(864, 496, "1:1"), { width: 496, height: 496 });
  assert.deepEqual(cropToRatio(864, 496, "21:9"), { width: 864, height: 370 });
  assert.deepEqual(cropToRatio(320, 240, "16:9"), { width: 320, height: 180 });
  assert.deepEqual(cropToRatio(320, 240, "4:3"), { width: 320, height: 240 });
});

test("black and white: same size, length and sound, chroma ~0 where the source is colourful", async () => {
  const result = await edit("make it black and white", { returnLastFrame: true });
  const out = await facts(result.videoPath);
  assert.deepEqual(
    [out.width, out.height, out.frames, out.fps, out.codec, out.pixFmt],
    [W, H, 48, 24, "h264", "yuv420p"],
  );
  assert.ok(Math.abs(out.duration - 2) <= 1 / 24, `duration ${out.duration}`);
  assert.ok(
    Math.abs(out.audioSeconds! - out.videoSeconds) <= 0.03,
    `audio ${out.audioSeconds} video ${out.videoSeconds}`,
  );
  assert.deepEqual([result.width, result.height, result.fps, result.hasAudio], [W, H, 24, true]);
  assert.ok(Math.abs(result.duration - 2) < 0.05);

  const before = await yuvFrame(source, 24, W, H);
  const after = await yuvFrame(result.videoPath, 24, W, H);
  assert.ok(chromaSpread(before.u) + chromaSpread(before.v) > 4, "the source has colour");
  assert.ok(
    chromaSpread(after.u) < 0.5 && chromaSpread(after.v) < 0.5,
    `chroma ${chromaSpread(after.u)} ${chromaSpread(after.v)}`,
  );
  // The picture itself is kept: luma as the source's.
  assert.ok(Math.abs(mean(after.y) - mean(before.y)) < 2);

  assert.equal((await sharp(result.posterPath).metadata()).format, "jpeg");
  const last = await sharp(result.lastFramePath!).removeAlpha().raw().toBuffer();
  assert.ok(meanAbsDiff(last, await frame(result.videoPath, 47)) < 2, "last-frame.png is the final frame");
  assert.ok(result.videoPath.endsWith("/clip.mp4") && result.posterPath.endsWith("/poster.jpg"));
  assert.ok(result.lastFramePath!.endsWith("/last-frame.png"));
});

test("mirror flips left and right; upside down flips top and bottom", async () => {
  const mirrored = await frame((await edit("mirror it")).videoPath, 10);
  const expected = flipped(sourceFrame(10), W, H, true);
  assert.ok(meanAbsDiff(mirrored, expected) < 3, `vs flipped source ${meanAbsDiff(mirrored, expected)}`);
  assert.ok(meanAbsDiff(mirrored, sourceFrame(10)) > 10, "differs from the unflipped source");

  const upside = await frame((await edit("turn it upside down")).videoPath, 30);
  assert.ok(meanAbsDiff(upside, flipped(sourceFrame(30), W, H, false)) < 3);
  assert.ok(meanAbsDiff(upside, flipped(sourceFrame(30), W, H, true)) > 10);
});

test("crop to 9:16 gives the centre of the picture at 9:16", async () => {
  const result = await edit("crop to 9:16");
  const out = await facts(result.videoPath);
  assert.deepEqual([out.width, out.height, out.frames], [280, 496, 48]);
  assert.ok(Math.abs(out.width! / out.height! - 9 / 16) < 2 / 496);
  const centre = await sharp(sourceFrame(24), { raw: { width: W, height: H, channels: 3 } })
    .extract({ left: (W - 280) / 2, top: 0, width: 280, height: H })
    .raw()
    .toBuffer();
  const got = await frame(result.videoPath, 24, 280, 496);
  assert.ok(meanAbsDiff(got, centre) < 3, `vs centre ${meanAbsDiff(got, centre)}`);
  const left = await sharp(sourceFrame(24), { raw: { width: W, height: H, channels: 3 } })
    .extract({ left: 0, top: 0, width: 280, height: H })
    .raw()
    .toBuffer();
  assert.ok(meanAbsDiff(got, left) > 10, "not the left edge");
});

test("slow motion doubles the length, sound stretched with it; speed up halves it", async () => {
  const slow = await edit("slow motion");
  const slowFacts = await facts(slow.videoPath);
  assert.deepEqual([slowFacts.frames, slowFacts.fps], [96, 24]);
  assert.ok(Math.abs(slowFacts.duration - 4) <= 1 / 24, `slow ${slowFacts.duration}`);
  assert.ok(Math.abs(slowFacts.audioSeconds! - 4) <= 0.03, `slow audio ${slowFacts.audioSeconds}`);
  // Each source frame shown twice.
  for (const index of [20, 21])
    assert.ok(meanAbsDiff(await frame(slow.videoPath, index), sourceFrame(10)) < 3, `slow ${index}`);

  const fast = await edit("speed it up");
  const fastFacts = await facts(fast.videoPath);
  assert.equal(fastFacts.frames, 24);
  assert.ok(Math.abs(fastFacts.duration - 1) <= 1 / 24, `fast ${fastFacts.duration}`);
  assert.ok(Math.abs(fastFacts.audioSeconds! - 1) <= 0.03, `fast audio ${fastFacts.audioSeconds}`);
  assert.ok(meanAbsDiff(await frame(fast.videoPath, 15), sourceFrame(30)) < 3, "frame k is source frame 2k");
  // Sound is there, not silence (the ambient bed is audible in the middle).
  assert.ok(rms((await decodeAudio(fast.videoPath)).subarray(2000, 6000)) > 0.005);
});

test("reverse plays the frames backwards, keeping length", async () => {
  const result = await edit("play it backwards");
  const out = await facts(result.videoPath);
  assert.equal(out.frames, 48);
  assert.ok(
    meanAbsDiff(await frame(result.videoPath, 0), sourceFrame(47)) < 3,
    "first frame is the source's last",
  );
  assert.ok(
    meanAbsDiff(await frame(result.videoPath, 30), sourceFrame(17)) < 3,
    "frame 30 is source frame 17",
  );
  assert.ok(meanAbsDiff(await frame(result.videoPath, 0), sourceFrame(0)) > 5, "not the source's first");
  assert.ok(Math.abs(out.audioSeconds! - out.videoSeconds) <= 0.03);
});

test("brighter and darker move the luma; more contrast spreads it; blur softens", async () => {
  const base = await yuvFrame(source, 24, W, H);
  const brighter = await yuvFrame((await edit("brighter")).videoPath, 24, W, H);
  const darker = await yuvFrame((await edit("a little darker")).videoPath, 24, W, H);
  assert.ok(mean(brighter.y) > mean(base.y) + 10, `brighter ${mean(brighter.y)} vs ${mean(base.y)}`);
  assert.ok(mean(darker.y) < mean(base.y) - 10, `darker ${mean(darker.y)} vs ${mean(base.y)}`);

  const contrast = await frame((await edit("more contrast")).videoPath, 24);
  assert.ok(luminanceStdDev(contrast) > 1.15 * luminanceStdDev(sourceFrame(24)), "more contrast");

  const blurred = await frame((await edit("blur")).videoPath, 24);
  assert.ok(sharpness(blurred, W) < 0.6 * sharpness(sourceFrame(24), W), "blurred");
});

test("sepia is a warm monochrome: red over green over blue", async () => {
  const sepia = await frame((await edit("sepia tone")).videoPath, 24);
  const [r, g, b] = meanColour(sepia);
  assert.ok(r > g + 5 && g > b + 5, `sepia means ${r} ${g} ${b}`);
});

test("fade in and out: black at both ends, the picture between, poster after the fade", async () => {
  const result = await edit("fade in and out");
  const first = await frame(result.videoPath, 0);
  const last = await frame(result.videoPath, 47);
  const middle = await frame(result.videoPath, 24);
  assert.ok(
    meanColour(first).every((value) => value < 12),
    `first ${meanColour(first)}`,
  );
  assert.ok(
    meanColour(last).every((value) => value < 20),
    `last ${meanColour(last)}`,
  );
  assert.ok(meanAbsDiff(middle, sourceFrame(24)) < 3);
  const poster = await sharp(result.posterPath).removeAlpha().raw().toBuffer();
  assert.ok(luminanceStdDev(poster) > 20, "the poster shows the picture");
  const sound = await decodeAudio(result.videoPath);
  assert.ok(rms(sound.subarray(0, 400)) < rms(sound.subarray(7000, 9000)) / 3, "sound fades in");
});

test("a source without sound at 30 fps: no audio stream, its size and rate kept", async () => {
  const dir = await outDir();
  const silent = await testPattern(dir, "pattern.mp4", { width: 320, height: 240, fps: 30, seconds: 1 });
  const result = await edit("mirror", { from: silent });
  const out = await facts(result.videoPath);
  const { audio } = await probeStreams(result.videoPath);
  assert.equal(audio, undefined);
  assert.equal(result.hasAudio, false);
  assert.deepEqual([out.width, out.height, out.fps, out.frames], [320, 240, 30, 30]);
  const expected = flipped(await frame(silent, 12, 320, 240), 320, 240, true);
  assert.ok(meanAbsDiff(await frame(result.videoPath, 12, 320, 240), expected) < 4);
});

test("a phone video tagged to be turned 90° is edited the way up it plays", async () => {
  const dir = await outDir();
  const pattern = await testPattern(dir, "pattern.mp4", { width: 320, height: 240, fps: 24, seconds: 0.5 });
  const turned = join(dir, "turned.mp4");
  await run(ffmpegPath, [
    "-v",
    "error",
    "-nostdin",
    "-i",
    pattern,
    "-c",
    "copy",
    "-metadata:s:v:0",
    "rotate=90",
    turned,
  ]);
  const result = await edit("black and white", { from: turned });
  assert.deepEqual([result.width, result.height], [240, 320]);
});

test("untrusted sources: a playlist is refused unread, a run is killed at its time limit, an abort stops it", async () => {
  const dir = await outDir();
  const playlist = join(dir, "playlist.mp4");
  await writeFile(playlist, "ffconcat version 1.0\nfile /etc/passwd\n");
  await assert.rejects(
    renderEdit({ sourcePath: playlist, plan: planEdit("mirror"), outDir: dir }),
    (error: unknown) => error instanceof ToolError && /not a video or audio type/.test(error.message),
  );
  await assert.rejects(access(join(dir, "clip.mp4")));

  await assert.rejects(
    renderEdit({ sourcePath: source, plan: planEdit("mirror"), outDir: dir, timeoutMs: 1 }),
    (error: unknown) => error instanceof ToolError && error.reason === "timeout",
  );
  const controller = new AbortController();
  controller.abort(new Error("stop"));
  await assert.rejects(
    renderEdit({ sourcePath: source, plan: planEdit("mirror"), outDir: dir, signal: controller.signal }),
    /stop/,
  );
});

test("renderTask: an edit request renders its source_video; without one, or without an edit, it is refused", async () => {
  const request = makeRequest({ operation: "edit", prompt: "Mirror it", mode: "reference" });
  const result = await renderTask({
    request,
    media: [media(source, "video", "source_video", 1)],
    workDir: await outDir(),
  });
  assert.ok(meanAbsDiff(await frame(result.videoPath, 10), flipped(sourceFrame(10), W, H, true)) < 3);
  await assert.rejects(
    renderTask({ request, media: [], workDir: await outDir() }),
    (error: unknown) => error instanceof ApiError && error.code === "missing_parameter",
  );
  await assert.rejects(
    renderTask({
      request: { ...request, prompt: "a dragon flies over the castle" },
      media: [media(source, "video", "source_video", 1)],
      workDir: await outDir(),
    }),
    (error: unknown) => error instanceof ApiError && error.code === "unsupported_edit",
  );
});
