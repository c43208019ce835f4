import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import type { NormalizedRequest } from "../../src/domain/request.ts";
import { uprightCover } from "../../src/engine/plate.ts";
import { framesInOrder, openFrameSource, renderClip } from "../../src/engine/render.ts";
import { directCamera } from "../../src/engine/shot-plan.ts";
import type { RenderInput } from "../../src/engine/types.ts";
import { ffmpegPath, parseRate, run } from "../../src/media/ffmpeg.ts";
import {
  decodeAllFramesSmall,
  decodeFrames,
  luminanceStdDev,
  makeRequest,
  meanAbsDiff,
  meanColour,
  media,
  probeStreams,
  sample,
  withWorkDir,
} from "./helpers.ts";

/** Raw RGB of a picture through the engine's own upright/sRGB/cover pipeline: "what the image should look like". */
function reference(path: string, width: number, height: number): Promise<Buffer> {
  return uprightCover(path, width, height).raw().toBuffer();
}

/** Shrink packed RGB for comparisons that should tolerate the camera's few percent of zoom. */
function shrink(data: Buffer, width: number, height: number, to = [96, 64] as const): Promise<Buffer> {
  return sharp(data, { raw: { width, height, channels: 3 } })
    .resize(to[0], to[1], { fit: "fill" })
    .raw()
    .toBuffer();
}

async function sha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

/** Mono float samples of a file's audio track. */
async function decodeAudio(path: string, rate: number): Promise<Float32Array> {
  const { stdout } = await run(ffmpegPath, [
    "-v",
    "error",
    "-i",
    path,
    "-vn",
    "-ac",
    "1",
    "-ar",
    String(rate),
    "-f",
    "f32le",
    "pipe:1",
  ]);
  return new Float32Array(stdout.buffer.slice(stdout.byteOffset, stdout.byteOffset + stdout.byteLength));
}

/** Power of one frequency (Goertzel). */
function tonePower(samples: Float32Array, rate: number, frequency: number): number {
  const coefficient = 2 * Math.cos((2 * Math.PI * frequency) / rate);
  let s1 = 0;
  let s2 = 0;
  for (const value of samples) {
    const s0 = value + coefficient * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return s1 * s1 + s2 * s2 - coefficient * s1 * s2;
}

function rms(samples: Float32Array): number {
  let sum = 0;
  for (const value of samples) sum += value * value;
  return Math.sqrt(sum / samples.length);
}

function render(dir: string, request: Partial<NormalizedRequest>, items: RenderInput["media"] = []) {
  return renderClip({ request: makeRequest(request), media: items, workDir: dir });
}

test("16:9 720p 5 s with audio: 1280x720 h264 yuv420p, aac, 24 fps, 5 s, stills and progress", async () => {
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
    assert.deepEqual([video?.width, video?.height], [1280, 720]);
    assert.equal(parseRate(video?.avg_frame_rate), 24);
    assert.equal(video?.nb_frames, "120");
    assert.equal(audio?.codec_name, "aac");
    assert.ok(Math.abs(Number(info.format.duration) - 5) <= 0.1, `duration ${info.format.duration}`);
    assert.ok(Math.abs(result.duration - 5) <= 0.05, `reported duration ${result.duration}`);
    assert.deepEqual([result.width, result.height, result.fps, result.hasAudio], [1280, 720, 24, true]);
    assert.equal(result.bytes, (await stat(result.videoPath)).size);
    for (const path of [result.videoPath, result.posterPath, result.lastFramePath!])
      assert.ok(path.startsWith(dir));
    assert.equal((await sharp(result.posterPath).metadata()).format, "jpeg");
    const last = await sharp(result.lastFramePath!).metadata();
    assert.deepEqual([last.format, last.width, last.height], ["png", 1280, 720]);
    // The last-frame PNG is the video's last frame.
    const [lastDecoded] = await decodeFrames(result.videoPath, [119], 1280, 720);
    const lastPng = await sharp(result.lastFramePath!).removeAlpha().raw().toBuffer();
    assert.ok(meanAbsDiff(lastDecoded!.data, lastPng) < 3, "last-frame PNG matches the final frame");
    // The ambient bed is a real, audible track of the clip's length.
    const sound = await decodeAudio(result.videoPath, 8000);
    assert.ok(Math.abs(sound.length / 8000 - 5) < 0.06, `audio ${sound.length / 8000} s`);
    assert.ok(rms(sound.subarray(8000, 32000)) > 0.01, "audio bed is not silent");
    assert.equal(progress[0], 0);
    assert.equal(progress.at(-1), 100);
    assert.ok(
      progress.every((value, i) => i === 0 || value > progress[i - 1]!),
      "progress is monotonic",
    );
    assert.ok(progress.length > 20, "progress reported while rendering");
  });
});

