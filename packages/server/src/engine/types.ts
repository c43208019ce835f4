import type { NormalizedMedia, NormalizedRequest } from "../domain/request.ts";

/** A media entry of the request, already materialized as a local file the engine can read. */
export interface LocalMedia extends NormalizedMedia {
  path: string;
}

export interface RenderInput {
  request: NormalizedRequest;
  media: LocalMedia[];
  /** An existing, empty, private directory; the engine writes its outputs (and scratch files) here. */
  workDir: string;
  /** Called with 0..100 as rendering advances; monotonic. */
  onProgress?: (percent: number) => void;
  signal?: AbortSignal;
}

export interface RenderResult {
  videoPath: string;
  /** A JPEG poster thumbnail (first meaningful frame). */
  posterPath: string;
  /** PNG of the final frame, only when request.returnLastFrame. */
  lastFramePath?: string;
  width: number;
  height: number;
  /** Seconds, as ffprobe reports the container duration. */
  duration: number;
  fps: number;
  hasAudio: boolean;
  bytes: number;
}
