/**
 * The model catalog, as data: which models the gateway offers, what each accepts, and its defaults.
 *
 * Every value here mirrors the provider's own behaviour (docs/providers.md), so that a request is refused
 * (or defaulted) the same way whether the model is served upstream or by the local engine. The
 * catalog is validated by `CatalogModelSchema`, so operators can load extra models from
 * configuration (`parseCatalogModels`) and build a `Catalog` from them.
 *
 * Decisions where the contract is silent (see also validate.ts):
 * - Ratio defaults follow Seedance: `16:9` for a text-only request, `adaptive` (follow the first
 *   image / first media item) as soon as content[] holds media. A model whose ratio list has no
 *   `adaptive` uses its text default in both cases.
 * - `references` are the reference-mode limits (0 everywhere on a model without reference mode);
 *   frame modes always take one (first_frame) or two (first_last_frame) images.
 * - `inputImage` sizes are inclusive bounds. Seedance documents "strictly between 300 and 6000 px"
 *   and "strictly between 0.4 and 2.5"; we keep the round numbers.
 * - Vendor parameters a model does not support (`passThrough` false) are type-checked, then dropped:
 *   the contract says they are "passed to providers that support them".
 */
import { notFound } from "../domain/errors.ts";
import type { Ratio, Resolution } from "../domain/request.ts";
import { type CatalogModel, type CatalogModelInput, CatalogModelSchema, MB, SUBMIT_LIMITS } from "./model-schema.ts";
import { didYouMean, nearestIds } from "./suggest.ts";

export * from "./model-schema.ts";

// ---------------------------------------------------------------------------------------------
// The default catalog (docs/api.md §7).

const utc = (date: string): number => Math.floor(Date.parse(`${date}T00:00:00Z`) / 1000);