test("9:16 1080p 10 s without audio: 1080x1920 and no audio stream", async () => {
  await withWorkDir(async (dir) => {
    const result = await render(
      dir,
      { mode: "first_frame", seconds: 10, ratio: "9:16", resolution: "1080p", generateAudio: false },
      [media(sample("photo-saw-2725x2225.jpg"), "image", "first_frame", 1)],
    );
    const { info, video, audio } = await probeStreams(result.videoPath);
    assert.equal(audio, undefined);
    assert.equal(info.streams.length, 1);
    assert.equal(result.hasAudio, false);
    assert.deepEqual([video?.width, video?.height, video?.pix_fmt], [1080, 1920, "yuv420p"]);
    assert.equal(video?.nb_frames, "240");
    assert.ok(Math.abs(Number(info.format.duration) - 10) <= 0.1);
    const frames = await decodeFrames(result.videoPath, [0, 120, 239], 1080, 1920);
    assert.equal(frames.length, 3);
    for (const frame of frames) assert.ok(luminanceStdDev(frame.data) > 20, "frame shows the picture");
  });
});

test("1:1 480p text only: 640x640 title card, never blank", async () => {
  await withWorkDir(async (dir) => {
    const result = await render(dir, {
      mode: "text",
      prompt: 'A lighthouse <beam> & "fog" rolling over a rocky coast at night, waves crashing below',
      seconds: 3,
      ratio: "1:1",
      resolution: "480p",
    });
    const { video } = await probeStreams(result.videoPath);
    assert.deepEqual([video?.width, video?.height], [640, 640]);
    for (const frame of await decodeFrames(result.videoPath, [0, 36, 71], 640, 640)) {
      assert.ok(luminanceStdDev(frame.data) > 20, `std-dev ${luminanceStdDev(frame.data)}`);
      let bright = 0;
      for (let i = 0; i < frame.data.length; i += 3)
        if (frame.data[i]! > 220 && frame.data[i + 2]! > 220) bright++;
      assert.ok(bright / (640 * 640) > 0.005, "white type is present");
    }
  });
});

test("first + last frame: starts on image A, ends on image B", async () => {
  await withWorkDir(async (dir) => {
    const a = sample("landscape-600x450.jpg");
    const b = sample("photo-saw-2725x2225.jpg");
    const result = await render(
      dir,
      { mode: "first_last_frame", seconds: 3, ratio: "16:9", resolution: "480p", returnLastFrame: true },
      [media(a, "image", "first_frame", 1, 0), media(b, "image", "last_frame", 2, 1)],
    );
    const [first, last] = await decodeFrames(result.videoPath, [0, 71], 864, 496);
    const [refA, refB] = await Promise.all([reference(a, 864, 496), reference(b, 864, 496)]);
    const firstToA = meanAbsDiff(first!.data, refA);
    const firstToB = meanAbsDiff(first!.data, refB);
    const lastToA = meanAbsDiff(last!.data, refA);
    const lastToB = meanAbsDiff(last!.data, refB);
    assert.ok(firstToA < 8, `first frame vs A: ${firstToA}`);
    assert.ok(lastToB < 8, `last frame vs B: ${lastToB}`);
    assert.ok(firstToA * 3 < firstToB, `first frame closer to A (${firstToA}) than B (${firstToB})`);
    assert.ok(lastToB * 3 < lastToA, `last frame closer to B (${lastToB}) than A (${lastToA})`);
  });
});

test("reference images cited @image3 … @image1: one shot each, in citation order, then the uncited", async () => {
  await withWorkDir(async (dir) => {
    const paths = [
      sample("landscape-600x450.jpg"),
      sample("photo-1024x772.webp"),
      sample("photo-saw-2725x2225.jpg"),
    ];
    const result = await render(
      dir,
      {
        mode: "reference",
        prompt: "The saw from @image3 then the field from @image1",
        citations: ["image3", "image1"],
        seconds: 6,
        ratio: "16:9",
        resolution: "480p",
      },
      paths.map((path, i) => media(path, "image", "reference_image", i + 1, i)),
    );
    // 144 frames in three shots overlapping by 12: mid-shot frames 22, 72 and 122 show one image each.
    const frames = await decodeFrames(result.videoPath, [22, 72, 122], 864, 496);
    const refs = await Promise.all(
      paths.map(async (path) => shrink(await reference(path, 864, 496), 864, 496)),
    );
    const expected = [2, 0, 1]; // image3, image1, then the uncited image2
    for (const [k, frame] of frames.entries()) {
      const small = await shrink(frame.data, 864, 496);
      const distances = refs.map((ref) => meanAbsDiff(small, ref));
      const nearest = distances.indexOf(Math.min(...distances));
      assert.equal(nearest, expected[k], `segment ${k}: distances ${distances.map((d) => d.toFixed(1))}`);
    }
  });
});

