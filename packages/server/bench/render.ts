/**
 * Render-engine benchmark: wall time of a 5 s clip at 480p / 720p / 1080p, beside a bare ffmpeg
 * encode of the same size and length, and a split of where the time goes (frame generation vs
 * encoding). Run from packages/server: `node --import tsx bench/render.ts`.
 */
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, open, rm } from "node:fs/promises";
import { availableParallelism, cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { NormalizedRequest, Resolution } from "../src/domain/request.ts";
import { encoderArgs } from "../src/engine/encoder.ts";
import { frameWorkers } from "../src/engine/frame-workers.ts";
import { FPS, framesInOrder, openFrameSource, renderClip } from "../src/engine/render.ts";
import type { RenderInput } from "../src/engine/types.ts";
import { ffmpegPath, run } from "../src/media/ffmpeg.ts";

const SECONDS = 5;
const RUNS = 3;
const IMAGE = fileURLToPath(new URL("../../../../shared/samples/photo-saw-2725x2225.jpg", import.meta.url));
const SIZES: Array<{ resolution: Resolution; width: number; height: number }> = [
  { resolution: "480p", width: 864, height: 496 },
  { resolution: "720p", width: 1280, height: 720 },
  { resolution: "1080p", width: 1920, height: 1080 },
];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** CPU seconds used so far by this process (all threads) and its finished children (ffmpeg); Linux only for children. */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    // /proc/self/stat fields 16 and 17 (after the parenthesised name): cutime and cstime, in 1/100 s.
    const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    children = 0;
  }
  return (own.user + own.system) / 1e6 + children;
}

interface Timing {
  wall: number;
  cpu: number;
}

/** Wall time, and CPU time, which is what to trust when other work shares the machine. */
async function measure(fn: () => Promise<unknown>): Promise<Timing> {
  const started = performance.now();
  const cpuStart = cpuSeconds();
  await fn();
  return { wall: (performance.now() - started) / 1000, cpu: cpuSeconds() - cpuStart };
}

async function timed(fn: () => Promise<unknown>): Promise<number> {
  return (await measure(fn)).wall;
}

function medianTiming(timings: Timing[]): Timing {
  return { wall: median(timings.map((t) => t.wall)), cpu: median(timings.map((t) => t.cpu)) };
}

function show(timing: Timing): string {
  return `${timing.wall.toFixed(2)} s (cpu ${timing.cpu.toFixed(2)} s)`;
}

function input(resolution: Resolution, workDir: string, generateAudio = false): RenderInput {
  const request: NormalizedRequest = {
    model: "bench",
    mode: "first_frame",
    prompt: "slow push-in on the saw",
    seconds: SECONDS,
    ratio: "16:9",
    resolution,
    generateAudio,
    seed: 1,
    content: [],
    citations: [],
  };
  return {
    request,
    media: [{ kind: "image", role: "first_frame", index: 1, position: 0, url: "file://bench", path: IMAGE }],
    workDir,
  };
}

/** Frame generation alone: the same frames the render computes, discarded instead of encoded. */
async function generateOnly(resolution: Resolution, workDir: string, keepTo?: string): Promise<Timing> {
  return measure(async () => {
    const source = await openFrameSource(input(resolution, workDir));
    const file = keepTo ? await open(keepTo, "w") : undefined;
    try {
      for await (const frame of framesInOrder(source)) if (file) await file.write(frame);
    } finally {
      await file?.close();
      source.close();
    }
  });
}

/** Encoding alone: the engine's ffmpeg command fed the rendered frames from a file. */
function encodeOnly(rawPath: string, width: number, height: number, outputPath: string): Promise<Timing> {
  const args = encoderArgs({
    outputPath,
    width,
    height,
    fps: FPS,
    frameCount: SECONDS * FPS,
    soundtrack: { kind: "none" },
  });
  const stdin = args.indexOf("pipe:0");
  args[stdin] = rawPath;
  return measure(() => run(ffmpegPath, args));
}

