import type { Ratio, Resolution } from "./request.ts";

type FixedRatio = Exclude<Ratio, "adaptive">;

type Size = readonly [number, number];
type Wide = { "16:9": Size; "4:3": Size; "1:1": Size; "21:9": Size };

/** Every ratio of a resolution from its landscape and square sizes: 3:4 is 4:3 turned, 9:16 is 16:9 turned. */
function withPortrait(s: Wide): Record<FixedRatio, Size> {
  const turned = ([width, height]: Size): Size => [height, width];
  const { "16:9": wide, "4:3": four, "1:1": square, "21:9": ultra } = s;
  return {
    "16:9": wide,
    "4:3": four,
    "1:1": square,
    "3:4": turned(four),
    "9:16": turned(wide),
    "21:9": ultra,
  };
}

/**
 * Output frame sizes per resolution and ratio: the Seedance 1.5 pro table (docs/providers.md §1.3).
 * The 1080p 21:9 cell is missing from the published table; 2520x1080 keeps the 7:3 shape of the
 * 720p cell (1470x630). Every size is even, as H.264 4:2:0 requires.
 */
export const PIXEL_SIZES: Record<Resolution, Record<FixedRatio, Size>> = {
  "480p": withPortrait({ "16:9": [864, 496], "4:3": [752, 560], "1:1": [640, 640], "21:9": [992, 432] }),
  "720p": withPortrait({ "16:9": [1280, 720], "4:3": [1112, 834], "1:1": [960, 960], "21:9": [1470, 630] }),
  "1080p": withPortrait({
    "16:9": [1920, 1080],
    "4:3": [1664, 1248],
    "1:1": [1440, 1440],
    "21:9": [2520, 1080],
  }),
};

const RATIO_VALUES: Array<[FixedRatio, number]> = [
  ["21:9", 21 / 9],
  ["16:9", 16 / 9],
  ["4:3", 4 / 3],
  ["1:1", 1],
  ["3:4", 3 / 4],
  ["9:16", 9 / 16],
];

/** The fixed ratio closest (in log space) to an image's shape: what `adaptive` resolves to. */
export function nearestRatio(width: number, height: number): FixedRatio {
  const target = Math.log(width / height);
  let best: FixedRatio = "16:9";
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const [ratio, value] of RATIO_VALUES) {
    const distance = Math.abs(Math.log(value) - target);
    if (distance < bestDistance) {
      best = ratio;
      bestDistance = distance;
    }
  }
  return best;
}

/** Resolve `adaptive` against the first image (or 16:9 when there is none) and look up the frame size. */
export function outputSize(
  resolution: Resolution,
  ratio: Ratio,
  firstImage?: { width: number; height: number },
): { width: number; height: number; ratio: FixedRatio } {
  const fixed: FixedRatio =
    ratio === "adaptive" ? (firstImage ? nearestRatio(firstImage.width, firstImage.height) : "16:9") : ratio;
  const [width, height] = PIXEL_SIZES[resolution][fixed];
  return { width, height, ratio: fixed };
}