const SEEDANCE_RATIOS: Ratio[] = ["21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "adaptive"];

/** docs/providers.md §1.7: aspect strictly within (0.4, 2.5), sides within (300, 6000) px, < 30 MB. */
const SEEDANCE_IMAGE = { minSide: 300, maxSide: 6000, maxAspect: 2.5, maxBytes: 30 * MB };
/** docs/providers.md §2.1: each side ≥ 300 px, between 1:2.5 and 2.5:1, ≤ 10 MB. */
const HAPPYHORSE_IMAGE = { minSide: 300, maxSide: null, maxAspect: 2.5, maxBytes: 10 * MB };

const NO_REFERENCES = { images: 0, videos: 0, audios: 0, videoTotalSeconds: 0, audioTotalSeconds: 0 };

function seedance15(id: string, withAudio: boolean): CatalogModelInput {
  return {
    id,
    name: withAudio ? "Seedance 1.5 pro (with audio)" : "Seedance 1.5 pro (silent)",
    description: withAudio
      ? "ByteDance Seedance 1.5 pro with a voiced, synchronised soundtrack. Text-to-video, image-to-video " +
        "(first frame) and first+last-frame transitions, 4-12 s, up to 1080p."
      : "ByteDance Seedance 1.5 pro without sound, at half the price of the voiced variant. Text-to-video, " +
        "image-to-video (first frame) and first+last-frame transitions, 4-12 s, up to 1080p.",
    family: "seedance-1.5",
    created: utc("2025-12-15"),
    modes: ["text", "first_frame", "first_last_frame"],
    seconds: { min: 4, max: 12, default: 5 },
    resolutions: ["480p", "720p", "1080p"],
    defaultResolution: "720p",
    ratios: [...SEEDANCE_RATIOS],
    defaultRatio: "16:9",
    defaultRatioWithMedia: "adaptive",
    audio: withAudio ? { mode: "always", default: true } : { mode: "never", default: false },
    references: { ...NO_REFERENCES },
    inputImage: { ...SEEDANCE_IMAGE },
    inputVideo: null,
    inputAudio: null,
    passThrough: { seed: true, watermark: true, cameraFixed: true, returnLastFrame: true, priority: true },
    seedMax: SUBMIT_LIMITS.seedMax,
    watermarkDefault: false,
    promptMaxLength: SUBMIT_LIMITS.promptMaxLength,
  };
}

function seedance20(resolution: Resolution): CatalogModelInput {
  const top = resolution === "1080p";
  return {
    id: `doubao-seedance-2-0-${resolution}`,
    name: `Seedance 2.0 (${resolution})`,
    description:
      `ByteDance Seedance 2.0 at ${resolution}` +
      (top ? ", for the highest fidelity and multi-image fusion" : "") +
      ". Text, first frame, first+last frame, or up to 9 reference images, 3 reference videos and 3 " +
      "reference audio tracks cited as @image1, @video1, @audio1 in the prompt; optional soundtrack; 4-15 s.",
    family: "seedance-2.0",
    created: utc("2026-01-28"),
    modes: ["text", "first_frame", "first_last_frame", "reference"],
    seconds: { min: 4, max: 15, default: 5 },
    resolutions: [resolution],
    defaultResolution: resolution,
    ratios: [...SEEDANCE_RATIOS],
    defaultRatio: "16:9",
    defaultRatioWithMedia: "adaptive",
    audio: { mode: "optional", default: true },
    references: { images: 9, videos: 3, audios: 3, videoTotalSeconds: 15, audioTotalSeconds: 15 },
    inputImage: { ...SEEDANCE_IMAGE },
    // docs/providers.md §1.7 [S]: videos 2-15 s, ≤ 50 MB; audio 2-15 s, ≤ 15 MB. The 2 s minimum is not
    // enforced here (secondary source; short test clips stay usable with the local engine).
    inputVideo: { maxSeconds: 15, maxBytes: 50 * MB },
    inputAudio: { maxSeconds: 15, maxBytes: 15 * MB },
    // camera_fixed is not supported on 2.0 (docs/providers.md §1.3).
    passThrough: { seed: true, watermark: true, cameraFixed: false, returnLastFrame: true, priority: true },
    seedMax: SUBMIT_LIMITS.seedMax,
    watermarkDefault: false,
    promptMaxLength: SUBMIT_LIMITS.promptMaxLength,
  };
}

const HAPPYHORSE_COMMON = {
  family: "happyhorse-1.0",
  created: utc("2026-04-01"),
  seconds: { min: 3, max: 15, default: 5 },
  // DashScope's default is 1080P (docs/providers.md §2.1).
  resolutions: ["720p", "1080p"],
  defaultResolution: "1080p",
  audio: { mode: "always", default: true },
  references: { ...NO_REFERENCES },
  inputVideo: null,
  inputAudio: null,
  passThrough: { seed: true, watermark: true, cameraFixed: false, returnLastFrame: false },
  // DashScope: seed in [0, 2147483647]; our -1 ("random") is sent as no seed.
  seedMax: 2147483647,
  // DashScope adds a "Happy Horse" mark unless watermark is false.
  watermarkDefault: true,
  promptMaxLength: SUBMIT_LIMITS.promptMaxLength,
} satisfies Partial<CatalogModelInput>;

const HAPPYHORSE_I2V: CatalogModelInput = {
  ...HAPPYHORSE_COMMON,
  id: "happyhorse-1.0-i2v",
  name: "HappyHorse 1.0 image-to-video",
  description:
    "Alibaba HappyHorse 1.0, a dedicated image-to-video model: animates exactly one first-frame image, " +
    "keeping its shape (or cropped or letterboxed to an asked ratio), with synchronised sound; 3-15 s at " +
    "720p or 1080p.",
  modes: ["first_frame"],
  // The output follows the image and DashScope refuses `ratio` on i2v, so an asked ratio is honoured
  // by conforming the first frame before it goes upstream (metadata.fit); adaptive sends it as it is.
  ratios: ["16:9", "9:16", "1:1", "4:3", "3:4", "adaptive"],
  defaultRatio: "adaptive",
  defaultRatioWithMedia: "adaptive",
  firstFrameFit: true,
  inputImage: { ...HAPPYHORSE_IMAGE },
};

const HAPPYHORSE_T2V: CatalogModelInput = {
  ...HAPPYHORSE_COMMON,
  id: "happyhorse-1.0-t2v",
  name: "HappyHorse 1.0 text-to-video",
  description:
    "Alibaba HappyHorse 1.0 text-to-video with synchronised sound; 3-15 s at 720p or 1080p, " +
    "five aspect ratios.",
  modes: ["text"],
  ratios: ["16:9", "9:16", "1:1", "4:3", "3:4"],
  defaultRatio: "16:9",
  defaultRatioWithMedia: "16:9",
  inputImage: null,
};

const GROK_IMAGINE: CatalogModelInput = {
  id: "grok-imagine-video",
  name: "Grok Imagine video",
  description:
    "xAI Grok Imagine video: text-to-video or image-to-video from a first frame, with sound; " +
    "1-15 s at 480p or 720p.",
  family: "grok-imagine",
  created: utc("2025-10-01"),
  modes: ["text", "first_frame"],
  // Comfy's router defaults to 8 s (docs/providers.md §3).
  seconds: { min: 1, max: 15, default: 8 },
  resolutions: ["480p", "720p"],
  defaultResolution: "720p",
  // xAI also has 3:2 and 2:3, which the contract's ratio list does not carry.
  ratios: ["16:9", "4:3", "1:1", "3:4", "9:16", "adaptive"],
  defaultRatio: "16:9",
  defaultRatioWithMedia: "adaptive",
  audio: { mode: "always", default: true },
  references: { ...NO_REFERENCES },
  inputImage: null,
  inputVideo: null,
  inputAudio: null,
  // xAI's create request documents no seed (docs/providers.md §3): a seed is accepted, as for every
  // model, but not sent, and the model object says it is not supported.
  passThrough: { seed: false, watermark: false, cameraFixed: false, returnLastFrame: false },
  seedMax: SUBMIT_LIMITS.seedMax,
  watermarkDefault: false,
  promptMaxLength: SUBMIT_LIMITS.promptMaxLength,
};

/** The default catalog, in the order `/v1/models` lists it. */
export const DEFAULT_CATALOG: readonly CatalogModel[] = Object.freeze([
  seedance15("seedance-1-5-pro-with-audio", true),
  seedance15("seedance-1-5-pro-no-audio", false),
  seedance20("1080p"),
  seedance20("720p"),
  seedance20("480p"),
  HAPPYHORSE_I2V,
  HAPPYHORSE_T2V,
  GROK_IMAGINE,
].map((m) => CatalogModelSchema.parse(m)));

// ---------------------------------------------------------------------------------------------
// The catalog object.

export class Catalog {
  readonly #models: Map<string, CatalogModel>;

  /** Validates every model (throws on a bad entry or a duplicate id). */
  constructor(models: readonly CatalogModel[] = DEFAULT_CATALOG) {
    this.#models = new Map();
    for (const raw of models) {
      const model = CatalogModelSchema.parse(raw);
      if (this.#models.has(model.id)) throw new Error(`catalog: duplicate model id "${model.id}"`);
      this.#models.set(model.id, model);
    }
  }

  get(id: string): CatalogModel | undefined {
    return this.#models.get(id);
  }

  /**
   * Like `get`, but an unknown id is the contract's 404 `model_not_found` (param `model`), whose
   * message names the closest ids when the id looks like a typo of one (`suggest.ts`).
   */
  require(id: string): CatalogModel {
    const model = this.#models.get(id);
    if (!model) {
      throw notFound(
        "model_not_found",
        `The model "${truncate(id, 100)}" does not exist.${didYouMean(nearestIds(id, this.ids()))} ` +
          "GET /v1/models lists the models you can use.",
        "model",
      );
    }
    return model;
  }

  has(id: string): boolean {
    return this.#models.has(id);
  }

  list(): CatalogModel[] {
    return [...this.#models.values()];
  }

  ids(): string[] {
    return [...this.#models.keys()];
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

// ---------------------------------------------------------------------------------------------
