/**
 * What a catalog model is: the enumerations shared by the catalog, the submit validator and the
 * API schemas, the submit limits, and `CatalogModelSchema`, which validates every catalog entry
 * (the default catalog in models.ts, and operators' models from configuration). models.ts
 * re-exports all of it.
 */
import { z } from "zod";
import type { Fit, GenerationMode, MediaKind, Ratio, Resolution } from "../domain/request.ts";

// ---------------------------------------------------------------------------------------------
// Enumerations shared by the catalog, the submit validator and the API schemas.

export const RESOLUTIONS = ["480p", "720p", "1080p"] as const satisfies readonly Resolution[];
export const RATIOS = [
  "21:9",
  "16:9",
  "4:3",
  "1:1",
  "3:4",
  "9:16",
  "adaptive",
] as const satisfies readonly Ratio[];
export const MODES = [
  "text",
  "first_frame",
  "first_last_frame",
  "reference",
] as const satisfies readonly GenerationMode[];
/** `metadata.fit`: how a first frame is conformed to an asked ratio (the first is the default). */
export const FITS = ["crop", "pad"] as const satisfies readonly Fit[];
export const MEDIA_KINDS = ["image", "video", "audio"] as const satisfies readonly MediaKind[];
export const AUDIO_POLICIES = ["always", "never", "optional"] as const;
/** A model family names the line a model belongs to (hints offer the same family first); free text. */
export const ModelFamilySchema = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/);

export type AudioPolicy = (typeof AUDIO_POLICIES)[number];
export type ModelFamily = string;

/** Contract-wide limits (docs/api.md §3), whatever the model. */
export const SUBMIT_LIMITS = {
  // The gateway's ceilings: the most any model may declare (Seedance 2.5's 30 images, 10 videos and
  // 10 audio tracks, 50 entries and 30 s of each in all). Each model's own limits are its
  // `references` (the contract's 9 images, 3 videos, 3 audio tracks, 12 entries, 15 s on Seedance 2.0).
  images: 30,
  videos: 10,
  audios: 10,
  entries: 50,
  videoTotalSeconds: 30,
  audioTotalSeconds: 30,
  promptMaxLength: 5000,
  seedMin: -1,
  seedMax: 4294967295,
} as const;

export const MB = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// The catalog model.

const PositiveInt = z.int().min(1);
const NonNegativeInt = z.int().min(0);

const MediaConstraint = z.object({
  /** Longest accepted clip, in seconds. */
  maxSeconds: z.number().positive().nullable(),
  /** Largest accepted file, in bytes. */
  maxBytes: PositiveInt.nullable(),
});

/** What an `edit` or `extend` accepts on a model that can do it (absent: it cannot). */
const EditOperation = z.object({
  /** Longest source video, in seconds. */
  maxSourceSeconds: z.number().positive(),
});
const ExtendOperation = z.object({
  /** Seconds that may be added (whole seconds). */
  seconds: z.object({ min: PositiveInt, max: PositiveInt, default: PositiveInt }),
  /** Longest source video, in seconds. */
  maxSourceSeconds: z.number().positive(),
});