test("EXIF orientation 6 comes out upright (and adaptive follows the displayed shape)", async () => {
  await withWorkDir(async (dir) => {
    const path = sample("exif-orientation-6.jpg");
    const result = await render(
      dir,
      { mode: "first_frame", seconds: 1, ratio: "adaptive", resolution: "480p", cameraFixed: true },
      [media(path, "image", "first_frame", 1)],
    );
    assert.ok(result.height > result.width, `portrait output, got ${result.width}x${result.height}`);
    const [frame] = await decodeFrames(result.videoPath, [0], result.width, result.height);
    const upright = await reference(path, result.width, result.height);
    const sideways = await sharp(path)
      .resize(result.width, result.height, { fit: "cover", position: "attention" })
      .removeAlpha()
      .raw()
      .toBuffer();
    const toUpright = meanAbsDiff(frame!.data, upright);
    const toSideways = meanAbsDiff(frame!.data, sideways);
    assert.ok(toUpright < 6, `vs upright ${toUpright}`);
    assert.ok(toSideways > 3 * toUpright && toSideways > 15, `vs unrotated ${toSideways}`);
  });
});

test("adaptive ratio follows the first image: a 5:1 AVIF gives 21:9, an 80x80 animated GIF gives 1:1", async () => {
  for (const [name, size] of [
    ["wide-4096x800.avif", [992, 432]],
    ["animated-80x80.gif", [640, 640]],
  ] as const) {
    await withWorkDir(async (dir) => {
      const result = await render(dir, { mode: "first_frame", seconds: 1, ratio: "adaptive" }, [
        media(sample(name), "image", "first_frame", 1),
      ]);
      const { video } = await probeStreams(result.videoPath);
      assert.deepEqual([video?.width, video?.height], size, name);
      const [frame] = await decodeFrames(result.videoPath, [0], size[0], size[1]);
      assert.ok(luminanceStdDev(frame!.data) > 10, `${name} shows the picture`);
    });
  }
});

for (const name of ["cmyk-500x333.jpg", "alpha-2048x1536.png", "grey-400x267.jpg"]) {
  test(`${name} renders with correct sRGB colours`, async () => {
    await withWorkDir(async (dir) => {
      const path = sample(name);
      const result = await render(
        dir,
        { mode: "first_frame", seconds: 1, ratio: "4:3", resolution: "480p", cameraFixed: true },
        [media(path, "image", "first_frame", 1)],
      );
      const [frame] = await decodeFrames(result.videoPath, [12], 752, 560);
      const expected = meanColour(await reference(path, 752, 560));
      const actual = meanColour(frame!.data);
      for (let c = 0; c < 3; c++) {
        assert.ok(Math.abs(actual[c]! - expected[c]!) < 4, `channel ${c}: ${actual[c]} vs ${expected[c]}`);
      }
    });
  });
}

test("same seed gives identical bytes; a different seed gives a different move", async () => {
  await withWorkDir(async (dir) => {
    const image = [media(sample("landscape-600x450.jpg"), "image", "first_frame", 1)];
    const base = {
      mode: "first_frame" as const,
      seconds: 2,
      resolution: "480p" as const,
      generateAudio: true,
    };
    const seedA = 7;
    let seedB = 8;
    while (directCamera({ prompt: "", seed: seedB }).move === directCamera({ prompt: "", seed: seedA }).move)
      seedB++;
    const hashes: string[] = [];
    const lastFrames: Buffer[] = [];
    for (const [k, seed] of [seedA, seedA, seedB].entries()) {
      const sub = join(dir, String(k));
      await mkdir(sub);
      const result = await render(sub, { ...base, prompt: "A field", seed }, image);
      hashes.push(await sha256(result.videoPath));
      const [last] = await decodeFrames(result.videoPath, [47], 864, 496);
      lastFrames.push(last!.data);
    }
    assert.equal(hashes[0], hashes[1], "same request, same bytes");
    // No wall-clock time anywhere in the container: every mvhd/tkhd/mdhd creation and modification time is 0.
    const bytes = await readFile(join(dir, "0", "clip.mp4"));
    let boxes = 0;
    for (const box of ["mvhd", "tkhd", "mdhd"]) {
      for (let at = bytes.indexOf(box); at >= 0; at = bytes.indexOf(box, at + 1)) {
        boxes++;
        const version = bytes[at + 4]!;
        const times = bytes.subarray(at + 8, at + 8 + (version === 1 ? 16 : 8));
        assert.ok(
          times.every((byte) => byte === 0),
          `${box} carries a timestamp`,
        );
      }
    }
    assert.ok(boxes >= 5, "found the movie, track and media headers");
    const { info } = await probeStreams(join(dir, "0", "clip.mp4"));
    assert.equal((info.format as { tags?: Record<string, string> }).tags?.creation_time, undefined);
    assert.notEqual(hashes[0], hashes[2]);
    assert.ok(meanAbsDiff(lastFrames[0]!, lastFrames[2]!) > 4, "the other seed moved the camera differently");
  });
});

