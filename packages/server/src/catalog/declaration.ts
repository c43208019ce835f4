/**
 * A model declaration: how an operator writes a catalog model (the built-in data file, the CLI's
 * `models add`, `PUT /v1/admin/models/{id}`). It is the model object of `/v1/models` in the same
 * snake_case shape, minus what the gateway derives (`object`, `owned_by`, `prompt.required`,
 * providers, current prices), with optional blocks defaulted — so what `GET` shows is what `PUT`
 * takes. `declarationToModel` turns it into the internal `CatalogModel` and re-checks every rule
 * `CatalogModelSchema` holds, reporting a broken rule by the declaration's own path.
 */
import { z } from "zod";
import { invalid } from "../domain/errors.ts";
import {
  AUDIO_POLICIES,
  type CatalogModel,
  CatalogModelSchema,
  MODES,
  ModelFamilySchema,
  RATIOS,
  RESOLUTIONS,
  SUBMIT_LIMITS,
} from "./model-schema.ts";

const Int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.int().min(min).max(max);
const Resolution = z.enum(RESOLUTIONS);
const Ratio = z.enum(RATIOS);
const Supported = z.strictObject({ supported: z.boolean() });
const Seconds = z.strictObject({ min: Int(1, 600), max: Int(1, 600), default: Int(1, 600) });
const MediaLimit = z.strictObject({
  max_seconds: z.number().positive().max(3600).nullable(),
  max_bytes: Int(1).nullable(),
});
const Money = z.string().regex(/^\d{1,9}(\.\d{1,6})?$/, 'a decimal amount as a string, e.g. "0.07"');
const ByResolution = <T extends z.ZodType>(value: T) => z.partialRecord(Resolution, value);

/** Price lines, as `PUT /v1/admin/prices/{model}` takes them (a new price version when they change). */
export const DeclaredPricing = z.strictObject({
  per_second: ByResolution(Money),
  per_clip: Money.nullable().optional(),
  per_million_tokens: Money.nullable().optional(),
  tokens_per_second: ByResolution(Int(0)).optional(),
});

const NO_REFERENCES = {
  images: 0,
  videos: 0,
  audios: 0,
  video_total_seconds: 0,
  audio_total_seconds: 0,
};
const UNSUPPORTED = { supported: false };