/** The yardstick: ffmpeg encoding the still image (decoded once) at the same size, length and preset. */
function bareEncode(width: number, height: number, outputPath: string): Promise<Timing> {
  return measure(() =>
    run(ffmpegPath, [
      "-v",
      "error",
      "-i",
      IMAGE,
      "-vf",
      `loop=loop=-1:size=1,setpts=N/${FPS}/TB,scale=${width}:${height}:force_original_aspect_ratio=increase,` +
        `crop=${width}:${height},format=yuv420p`,
      "-r",
      String(FPS),
      "-t",
      String(SECONDS),
      "-c:v",
      "libx264",
      "-preset",
      "veryfast",
      "-crf",
      "18",
      "-threads",
      "4",
      "-y",
      outputPath,
    ]),
  );
}

export async function benchRender(): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "vidrelay-bench-"));
  let step = 0;
  const scratch = async () => {
    const dir = join(root, String(step++));
    await mkdir(dir);
    return dir;
  };
  const rows: string[] = [];
  const split: string[] = [];
  try {
    // The first render pays for starting the frame workers (and loading the kernel): report it apart.
    const cold = await timed(async () => renderClip(input("480p", await scratch())));
    for (const { resolution, width, height } of SIZES) {
      const renders: Timing[] = [];
      const bares: Timing[] = [];
      for (let run = 0; run < RUNS; run++) {
        const dir = await scratch();
        renders.push(await measure(() => renderClip(input(resolution, dir))));
        bares.push(await bareEncode(width, height, join(dir, "bare.mp4")));
      }
      const withAudio = await measure(async () => renderClip(input(resolution, await scratch(), true)));
      const render = medianTiming(renders);
      const bare = medianTiming(bares);
      rows.push(
        `| ${resolution} (${width}x${height}) | ${show(render)} | ${(render.wall / SECONDS).toFixed(2)}x | ` +
          `${show(withAudio)} | ${show(bare)} | ${(render.wall / bare.wall).toFixed(2)}x |`,
      );

      const dir = await scratch();
      const rawPath = join(dir, "frames.yuv");
      await generateOnly(resolution, dir, rawPath);
      const generation = medianTiming([
        await generateOnly(resolution, dir),
        await generateOnly(resolution, dir),
        await generateOnly(resolution, dir),
      ]);
      const encoding = medianTiming([
        await encodeOnly(rawPath, width, height, join(dir, "a.mp4")),
        await encodeOnly(rawPath, width, height, join(dir, "b.mp4")),
        await encodeOnly(rawPath, width, height, join(dir, "c.mp4")),
      ]);
      await rm(rawPath, { force: true });
      split.push(
        `| ${resolution} | ${show(generation)}, ${((generation.cpu / (SECONDS * FPS)) * 1000).toFixed(1)} ms cpu/frame | ` +
          `${show(encoding)} | ${show(render)} |`,
      );
    }
    const load = loadavg()[0]!;
    return [
      "## Local render engine",
      "",
      `${SECONDS} s clip, 16:9, ${FPS} fps, one photo (2725x2225 JPEG) with a push-in; median of ${RUNS} runs; ` +
        `${availableParallelism()} cores (${cpus()[0]?.model ?? "unknown CPU"}); x264 veryfast, CRF 18. ` +
        `The first render of a process also starts the frame workers: ${cold.toFixed(2)} s cold for 480p. ` +
        `Load average at the end: ${load.toFixed(1)}; when other work shares the machine, wall times stretch ` +
        "but CPU times (this process, its worker threads and its ffmpeg children) hold.",
      "",
      "| size | render (no audio) | ÷ clip length | render with audio bed | bare ffmpeg encode | render ÷ bare |",
      "|---|---|---|---|---|---|",
      ...rows,
      "",
      "Bare ffmpeg encode: the same image decoded once, cover-scaled, encoded for the same length with the same preset " +
        "(a still picture, so x264 has far less to code than a moving one).",
      "",
      "Where the time goes (each part alone; in a render they overlap: workers compute frames while x264 encodes):",
      "",
      "| size | frame generation | encode of those frames | whole render |",
      "|---|---|---|---|",
      ...split,
      "",
    ].join("\n");
  } finally {
    await rm(root, { recursive: true, force: true });
    await frameWorkers().close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchRender());
}
