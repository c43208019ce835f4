/** Seedance model tables per region (docs/providers.md §1.2), capabilities (§1.3), pixel sizes and timing (§1.13). */

export type Profile = "cn" | "byteplus";
export type Resolution = "480p" | "720p" | "1080p" | "4k";
export type FixedRatio = "16:9" | "4:3" | "1:1" | "3:4" | "9:16" | "21:9";
export type Ratio = FixedRatio | "adaptive";
export type Family =
  | "1.0-lite-t2v"
  | "1.0-lite-i2v"
  | "1.0-pro"
  | "1.0-pro-fast"
  | "1.5-pro"
  | "2.0"
  | "2.0-fast"
  | "2.0-mini"
  | "2.5";

export const RATIOS: readonly Ratio[] = ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9", "adaptive"];
export const FIXED_RATIOS: readonly FixedRatio[] = ["16:9", "4:3", "1:1", "3:4", "9:16", "21:9"];
export const RESOLUTIONS: readonly Resolution[] = ["480p", "720p", "1080p", "4k"];

export interface ModelSpec {
  family: Family;
  ids: Partial<Record<Profile, string>>;
  generation: 1 | 1.5 | 2;
  /** Text-to-video (no image). */
  t2v: boolean;
  firstFrame: boolean;
  firstLast: boolean;
  /** Allowed reference_image count, or null when the mode is not supported. */
  referenceImages: readonly [number, number] | null;
  /** reference_video / reference_audio items and `tools` (the 2.x family). */
  multimodal: boolean;
  /** Audio references may come without any image or video (2.5). */
  audioOnlyInput: boolean;
  resolutions: Partial<Record<Profile, readonly Resolution[]>>;
  defaultResolution: Resolution;
  duration: { min: number; max: number; auto: boolean };
  /** `frames` accepted (25+4n in [29, 289]). */
  frames: boolean;
  audio: boolean;
  draft: boolean;
  flex: boolean;
  cameraFixed: boolean;
  /** Extra image formats (heic/heif on 1.5 pro). */
  heic: boolean;
  pixels: PixelTable;
  /** Typical run time in seconds for a 10 s clip, per resolution. */
  runSecondsPer10s: Partial<Record<Resolution, number>>;
}

type PixelTable = Partial<Record<Resolution, Record<FixedRatio, readonly [number, number]>>>;

const row = (sizes: Array<readonly [number, number]>): Record<FixedRatio, readonly [number, number]> =>
  Object.fromEntries(FIXED_RATIOS.map((r, i) => [r, sizes[i] as readonly [number, number]])) as Record<
    FixedRatio,
    readonly [number, number]
  >;

/** Seedance 1.0 (pro and lite) [C]. */
const PIXELS_1_0: PixelTable = {
  "480p": row([
    [864, 480],
    [736, 544],
    [640, 640],
    [544, 736],
    [480, 864],
    [960, 416],
  ]),
  "720p": row([
    [1248, 704],
    [1120, 832],
    [960, 960],
    [832, 1120],
    [704, 1248],
    [1504, 640],
  ]),
  "1080p": row([
    [1920, 1088],
    [1664, 1248],
    [1440, 1440],
    [1248, 1664],
    [1088, 1920],
    [2176, 928],
  ]),
};

/**
 * Seedance 1.5 pro [S]; also used for 2.x [I]. The 1080p 21:9 cell is missing from the published
 * table: 2520x1080 keeps the 720p cell's 7:3 shape (as the gateway catalog does). 4k is [I].
 */
const PIXELS_1_5: PixelTable = {
  "480p": row([
    [864, 496],
    [752, 560],
    [640, 640],
    [560, 752],
    [496, 864],
    [992, 432],
  ]),
  "720p": row([
    [1280, 720],
    [1112, 834],
    [960, 960],
    [834, 1112],
    [720, 1280],
    [1470, 630],
  ]),
  "1080p": row([
    [1920, 1080],
    [1664, 1248],
    [1440, 1440],
    [1248, 1664],
    [1080, 1920],
    [2520, 1080],
  ]),
  "4k": row([
    [3840, 2160],
    [3328, 2496],
    [2880, 2880],
    [2496, 3328],
    [2160, 3840],
    [5040, 2160],
  ]),
};

const STD: readonly Resolution[] = ["480p", "720p", "1080p"];
const NO_1080: readonly Resolution[] = ["480p", "720p"];
const WITH_4K: readonly Resolution[] = ["480p", "720p", "1080p", "4k"];

const base = {
  multimodal: false,
  audioOnlyInput: false,
  frames: true,
  audio: false,
  draft: false,
  flex: true,
  cameraFixed: true,
  heic: false,
  pixels: PIXELS_1_0,
  generation: 1 as const,
  duration: { min: 2, max: 12, auto: false },
  resolutions: { cn: STD, byteplus: STD },
};

const gen2 = {
  ...base,
  generation: 2 as const,
  t2v: true,
  firstFrame: true,
  firstLast: true,
  referenceImages: [1, 9] as const,
  multimodal: true,
  frames: false,
  audio: true,
  flex: false,
  cameraFixed: false,
  pixels: PIXELS_1_5,
  defaultResolution: "720p" as const,
  // `-1` lets the model choose (an edit must send it): docs/providers.md §1.3.
  duration: { min: 4, max: 15, auto: true },
};