export const ModelDeclarationSchema = z
  .strictObject({
    id: z
      .string()
      .regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, "lower-case letters, digits, '.', '_' and '-', at most 100"),
    name: z.string().min(1).max(200),
    description: z.string().min(1).max(2000),
    family: ModelFamilySchema,
    /** Unix seconds; defaults to when the model is first declared. */
    created: Int(0).optional(),
    modes: z.array(z.enum(MODES)).min(1),
    seconds: Seconds,
    resolutions: z.strictObject({ values: z.array(Resolution).min(1), default: Resolution }),
    ratios: z.strictObject({
      values: z.array(Ratio).min(1),
      default: Ratio,
      /** Used when content[] holds media; defaults to `default`. */
      default_with_media: Ratio.optional(),
    }),
    audio: z.strictObject({ mode: z.enum(AUDIO_POLICIES), default: z.boolean() }),
    references: z
      .strictObject({
        images: Int(0, SUBMIT_LIMITS.images),
        videos: Int(0, SUBMIT_LIMITS.videos),
        audios: Int(0, SUBMIT_LIMITS.audios),
        video_total_seconds: z.number().min(0).max(SUBMIT_LIMITS.videoTotalSeconds),
        audio_total_seconds: z.number().min(0).max(SUBMIT_LIMITS.audioTotalSeconds),
        /** Media items in all (default 12, the contract's). */
        total: Int(1, SUBMIT_LIMITS.entries).optional(),
        /** Reference audio may come without any image or video. */
        audio_only: z.boolean().optional(),
      })
      .default(NO_REFERENCES),
    input_image: z
      .strictObject({
        min_side: Int(1, 100_000),
        max_side: Int(1, 100_000).nullable(),
        max_aspect: z.number().min(1).max(100),
        max_bytes: Int(1),
      })
      .nullable()
      .default(null),
    input_video: MediaLimit.nullable().default(null),
    input_audio: MediaLimit.nullable().default(null),
    parameters: z
      .strictObject({
        seed: z
          .strictObject({ supported: z.boolean(), max: Int(0, SUBMIT_LIMITS.seedMax).optional() })
          .default(UNSUPPORTED),
        watermark: z
          .strictObject({ supported: z.boolean(), default: z.boolean().optional() })
          .default(UNSUPPORTED),
        camera_fixed: Supported.default(UNSUPPORTED),
        return_last_frame: Supported.default(UNSUPPORTED),
        fit: Supported.default(UNSUPPORTED),
        priority: Supported.default(UNSUPPORTED),
      })
      .default({
        seed: UNSUPPORTED,
        watermark: UNSUPPORTED,
        camera_fixed: UNSUPPORTED,
        return_last_frame: UNSUPPORTED,
        fit: UNSUPPORTED,
        priority: UNSUPPORTED,
      }),
    keyframes: z.strictObject({ max: Int(0, 16) }).default({ max: 0 }),
    operations: z
      .strictObject({
        edit: z
          .strictObject({ max_source_seconds: z.number().positive().max(3600) })
          .nullable()
          .default(null),
        extend: z
          .strictObject({ seconds: Seconds, max_source_seconds: z.number().positive().max(3600) })
          .nullable()
          .default(null),
      })
      .default({ edit: null, extend: null }),
    prompt: z
      .strictObject({ max_length: Int(1, SUBMIT_LIMITS.promptMaxLength) })
      .default({ max_length: SUBMIT_LIMITS.promptMaxLength }),
    /** Price lines; absent leaves the model's price as it is (a built-in keeps its default). */
    pricing: DeclaredPricing.optional(),
  })
  .meta({ title: "ModelDeclaration" });

/** A declaration as written (optional blocks may be left out). */
export type ModelDeclarationInput = z.input<typeof ModelDeclarationSchema>;
/** A declaration with its defaults filled in. */
export type ModelDeclaration = z.output<typeof ModelDeclarationSchema>;

/** Where a rule of `CatalogModelSchema` lives in a declaration (camelCase path → snake_case path). */
const DECLARATION_PATHS: Record<string, string> = {
  defaultResolution: "resolutions.default",
  defaultRatio: "ratios.default",
  defaultRatioWithMedia: "ratios.default_with_media",
  firstFrameFit: "parameters.fit",
  passThrough: "parameters",
  inputImage: "input_image",
  inputVideo: "input_video",
  inputAudio: "input_audio",
  promptMaxLength: "prompt.max_length",
  seedMax: "parameters.seed.max",
};

/**
 * The catalog model a (parsed) declaration describes. Throws 400 `invalid_value` naming the
 * declaration's field when a cross-field rule fails (a default outside its list, and so on).
 */