export const CatalogModelSchema = z
  .object({
    /** The public model id clients send as `model`. */
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/),
    name: z.string().min(1),
    /** One or two sentences for people choosing a model. */
    description: z.string().min(1),
    /** The model line it belongs to, e.g. `seedance-2.0` (hints offer the same family first). */
    family: ModelFamilySchema,
    /** Unix seconds. */
    created: NonNegativeInt,
    modes: z.array(z.enum(MODES)).min(1),
    /** Whole seconds. */
    seconds: z.object({ min: PositiveInt, max: PositiveInt, default: PositiveInt }),
    resolutions: z.array(z.enum(RESOLUTIONS)).min(1),
    defaultResolution: z.enum(RESOLUTIONS),
    ratios: z.array(z.enum(RATIOS)).min(1),
    /** Used when the request has no media. */
    defaultRatio: z.enum(RATIOS),
    /** Used when content[] holds media (`adaptive` where the provider follows the input). */
    defaultRatioWithMedia: z.enum(RATIOS),
    /**
     * The provider's output follows the first frame and takes no ratio (HappyHorse i2v): the gateway
     * honours an asked ratio by conforming the first frame before it goes upstream (or to the local
     * engine), centre-cropped or letterboxed per `metadata.fit`, within `inputImage`. Absent: false.
     */
    firstFrameFit: z.boolean().optional(),
    audio: z.object({
      mode: z.enum(AUDIO_POLICIES),
      /** Effective `generate_audio` when the request does not say: true for always, false for never. */
      default: z.boolean(),
    }),
    /** Reference-mode limits; all zero when the model has no reference mode. */
    references: z.object({
      images: NonNegativeInt,
      videos: NonNegativeInt,
      audios: NonNegativeInt,
      videoTotalSeconds: z.number().min(0),
      audioTotalSeconds: z.number().min(0),
      /** Media items a request may carry in all (the contract's 12 unless the model says more). */
      total: PositiveInt.max(SUBMIT_LIMITS.entries).default(12),
      /** Reference audio may come without any image or video (Seedance 2.5). */
      audioOnly: z.boolean().default(false),
    }),
    /** What the provider enforces on every input image; null when it documents nothing. */
    inputImage: z
      .object({
        minSide: PositiveInt,
        maxSide: PositiveInt.nullable(),
        /** Longer side over shorter side, e.g. 2.5 for "between 1:2.5 and 2.5:1". */
        maxAspect: z.number().min(1),
        maxBytes: PositiveInt,
      })
      .nullable(),
    inputVideo: MediaConstraint.nullable(),
    inputAudio: MediaConstraint.nullable(),
    /** Vendor parameters forwarded to the provider; the others are accepted and dropped. */
    passThrough: z.object({
      seed: z.boolean(),
      watermark: z.boolean(),
      cameraFixed: z.boolean(),
      returnLastFrame: z.boolean(),
      /** Upstream scheduling priority 0–9 (Ark). */
      priority: z.boolean().default(false),
    }),
    /** How many `keyframe` images a request may carry (xAI 1.5: 4); 0 when the model takes none. */
    keyframes: NonNegativeInt.default(0),
    /** Operations beyond generation; each absent (or null) when the model cannot do it. */
    operations: z
      .object({
        edit: EditOperation.nullable().default(null),
        extend: ExtendOperation.nullable().default(null),
      })
      .default({ edit: null, extend: null }),
    /** Largest accepted `seed` (`-1` always means "random"). */
    seedMax: z.int().min(0).max(SUBMIT_LIMITS.seedMax),
    /** What the provider does when `watermark` is not sent (documentation for clients). */
    watermarkDefault: z.boolean(),
    promptMaxLength: z.int().min(1).max(SUBMIT_LIMITS.promptMaxLength),
  })
  .superRefine((m, ctx) => {
    const issue = (message: string, path: string[]) => ctx.addIssue({ code: "custom", message, path });
    if (m.seconds.min > m.seconds.max) issue("seconds.min is above seconds.max", ["seconds"]);
    if (m.seconds.default < m.seconds.min || m.seconds.default > m.seconds.max) {
      issue("seconds.default is outside [min, max]", ["seconds", "default"]);
    }
    if (!m.resolutions.includes(m.defaultResolution)) {
      issue("defaultResolution is not in resolutions", ["defaultResolution"]);
    }
    if (!m.ratios.includes(m.defaultRatio)) issue("defaultRatio is not in ratios", ["defaultRatio"]);
    if (!m.ratios.includes(m.defaultRatioWithMedia)) {
      issue("defaultRatioWithMedia is not in ratios", ["defaultRatioWithMedia"]);
    }
    if (m.firstFrameFit && !m.modes.includes("first_frame")) {
      issue("firstFrameFit needs the first_frame mode", ["firstFrameFit"]);
    }
    if (m.audio.mode === "always" && !m.audio.default) issue("audio always on needs default true", ["audio"]);
    if (m.audio.mode === "never" && m.audio.default) issue("audio never on needs default false", ["audio"]);
    const r = m.references;
    const hasReference = m.modes.includes("reference");
    if (hasReference && r.images + r.videos === 0) {
      issue("reference mode needs at least one image or video reference", ["references"]);
    }
    if (!hasReference && r.images + r.videos + r.audios > 0) {
      issue("references must be zero without reference mode", ["references"]);
    }
    if (
      r.images > SUBMIT_LIMITS.images ||
      r.videos > SUBMIT_LIMITS.videos ||
      r.audios > SUBMIT_LIMITS.audios
    ) {
      issue(
        `references exceed the gateway's ceilings (${SUBMIT_LIMITS.images} images, ${SUBMIT_LIMITS.videos} videos, ${SUBMIT_LIMITS.audios} audio tracks)`,
        ["references"],
      );
    }
  });

/** One catalog entry. Field names are camelCase here; `toApiModel` produces the API's snake_case. */
export type CatalogModel = z.infer<typeof CatalogModelSchema>;
/** A catalog entry as written, before defaults (`keyframes`, `operations`, `passThrough.priority`). */
export type CatalogModelInput = z.input<typeof CatalogModelSchema>;

/** Validate operator-supplied models (e.g. from a config file); throws a ZodError naming the bad field. */
export function parseCatalogModels(raw: unknown): CatalogModel[] {
  return z.array(CatalogModelSchema).parse(raw);
}