export const MODELS: readonly ModelSpec[] = [
  {
    ...base,
    family: "1.0-lite-t2v",
    ids: { cn: "doubao-seedance-1-0-lite-t2v-250428", byteplus: "seedance-1-0-lite-t2v-250428" },
    t2v: true,
    firstFrame: false,
    firstLast: false,
    referenceImages: null,
    defaultResolution: "720p",
    runSecondsPer10s: { "480p": 40, "720p": 60, "1080p": 90 },
  },
  {
    ...base,
    family: "1.0-lite-i2v",
    ids: { cn: "doubao-seedance-1-0-lite-i2v-250428", byteplus: "seedance-1-0-lite-i2v-250428" },
    t2v: false,
    firstFrame: true,
    firstLast: true,
    referenceImages: [1, 4],
    defaultResolution: "720p",
    runSecondsPer10s: { "480p": 40, "720p": 60, "1080p": 90 },
  },
  {
    ...base,
    family: "1.0-pro",
    ids: { cn: "doubao-seedance-1-0-pro-250528", byteplus: "seedance-1-0-pro-250528" },
    t2v: true,
    firstFrame: true,
    firstLast: true,
    referenceImages: null,
    defaultResolution: "1080p",
    runSecondsPer10s: { "480p": 70, "720p": 85, "1080p": 115 },
  },
  {
    ...base,
    family: "1.0-pro-fast",
    ids: { cn: "doubao-seedance-1-0-pro-fast-251015", byteplus: "seedance-1-0-pro-fast-251015" },
    t2v: true,
    firstFrame: true,
    firstLast: false,
    referenceImages: null,
    defaultResolution: "1080p",
    runSecondsPer10s: { "480p": 50, "720p": 65, "1080p": 100 },
  },
  {
    ...base,
    family: "1.5-pro",
    ids: { cn: "doubao-seedance-1-5-pro-251215", byteplus: "seedance-1-5-pro-251215" },
    generation: 1.5,
    t2v: true,
    firstFrame: true,
    firstLast: true,
    referenceImages: null,
    frames: false,
    audio: true,
    draft: true,
    heic: true,
    pixels: PIXELS_1_5,
    defaultResolution: "720p",
    duration: { min: 4, max: 12, auto: true },
    runSecondsPer10s: { "480p": 80, "720p": 100, "1080p": 150 },
  },
  {
    ...gen2,
    family: "2.0",
    ids: { cn: "doubao-seedance-2-0-260128", byteplus: "dreamina-seedance-2-0-260128" },
    resolutions: { cn: STD, byteplus: WITH_4K },
    runSecondsPer10s: { "480p": 120, "720p": 180, "1080p": 300, "4k": 480 },
  },
  {
    ...gen2,
    family: "2.0-fast",
    ids: { cn: "doubao-seedance-2-0-fast-260128", byteplus: "dreamina-seedance-2-0-fast-260128" },
    resolutions: { cn: NO_1080, byteplus: NO_1080 },
    runSecondsPer10s: { "480p": 90, "720p": 120 },
  },
  {
    ...gen2,
    family: "2.0-mini",
    ids: { cn: "doubao-seedance-2-0-mini-260615", byteplus: "dreamina-seedance-2-0-mini-260615" },
    resolutions: { cn: NO_1080, byteplus: NO_1080 },
    runSecondsPer10s: { "480p": 60, "720p": 90 },
  },
  {
    ...gen2,
    family: "2.5",
    ids: { byteplus: "dreamina-seedance-2-5-260628" },
    audioOnlyInput: true,
    resolutions: { byteplus: WITH_4K },
    duration: { min: 4, max: 30, auto: true },
    runSecondsPer10s: { "480p": 150, "720p": 240, "1080p": 360, "4k": 600 },
  },
];

/** The model behind an id in a profile (undefined for unknown ids and ids of the other region). */
export function findModel(profile: Profile, id: string): ModelSpec | undefined {
  return MODELS.find((m) => m.ids[profile] === id);
}

/** True when the id belongs to the other region's table. */
export function otherRegionModel(profile: Profile, id: string): boolean {
  const other: Profile = profile === "cn" ? "byteplus" : "cn";
  return MODELS.some((m) => m.ids[other] === id);
}

export function pixelSize(
  model: ModelSpec,
  resolution: Resolution,
  ratio: FixedRatio,
): readonly [number, number] {
  const table = model.pixels[resolution] ?? PIXELS_1_5[resolution];
  const size = table?.[ratio];
  if (!size) throw new Error(`no pixel size for ${resolution} ${ratio}`);
  return size;
}

/** The fixed ratio closest (in log space) to a width/height. */
export function nearestRatio(width: number, height: number): FixedRatio {
  const values: Record<FixedRatio, number> = {
    "16:9": 16 / 9,
    "4:3": 4 / 3,
    "1:1": 1,
    "3:4": 3 / 4,
    "9:16": 9 / 16,
    "21:9": 21 / 9,
  };
  const target = Math.log(width / height);
  let best: FixedRatio = "16:9";
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const r of FIXED_RATIOS) {
    const d = Math.abs(Math.log(values[r]) - target);
    if (d < bestDistance) {
      best = r;
      bestDistance = d;
    }
  }
  return best;
}