/** Width of the white box in luma rows 228..267 of a 864x496 frame: summed brightness, a fraction of a pixel exact. */
function boxWidth(luma: (index: number) => number, black: number, white: number): number {
  let sum = 0;
  for (let row = 228; row < 268; row++) {
    for (let col = 0; col < 864; col++)
      sum += Math.max(0, luma(row * 864 + col) - black - 2) / (white - black - 2);
  }
  return sum / 40;
}

function motionChecks(widths: number[], jerkBound: number, label: string): void {
  const steps = widths.slice(1).map((width, k) => width - widths[k]!);
  const growth = widths.at(-1)! / widths[0]!;
  assert.ok(growth > 1.08, `${label}: the camera pushed in (x${growth.toFixed(3)})`);
  assert.ok(Math.min(...steps) > -0.05, `${label}: never reverses (min step ${Math.min(...steps)})`);
  assert.ok(Math.max(...steps) < 3, `${label}: no jumps (largest step ${Math.max(...steps)})`);
  // Whole-pixel stepping would show as the speed jumping by ~1-2 px between consecutive frames.
  const jerks = steps.slice(1).map((step, k) => Math.abs(step - steps[k]!));
  assert.ok(
    Math.max(...jerks) < jerkBound,
    `${label}: largest change of speed ${Math.max(...jerks)} px/frame`,
  );
}

