/**
 * The built-in local render engine: camera moves over the request's own pictures (or a title card
 * of the prompt), encoded to an mp4 with ffmpeg. Frames are computed by worker threads
 * (frame-kernel.ts) and streamed to ffmpeg's stdin a few at a time, so memory stays bounded at any
 * size and the event loop is never blocked by pixel work.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { outputSize } from "../domain/pixels.ts";
import { demuxerOf, parseRate, probe } from "../media/ffmpeg.ts";
import { type Soundtrack, startEncoder } from "./encoder.ts";
import type { Layer, YuvPlate } from "./frame-kernel.ts";
import { type FrameWorkerPool, frameWorkers } from "./frame-workers.ts";
import { displaySize, loadImagePlate, picturePlate, plateSize } from "./plate.ts";
import {
  effectiveSeed,
  type PlannedShot,
  planTimeline,
  poseAt,
  type Timeline,
  zoomRange,
} from "./shot-plan.ts";
import { renderTitleCard } from "./title-card.ts";
import type { LocalMedia, RenderInput, RenderResult } from "./types.ts";
import { decodeVideoFrames } from "./video-source.ts";

export const FPS = 24;
/** Frames in flight ahead of the encoder: enough to keep every worker busy, few enough to bound memory. */
const LOOKAHEAD = 6;

export const OUTPUT_NAMES = { video: "clip.mp4", poster: "poster.jpg", lastFrame: "last-frame.png" } as const;

interface Frame {
  width: number;
  height: number;
}

/** What a shot contributes to a frame: a layer for the kernel, or a finished frame (reference video). */
type ShotRenderer = (frameIndex: number) => Promise<Layer | Uint8Array>;

function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const error = new Error("render aborted");
  error.name = "AbortError";
  return error;
}

/** The picture that decides an `adaptive` ratio: the first-frame image, else the first image. */
function leadImage(media: LocalMedia[]): LocalMedia | undefined {
  const images = media.filter((item) => item.kind === "image");
  return images.find((item) => item.role === "first_frame") ?? images.sort((a, b) => a.index - b.index)[0];
}

function shotSeconds(shot: PlannedShot, fps: number): number {
  return (shot.lastFrame - shot.firstFrame + 1) / fps;
}

function shotProgress(shot: PlannedShot, frameIndex: number): number {
  const span = shot.lastFrame - shot.firstFrame;
  return span <= 0 ? 0 : (frameIndex - shot.firstFrame) / span;
}

async function prepareShot(
  shot: PlannedShot,
  input: RenderInput,
  frame: Frame,
  timeline: Timeline,
  seed: number,
  workers: FrameWorkerPool,
  closers: Array<() => void>,
): Promise<ShotRenderer> {
  const { width, height } = frame;
  const aspect = width / height;
  const seconds = shotSeconds(shot, timeline.fps);
  if (shot.source.kind === "video") {
    const videoPath = input.media[shot.source.mediaIndex]!.path;
    const frames = decodeVideoFrames(videoPath, {
      demuxer: await demuxerOf(videoPath),
      width,
      height,
      fps: timeline.fps,
      frameCount: shot.lastFrame - shot.firstFrame + 1,
      signal: input.signal,
    });
    closers.push(() => frames.close());
    // Frames are requested in increasing order, possibly several at once: serialize the reads.
    let chain: Promise<Uint8Array> = Promise.resolve(new Uint8Array(0));
    return () => {
      chain = chain.then(() => frames.next());
      return chain;
    };
  }
  const [zoomMin, zoomMax] = zoomRange(shot.direction, seconds, aspect);
  const size = plateSize(width, height, zoomMin, zoomMax, shot.direction.move === "orbit");
  let plate: YuvPlate;
  if (shot.source.kind === "image") {
    plate = await loadImagePlate(input.media[shot.source.mediaIndex]!.path, size.width, size.height, workers);
  } else {
    const card = await renderTitleCard(input.request.prompt, size.width, size.height, seed);
    plate = await picturePlate(card, size.width, size.height, workers);
  }
  return async (frameIndex) => ({
    plate,
    pose: poseAt(shot.direction, seconds, shotProgress(shot, frameIndex), aspect),
  });
}

