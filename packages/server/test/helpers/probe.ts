import { parseRate, probe } from "../../src/media/ffmpeg.ts";

export interface ClipFacts {
  width: number;
  height: number;
  duration: number;
  fps: number;
  videoCodec: string;
  audioCodec: string | null;
  pixFmt: string;
}

export async function clipFacts(path: string): Promise<ClipFacts> {
  const result = await probe(path);
  const video = result.streams.find((s) => s.codec_type === "video");
  const audio = result.streams.find((s) => s.codec_type === "audio");
  if (!video) throw new Error(`${path} has no video stream`);
  return {
    width: video.width ?? 0,
    height: video.height ?? 0,
    duration: Number(result.format.duration),
    fps: parseRate(video.avg_frame_rate),
    videoCodec: video.codec_name ?? "",
    audioCodec: audio?.codec_name ?? null,
    pixFmt: video.pix_fmt ?? "",
  };
}