test("push-in is sub-pixel smooth: the subject's size grows every frame, without steps", async () => {
  await withWorkDir(async (dir) => {
    // A white box on black.
    const box = join(dir, "box.png");
    await sharp(
      Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="1728" height="992"><rect width="1728" height="992" fill="#000"/><rect x="576" y="331" width="576" height="330" fill="#fff"/></svg>`,
      ),
    )
      .png()
      .toFile(box);
    const input = {
      request: makeRequest({ mode: "first_frame", prompt: "push in on the box", seconds: 3 }),
      media: [media(box, "image", "first_frame", 1)],
      workDir: dir,
    };
    // The frames as rendered (limited-range luma: black 16, white 235) ...
    const source = await openFrameSource(input);
    const rendered: number[] = [];
    for await (const frame of framesInOrder(source)) rendered.push(boxWidth((i) => frame[i]!, 16, 235));
    source.close();
    assert.equal(rendered.length, 72);
    motionChecks(rendered, 0.12, "rendered frames");
    // ... and as encoded: x264 adds a little noise at edges, still far from whole-pixel steps.
    const result = await renderClip(input);
    const frames = await decodeAllFramesSmall(result.videoPath, 864, 496);
    assert.equal(frames.length, 72);
    motionChecks(
      frames.map(({ data }) => boxWidth((i) => data[i * 3 + 1]!, 0, 255)),
      0.35,
      "encoded video",
    );
  });
});

test("detail does not breathe while the camera pans or zooms (no sub-pixel blur pulsing)", async () => {
  for (const prompt of ["pan left across the saw", "tilt up over the saw", "orbit around the saw"]) {
    const source = await openFrameSource({
      request: makeRequest({ mode: "first_frame", prompt, seconds: 2 }),
      media: [media(sample("photo-saw-2725x2225.jpg"), "image", "first_frame", 1)],
      workDir: "/nonexistent",
    });
    // Detail energy: summed horizontal luma differences over the centre of each frame.
    const energies: number[] = [];
    for await (const frame of framesInOrder(source)) {
      let energy = 0;
      for (let y = 100; y < 400; y++) {
        for (let x = 100; x < 760; x++) energy += Math.abs(frame[y * 864 + x + 1]! - frame[y * 864 + x]!);
      }
      energies.push(energy);
    }
    source.close();
    assert.equal(energies.length, 48);
    const changes = energies.slice(1).map((energy, k) => Math.abs(energy - energies[k]!) / energies[k]!);
    // A warp at 1:1 scale swings by ~18 % between frames as the sub-pixel phase changes.
    assert.ok(Math.max(...changes) < 0.03, `${prompt}: detail changes by up to ${Math.max(...changes)}`);
  }
});

test("reference video: cover-cropped, looped when short, trimmed when long", async () => {
  await withWorkDir(async (dir) => {
    const short = join(dir, "short.mp4");
    const long = join(dir, "long.mp4");
    for (const [path, seconds] of [
      [short, 1],
      [long, 4],
    ] as const) {
      await run(ffmpegPath, [
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        `testsrc2=size=320x240:rate=24:duration=${seconds}`,
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        path,
      ]);
    }
    const looped = await render(
      dir,
      { mode: "reference", prompt: "like @video1", citations: ["video1"], seconds: 3 },
      [media(short, "video", "reference_video", 1)],
    );
    const { video, info } = await probeStreams(looped.videoPath);
    assert.deepEqual([video?.width, video?.height, video?.nb_frames], [864, 496, "72"]);
    assert.ok(Math.abs(Number(info.format.duration) - 3) <= 0.05);
    const [f0, f12, f24, f48] = await decodeFrames(looped.videoPath, [0, 12, 24, 48], 864, 496);
    assert.ok(meanAbsDiff(f0!.data, f24!.data) < 4, "second pass of the loop repeats the first");
    assert.ok(meanAbsDiff(f0!.data, f48!.data) < 4, "third pass too");
    assert.ok(meanAbsDiff(f0!.data, f12!.data) > 8, "the video itself moves");

    const sub = join(dir, "trim");
    await mkdir(sub);
    const trimmed = await render(
      sub,
      { mode: "reference", prompt: "like @video1", citations: ["video1"], seconds: 2, ratio: "9:16" },
      [media(long, "video", "reference_video", 1)],
    );
    const probed = await probeStreams(trimmed.videoPath);
    assert.deepEqual([probed.video?.width, probed.video?.height, probed.video?.nb_frames], [496, 864, "48"]);
    assert.ok(Math.abs(Number(probed.info.format.duration) - 2) <= 0.05);
  });
});

test("reference audio becomes the soundtrack (a 440 Hz input dominates the output)", async () => {
  await withWorkDir(async (dir) => {
    const tone = join(dir, "tone.m4a");
    await run(ffmpegPath, [
      "-v",
      "error",
      "-f",
      "lavfi",
      "-i",
      "sine=f=440:r=48000:d=1",
      "-c:a",
      "aac",
      tone,
    ]);
    const result = await render(
      dir,
      {
        mode: "reference",
        prompt: "music from @audio1",
        citations: ["audio1"],
        seconds: 3,
        generateAudio: true,
      },
      [media(tone, "audio", "reference_audio", 1)],
    );
    const { audio, info } = await probeStreams(result.videoPath);
    assert.equal(audio?.codec_name, "aac");
    assert.ok(Math.abs(Number(info.format.duration) - 3) <= 0.1);
    const sound = await decodeAudio(result.videoPath, 8000);
    assert.ok(Math.abs(sound.length / 8000 - 3) < 0.06, `audio ${sound.length / 8000} s`);
    // Looped: the tone is still there in the last second, not just the first.
    for (const window of [sound.subarray(800, 7200), sound.subarray(16800, 22400)]) {
      const at440 = tonePower(window, 8000, 440);
      for (const other of [220, 330, 550, 880]) {
        assert.ok(at440 > 50 * tonePower(window, 8000, other), `440 Hz dominates ${other} Hz`);
      }
    }

    const silent = join(dir, "silent");
    await mkdir(silent);
    const without = await render(
      silent,
      { mode: "reference", prompt: "@audio1", citations: ["audio1"], seconds: 1, generateAudio: false },
      [media(tone, "audio", "reference_audio", 1)],
    );
    assert.equal(
      (await probeStreams(without.videoPath)).audio,
      undefined,
      "no audio stream without generateAudio",
    );
  });
});

test("abort stops the render", async () => {
  await withWorkDir(async (dir) => {
    const controller = new AbortController();
    const started = Date.now();
    await assert.rejects(
      renderClip({
        request: makeRequest({ seconds: 10, resolution: "720p" }),
        media: [],
        workDir: dir,
        signal: controller.signal,
        onProgress: (percent) => {
          if (percent >= 10) controller.abort();
        },
      }),
      (error: Error) => error.name === "AbortError",
    );
    assert.ok(Date.now() - started < 10_000);
  });
});