/** Weight of the later shot during a dissolve: eased, so the blend starts and ends gently. */
function dissolveWeight(incoming: PlannedShot, outgoing: PlannedShot, frameIndex: number): number {
  const overlap = outgoing.lastFrame - incoming.firstFrame + 1;
  const u = (frameIndex - incoming.firstFrame + 1) / (overlap + 1);
  return (1 - Math.cos(Math.PI * Math.min(1, Math.max(0, u)))) / 2;
}

/** A prepared render: the frame size, the timeline, and a function producing frame i as yuv420p. */
export interface FrameSource {
  width: number;
  height: number;
  seed: number;
  timeline: Timeline;
  /** Frame i; may be called for several frames at once, but in increasing order (video is read sequentially). */
  frame(index: number): Promise<Uint8Array>;
  /** Stills (poster, last frame) as packed RGB. */
  toRgb(frame: Uint8Array): Promise<Uint8Array>;
  close(): void;
}

/** Plan the clip and decode its pictures: everything before the first frame. */
export async function openFrameSource(input: RenderInput): Promise<FrameSource> {
  const { request } = input;
  const workers = frameWorkers();
  // Boot the frame workers while sharp decodes the pictures.
  workers.warm();
  const lead = leadImage(input.media);
  const size = outputSize(request.resolution, request.ratio, lead ? await displaySize(lead.path) : undefined);
  const frame: Frame = { width: size.width, height: size.height };
  const seed = effectiveSeed(request);
  const timeline = planTimeline(request, input.media, FPS);
  const closers: Array<() => void> = [];
  const close = () => {
    for (const closer of closers.splice(0)) closer();
  };
  const renderers = await Promise.all(
    timeline.shots.map((shot) => prepareShot(shot, input, frame, timeline, seed, workers, closers)),
  ).catch((error: unknown) => {
    close();
    throw error;
  });

  return {
    ...frame,
    seed,
    timeline,
    close,
    async frame(index) {
      const active = timeline.shots
        .map((shot, k) => ({ shot, render: renderers[k]! }))
        .filter(({ shot }) => shot.firstFrame <= index && index <= shot.lastFrame);
      const [outgoing, incoming] = active;
      if (!outgoing) throw new Error(`no shot covers frame ${index}`);
      const parts = await Promise.all(active.map(({ render }) => render(index)));
      if (parts.length === 1 && parts[0] instanceof Uint8Array) return parts[0];
      const layers = parts.filter((part): part is Layer => !(part instanceof Uint8Array));
      const weight = incoming ? dissolveWeight(incoming.shot, outgoing.shot, index) : 0;
      const result = await workers.run({
        op: "frame",
        layers,
        weight,
        width: frame.width,
        height: frame.height,
      });
      if (!("frame" in result)) throw new Error("frame worker returned no frame");
      return result.frame;
    },
    async toRgb(pixels) {
      const result = await workers.run({
        op: "rgb",
        frame: pixels,
        width: frame.width,
        height: frame.height,
      });
      if (!("rgb" in result)) throw new Error("frame worker returned no picture");
      return result.rgb;
    },
  };
}

/**
 * Frames in order, LOOKAHEAD at a time: frame i+1.. are computed while frame i is being written.
 * Rejections of frames not yet awaited are observed later, so they never surface as unhandled.
 */
export async function* framesInOrder(source: FrameSource): AsyncGenerator<Uint8Array> {
  const count = source.timeline.frameCount;
  const inFlight: Array<Promise<Uint8Array>> = [];
  let next = 0;
  for (let index = 0; index < count; index++) {
    while (next < count && next < index + LOOKAHEAD) {
      const pending = source.frame(next++);
      pending.catch(() => {});
      inFlight.push(pending);
    }
    yield await inFlight.shift()!;
  }
}

