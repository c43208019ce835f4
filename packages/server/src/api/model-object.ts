import { type CatalogModel, FITS, SUBMIT_LIMITS } from "../catalog/models.ts";
import type { ModelObject } from "./schemas.ts";

// The /v1/models entry (docs/api.md §6): a catalog model as the API presents it.

/** Fields the caller adds to a model entry, e.g. the price from billing. Spread last. */
export interface ApiModelExtra {
  pricing?: Record<string, unknown>;
  [key: string]: unknown;
}

export function toApiModel(model: CatalogModel, extra: ApiModelExtra = {}): ModelObject {
  const img = model.inputImage;
  const media = (c: CatalogModel["inputVideo"]) =>
    c ? { max_seconds: c.maxSeconds, max_bytes: c.maxBytes } : null;
  return {
    id: model.id,
    object: "model",
    created: model.created,
    owned_by: "vidrelay",
    name: model.name,
    description: model.description,
    family: model.family,
    modes: [...model.modes],
    seconds: { ...model.seconds },
    resolutions: { values: [...model.resolutions], default: model.defaultResolution },
    ratios: {
      values: [...model.ratios],
      default: model.defaultRatio,
      default_with_media: model.defaultRatioWithMedia,
    },
    audio: { mode: model.audio.mode, default: model.audio.default },
    references: {
      images: model.references.images,
      videos: model.references.videos,
      audios: model.references.audios,
      video_total_seconds: model.references.videoTotalSeconds,
      audio_total_seconds: model.references.audioTotalSeconds,
      total: model.references.total,
      audio_only: model.references.audioOnly,
    },
    input_image: img
      ? { min_side: img.minSide, max_side: img.maxSide, max_aspect: img.maxAspect, max_bytes: img.maxBytes }
      : null,
    input_video: media(model.inputVideo),
    input_audio: media(model.inputAudio),
    parameters: {
      seed: model.passThrough.seed
        ? { supported: true, min: SUBMIT_LIMITS.seedMin, max: model.seedMax }
        : { supported: false },
      watermark: model.passThrough.watermark
        ? { supported: true, default: model.watermarkDefault }
        : { supported: false },
      camera_fixed: model.passThrough.cameraFixed
        ? { supported: true, default: false }
        : { supported: false },
      return_last_frame: model.passThrough.returnLastFrame
        ? { supported: true, default: false }
        : { supported: false },
      priority: { supported: model.passThrough.priority },
      fit: model.firstFrameFit
        ? { supported: true, values: [...FITS], default: FITS[0] }
        : { supported: false },
    },
    keyframes: { max: model.keyframes },
    operations: {
      edit: model.operations.edit && { max_source_seconds: model.operations.edit.maxSourceSeconds },
      extend: model.operations.extend && {
        seconds: { ...model.operations.extend.seconds },
        max_source_seconds: model.operations.extend.maxSourceSeconds,
      },
    },
    prompt: { max_length: model.promptMaxLength, required: promptRequirement(model) },
    ...extra,
  };
}

/** "always": text-only model; "without_media": required when content[] is empty; "never": optional. */
function promptRequirement(model: CatalogModel): "always" | "without_media" | "never" {
  if (!model.modes.includes("text")) return "never";
  return model.modes.length === 1 ? "always" : "without_media";
}