export function declarationToModel(d: ModelDeclaration, now: number, pathPrefix = ""): CatalogModel {
  const p = d.parameters;
  const candidate = {
    id: d.id,
    name: d.name,
    description: d.description,
    family: d.family,
    created: d.created ?? now,
    modes: d.modes,
    seconds: d.seconds,
    resolutions: d.resolutions.values,
    defaultResolution: d.resolutions.default,
    ratios: d.ratios.values,
    defaultRatio: d.ratios.default,
    defaultRatioWithMedia: d.ratios.default_with_media ?? d.ratios.default,
    ...(p.fit.supported ? { firstFrameFit: true } : {}),
    audio: d.audio,
    references: {
      images: d.references.images,
      videos: d.references.videos,
      audios: d.references.audios,
      videoTotalSeconds: d.references.video_total_seconds,
      audioTotalSeconds: d.references.audio_total_seconds,
      total: d.references.total ?? 12,
      audioOnly: d.references.audio_only ?? false,
    },
    inputImage: d.input_image && {
      minSide: d.input_image.min_side,
      maxSide: d.input_image.max_side,
      maxAspect: d.input_image.max_aspect,
      maxBytes: d.input_image.max_bytes,
    },
    inputVideo: d.input_video && { maxSeconds: d.input_video.max_seconds, maxBytes: d.input_video.max_bytes },
    inputAudio: d.input_audio && { maxSeconds: d.input_audio.max_seconds, maxBytes: d.input_audio.max_bytes },
    passThrough: {
      seed: p.seed.supported,
      watermark: p.watermark.supported,
      cameraFixed: p.camera_fixed.supported,
      returnLastFrame: p.return_last_frame.supported,
      priority: p.priority.supported,
    },
    seedMax: p.seed.max ?? SUBMIT_LIMITS.seedMax,
    watermarkDefault: p.watermark.default ?? false,
    keyframes: d.keyframes.max,
    operations: {
      edit: d.operations.edit && { maxSourceSeconds: d.operations.edit.max_source_seconds },
      extend: d.operations.extend && {
        seconds: d.operations.extend.seconds,
        maxSourceSeconds: d.operations.extend.max_source_seconds,
      },
    },
    promptMaxLength: d.prompt.max_length,
  };
  const parsed = CatalogModelSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const [head, ...rest] = issue.path.map(String);
  const path = [DECLARATION_PATHS[head ?? ""] ?? head, ...rest].filter(Boolean).join(".");
  // The rule's own words name camelCase fields: say them as the declaration does.
  let message = issue.message;
  for (const [from, to] of Object.entries(DECLARATION_PATHS)) message = message.replaceAll(from, to);
  throw invalid(
    "invalid_value",
    message.includes(path) ? message : `${path}: ${message}`,
    `${pathPrefix}${path}`,
  );
}

/** The declaration of a catalog model (what `GET /v1/admin/models/{id}` shows and `PUT` takes back). */
export function modelToDeclaration(m: CatalogModel): ModelDeclaration {
  const media = (c: CatalogModel["inputVideo"]) => c && { max_seconds: c.maxSeconds, max_bytes: c.maxBytes };
  return {
    id: m.id,
    name: m.name,
    description: m.description,
    family: m.family,
    created: m.created,
    modes: [...m.modes],
    seconds: { ...m.seconds },
    resolutions: { values: [...m.resolutions], default: m.defaultResolution },
    ratios: { values: [...m.ratios], default: m.defaultRatio, default_with_media: m.defaultRatioWithMedia },
    audio: { ...m.audio },
    references: {
      images: m.references.images,
      videos: m.references.videos,
      audios: m.references.audios,
      video_total_seconds: m.references.videoTotalSeconds,
      audio_total_seconds: m.references.audioTotalSeconds,
      total: m.references.total,
      audio_only: m.references.audioOnly,
    },
    input_image: m.inputImage && {
      min_side: m.inputImage.minSide,
      max_side: m.inputImage.maxSide,
      max_aspect: m.inputImage.maxAspect,
      max_bytes: m.inputImage.maxBytes,
    },
    input_video: media(m.inputVideo),
    input_audio: media(m.inputAudio),
    parameters: {
      seed: m.passThrough.seed ? { supported: true, max: m.seedMax } : UNSUPPORTED,
      watermark: m.passThrough.watermark ? { supported: true, default: m.watermarkDefault } : UNSUPPORTED,
      camera_fixed: { supported: m.passThrough.cameraFixed },
      return_last_frame: { supported: m.passThrough.returnLastFrame },
      fit: { supported: m.firstFrameFit === true },
      priority: { supported: m.passThrough.priority },
    },
    keyframes: { max: m.keyframes },
    operations: {
      edit: m.operations.edit && { max_source_seconds: m.operations.edit.maxSourceSeconds },
      extend: m.operations.extend && {
        seconds: { ...m.operations.extend.seconds },
        max_source_seconds: m.operations.extend.maxSourceSeconds,
      },
    },
    prompt: { max_length: m.promptMaxLength },
  };
}