/** Per frame, what a render typically costs on one core (docs/benchmarks.md: 19.5 ms at 720p, 34.4 at 1080p). */
const FRAME_MS: Record<string, number> = { "480p": 12, "720p": 20, "1080p": 35 };

/** How long a local render of such a clip typically takes (for clients' poll hints), queueing aside. */
export function typicalRenderMs(facts: { seconds: number; resolution: string }): number {
  return 1000 + facts.seconds * FPS * (FRAME_MS[facts.resolution] ?? 20);
}

export async function renderClip(input: RenderInput): Promise<RenderResult> {
  const { request, workDir, signal } = input;
  if (signal?.aborted) throw abortError(signal);
  let lastProgress = -1;
  const progress = (percent: number) => {
    const value = Math.min(100, Math.max(0, Math.floor(percent)));
    if (value > lastProgress) {
      lastProgress = value;
      input.onProgress?.(value);
    }
  };
  progress(0);

  const source = await openFrameSource(input);
  const { timeline, seed } = source;
  if (signal?.aborted) {
    source.close();
    throw abortError(signal);
  }
  progress(3);

  const audioMedia =
    timeline.audioMediaIndex === undefined ? undefined : input.media[timeline.audioMediaIndex];
  const soundtrack: Soundtrack = !request.generateAudio
    ? { kind: "none" }
    : audioMedia
      ? { kind: "file", path: audioMedia.path, demuxer: await demuxerOf(audioMedia.path) }
      : { kind: "bed", seed };
  const videoPath = join(workDir, OUTPUT_NAMES.video);
  const encoder = startEncoder({
    outputPath: videoPath,
    width: source.width,
    height: source.height,
    fps: timeline.fps,
    frameCount: timeline.frameCount,
    soundtrack,
    signal,
  });

  let firstFrame: Uint8Array | undefined;
  let finalFrame: Uint8Array | undefined;
  try {
    let index = 0;
    for await (const pixels of framesInOrder(source)) {
      if (signal?.aborted) throw abortError(signal);
      if (index === 0) firstFrame = pixels;
      finalFrame = pixels;
      await encoder.write(Buffer.from(pixels.buffer, pixels.byteOffset, pixels.byteLength));
      index++;
      progress(3 + (88 * index) / timeline.frameCount);
    }
    await encoder.finish();
  } catch (error) {
    encoder.kill();
    if (signal?.aborted) throw abortError(signal);
    throw error;
  } finally {
    source.close();
  }
  progress(94);

  const posterPath = join(workDir, OUTPUT_NAMES.poster);
  const lastFramePath = request.returnLastFrame ? join(workDir, OUTPUT_NAMES.lastFrame) : undefined;
  const still = async (pixels: Uint8Array) =>
    sharp(await source.toRgb(pixels), { raw: { width: source.width, height: source.height, channels: 3 } });
  await Promise.all([
    still(firstFrame!).then((image) => image.jpeg({ quality: 85, mozjpeg: true }).toFile(posterPath)),
    lastFramePath
      ? still(finalFrame!).then((image) => image.png({ compressionLevel: 6 }).toFile(lastFramePath))
      : undefined,
  ]);
  if (signal?.aborted) throw abortError(signal);
  progress(97);

  const [info, file] = await Promise.all([probe(videoPath, signal), stat(videoPath)]);
  const video = info.streams.find((stream) => stream.codec_type === "video");
  const result: RenderResult = {
    videoPath,
    posterPath,
    width: video?.width ?? source.width,
    height: video?.height ?? source.height,
    duration: Number(info.format.duration ?? timeline.frameCount / timeline.fps),
    fps: parseRate(video?.avg_frame_rate) || timeline.fps,
    hasAudio: info.streams.some((stream) => stream.codec_type === "audio"),
    bytes: file.size,
  };
  if (lastFramePath) result.lastFramePath = lastFramePath;
  progress(100);
  return result;
}
