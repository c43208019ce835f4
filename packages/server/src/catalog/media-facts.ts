/**
 * The submit checks that need the media itself (image sizes, durations, bytes). They run after the
 * media layer has fetched or probed each item, so they are separate from normalizeSubmit, which
 * sees only the body.
 */
import type { MediaKind, NormalizedRequest } from "../domain/request.ts";
import type { CatalogModel } from "./models.ts";
import { SUBMIT_LIMITS } from "./models.ts";
import { urlPath } from "./submit-content.ts";
import { fail } from "./submit-errors.ts";

/** Seconds a media duration may exceed its limit by (containers round durations up). */
export const DURATION_TOLERANCE = 0.1;

/** What the media layer learned about one content entry (after fetching or probing it). */
export interface MediaFact {
  /** The entry's position in metadata.content[] (NormalizedMedia.position). */
  position: number;
  kind: MediaKind;
  width?: number;
  height?: number;
  /** Seconds. */
  duration?: number;
  bytes?: number;
}

/**
 * Enforce what needs the media itself: per-model image constraints (min/max side, aspect, bytes),
 * per-model video/audio limits, and the totals (videos ≤ 15 s, audio ≤ 15 s, or the model's lower
 * limit). Unknown facts (undefined fields) are not checked.
 * @throws ApiError 400 with param `metadata.content[i].<kind>_url.url`.
 * @throws Error when a fact does not match the request (a caller bug).
 */
export function checkMediaFacts(request: NormalizedRequest, facts: MediaFact[], model: CatalogModel): void {
  const sorted = [...facts].sort((a, b) => a.position - b.position);
  const totals: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
  for (const fact of sorted) {
    const media = request.content.find((m) => m.position === fact.position);
    if (!media)
      throw new Error(`checkMediaFacts: the request has no content entry at position ${fact.position}`);
    if (media.kind !== fact.kind) {
      throw new Error(
        `checkMediaFacts: content[${fact.position}] is ${media.kind}, the fact says ${fact.kind}`,
      );
    }
    const param = urlPath(fact.kind, fact.position);
    const where = `metadata.content[${fact.position}]`;
    if (media.role === "source_video") {
      checkSource(fact, request, model, param);
      continue;
    }

    if (fact.kind === "image") {
      checkImage(fact, model, param, where);
      continue;
    }
    const constraint = fact.kind === "video" ? model.inputVideo : model.inputAudio;
    const noun = fact.kind === "video" ? "video" : "audio track";
    if (constraint?.maxBytes != null && fact.bytes !== undefined && fact.bytes > constraint.maxBytes) {
      fail(
        "media_too_large",
        `The ${noun} at ${where} is ${formatBytes(fact.bytes)}; ${model.id} accepts at most ` +
          `${formatBytes(constraint.maxBytes)}.`,
        param,
      );
    }
    if (fact.duration === undefined) continue;
    if (constraint?.maxSeconds != null && fact.duration > constraint.maxSeconds + DURATION_TOLERANCE) {
      fail(
        "media_too_long",
        `The ${noun} at ${where} lasts ${fact.duration.toFixed(2)} s; ${model.id} accepts at most ` +
          `${constraint.maxSeconds} s per ${noun}.`,
        param,
      );
    }
    totals[fact.kind] += fact.duration;
    const modelTotal =
      fact.kind === "video" ? model.references.videoTotalSeconds : model.references.audioTotalSeconds;
    const global = fact.kind === "video" ? SUBMIT_LIMITS.videoTotalSeconds : SUBMIT_LIMITS.audioTotalSeconds;
    const limit = modelTotal > 0 ? Math.min(modelTotal, global) : global;
    if (totals[fact.kind] > limit + DURATION_TOLERANCE) {
      fail(
        "media_too_long",
        `The reference ${fact.kind === "video" ? "videos" : "audio tracks"} last ${totals[fact.kind].toFixed(2)} s ` +
          `in all (counting up to ${where}); the limit is ${limit} s in total.`,
        param,
      );
    }
  }
}

function checkImage(fact: MediaFact, model: CatalogModel, param: string, where: string): void {
  const rules = model.inputImage;
  if (!rules) return;
  const { width, height } = fact;
  if (width !== undefined && height !== undefined && width > 0 && height > 0) {
    const short = Math.min(width, height);
    const long = Math.max(width, height);
    if (short < rules.minSide) {
      fail(
        "image_too_small",
        `The image at ${where} is ${width}x${height} px; ${model.id} needs each side to be at least ` +
          `${rules.minSide} px.`,
        param,
      );
    }
    if (rules.maxSide !== null && long > rules.maxSide) {
      fail(
        "image_too_large",
        `The image at ${where} is ${width}x${height} px; ${model.id} accepts at most ${rules.maxSide} px per side.`,
        param,
      );
    }
    if (long / short > rules.maxAspect + 1e-9) {
      fail(
        "image_aspect_ratio",
        `The image at ${where} is ${width}x${height} px (aspect ${(width / height).toFixed(2)}); ${model.id} ` +
          `needs an aspect ratio between 1:${rules.maxAspect} and ${rules.maxAspect}:1.`,
        param,
      );
    }
  }
  if (fact.bytes !== undefined && fact.bytes > rules.maxBytes) {
    fail(
      "media_too_large",
      `The image at ${where} is ${formatBytes(fact.bytes)}; ${model.id} accepts images up to ` +
        `${formatBytes(rules.maxBytes)}.`,
      param,
    );
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${bytes} bytes`;
}

/** An edit's or extension's source: within the operation's longest source (the seconds it adds are checked at submit). */
function checkSource(fact: MediaFact, request: NormalizedRequest, model: CatalogModel, param: string): void {
  const operation = request.operation && model.operations[request.operation];
  if (!operation || fact.duration === undefined) return;
  if (fact.duration > operation.maxSourceSeconds + DURATION_TOLERANCE) {
    fail(
      "media_too_long",
      `The source video lasts ${fact.duration.toFixed(2)} s; ${model.id} can ${request.operation} videos of at most ` +
        `${operation.maxSourceSeconds} s.`,
      param,
    );
  }
}
