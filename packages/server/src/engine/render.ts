/**
 * The built-in local render engine: camera moves over the request's own pictures (or a title card
 * of the prompt), encoded to an mp4 with ffmpeg. Frames are rendered with sharp on libuv's thread
 * pool and streamed to ffmpeg's stdin, a few at a time, so memory stays bounded at any size.
 */
import { stat } from "node:fs/promises";
import { join } from "node:path";
import sharp from "sharp";
import { outputSize } from "../catalog/pixels.ts";
import { parseRate, probe } from "../media/ffmpeg.ts";
import { crossDissolve } from "./blend.ts";
import { type Soundtrack, startEncoder } from "./encoder.ts";
import { bufferPlate, displaySize, loadImagePlate, type Plate, plateSize, renderView } from "./plate.ts";
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
import { decodeVideoFrames, type VideoFrames } from "./video-source.ts";

export const FPS = 24;
/** Frames rendered ahead of the encoder: enough to keep both cores busy, few enough to bound memory. */
const LOOKAHEAD = 3;

export const OUTPUT_NAMES = { video: "clip.mp4", poster: "poster.jpg", lastFrame: "last-frame.png" } as const;

interface Frame {
  width: number;
  height: number;
}

/** A shot ready to draw: its plan plus the decoded picture it moves over. */
type ShotRenderer = (frameIndex: number) => Promise<Buffer>;

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
  closers: Array<() => void>,
): Promise<ShotRenderer> {
  const { width, height } = frame;
  const aspect = width / height;
  const seconds = shotSeconds(shot, timeline.fps);
  if (shot.source.kind === "video") {
    const media = input.media[shot.source.mediaIndex]!;
    const frames: VideoFrames = decodeVideoFrames(media.path, {
      width,
      height,
      fps: timeline.fps,
      frameCount: shot.lastFrame - shot.firstFrame + 1,
      signal: input.signal,
    });
    closers.push(() => frames.close());
    // Frames are requested in increasing order (possibly several at once): serialize the reads.
    let chain: Promise<Buffer> = Promise.resolve(Buffer.alloc(0));
    return () => {
      chain = chain.then(() => frames.next());
      return chain;
    };
  }
  const [zoomMin, zoomMax] = zoomRange(shot.direction, seconds, aspect);
  const size = plateSize(width, height, zoomMin, zoomMax);
  let plate: Plate;
  if (shot.source.kind === "image") {
    plate = await loadImagePlate(input.media[shot.source.mediaIndex]!.path, size.width, size.height);
  } else {
    const card = await renderTitleCard(input.request.prompt, size.width, size.height, seed);
    plate = await bufferPlate(card, size.width, size.height);
  }
  return (frameIndex) =>
    renderView(plate, poseAt(shot.direction, seconds, shotProgress(shot, frameIndex), aspect), width, height);
}

/** Weight of the later shot during a dissolve: eased, so the blend starts and ends gently. */
function dissolveWeight(incoming: PlannedShot, outgoing: PlannedShot, frameIndex: number): number {
  const overlap = outgoing.lastFrame - incoming.firstFrame + 1;
  const u = (frameIndex - incoming.firstFrame + 1) / (overlap + 1);
  return (1 - Math.cos(Math.PI * Math.min(1, Math.max(0, u)))) / 2;
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

  const lead = leadImage(input.media);
  const size = outputSize(request.resolution, request.ratio, lead ? await displaySize(lead.path) : undefined);
  const frame: Frame = { width: size.width, height: size.height };
  const seed = effectiveSeed(request);
  const timeline = planTimeline(request, input.media, FPS);

  const closers: Array<() => void> = [];
  const renderers = await Promise.all(
    timeline.shots.map((shot) => prepareShot(shot, input, frame, timeline, seed, closers)),
  );
  if (signal?.aborted) {
    for (const close of closers) close();
    throw abortError(signal);
  }
  progress(3);

  const audioMedia =
    timeline.audioMediaIndex === undefined ? undefined : input.media[timeline.audioMediaIndex];
  const soundtrack: Soundtrack = !request.generateAudio
    ? { kind: "none" }
    : audioMedia
      ? { kind: "file", path: audioMedia.path }
      : { kind: "bed", seed };
  const videoPath = join(workDir, OUTPUT_NAMES.video);
  const encoder = startEncoder({
    outputPath: videoPath,
    width: frame.width,
    height: frame.height,
    fps: timeline.fps,
    frameCount: timeline.frameCount,
    soundtrack,
    signal,
  });

  const renderFrame = async (index: number): Promise<Buffer> => {
    const active = timeline.shots
      .map((shot, k) => ({ shot, render: renderers[k]! }))
      .filter(({ shot }) => shot.firstFrame <= index && index <= shot.lastFrame);
    const [outgoing, incoming] = active;
    if (!outgoing) throw new Error(`no shot covers frame ${index}`);
    if (!incoming) return outgoing.render(index);
    const [from, to] = await Promise.all([outgoing.render(index), incoming.render(index)]);
    return crossDissolve(from, to, dissolveWeight(incoming.shot, outgoing.shot, index));
  };

  let firstFrame: Buffer | undefined;
  let finalFrame: Buffer | undefined;
  try {
    const inFlight: Array<Promise<Buffer>> = [];
    let next = 0;
    for (let index = 0; index < timeline.frameCount; index++) {
      while (next < timeline.frameCount && next < index + LOOKAHEAD) {
        const pending = renderFrame(next++);
        // Rejections are observed when the frame's turn comes; until then, do not report them as unhandled.
        pending.catch(() => {});
        inFlight.push(pending);
      }
      const pixels = await inFlight.shift()!;
      if (signal?.aborted) throw abortError(signal);
      if (index === 0) firstFrame = pixels;
      finalFrame = pixels;
      await encoder.write(pixels);
      progress(3 + (90 * (index + 1)) / timeline.frameCount);
    }
    await encoder.finish();
  } catch (error) {
    encoder.kill();
    if (signal?.aborted) throw abortError(signal);
    throw error;
  } finally {
    for (const close of closers) close();
  }
  progress(94);

  const raw = { raw: { width: frame.width, height: frame.height, channels: 3 as const } };
  const posterPath = join(workDir, OUTPUT_NAMES.poster);
  const lastFramePath = request.returnLastFrame ? join(workDir, OUTPUT_NAMES.lastFrame) : undefined;
  await Promise.all([
    sharp(firstFrame!, raw).jpeg({ quality: 85, mozjpeg: true }).toFile(posterPath),
    lastFramePath ? sharp(finalFrame!, raw).png({ compressionLevel: 6 }).toFile(lastFramePath) : undefined,
  ]);
  if (signal?.aborted) throw abortError(signal);
  progress(97);

  const [info, file] = await Promise.all([probe(videoPath, signal), stat(videoPath)]);
  const video = info.streams.find((stream) => stream.codec_type === "video");
  const result: RenderResult = {
    videoPath,
    posterPath,
    width: video?.width ?? frame.width,
    height: video?.height ?? frame.height,
    duration: Number(info.format.duration ?? timeline.frameCount / timeline.fps),
    fps: parseRate(video?.avg_frame_rate) || timeline.fps,
    hasAudio: info.streams.some((stream) => stream.codec_type === "audio"),
    bytes: file.size,
  };
  if (lastFramePath) result.lastFramePath = lastFramePath;
  progress(100);
  return result;
}
