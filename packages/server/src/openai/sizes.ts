/**
 * OpenAI's `size` ("1280x720") ↔ our ratio and resolution. A size is accepted when it is exactly a
 * frame the model makes: one cell of the pixel table (domain/pixels.ts) for one of the model's
 * resolutions and fixed ratios. Anything else is refused with the list of the sizes it can make.
 */
import type { CatalogModel } from "../catalog/models.ts";
import { invalid } from "../domain/errors.ts";
import { PIXEL_SIZES } from "../domain/pixels.ts";
import type { Ratio, Resolution } from "../domain/request.ts";

type FixedRatio = Exclude<Ratio, "adaptive">;

export interface SizeChoice {
  ratio: FixedRatio;
  resolution: Resolution;
  width: number;
  height: number;
}

/** Every size the model makes, largest resolution last, in the model's ratio order. */
export function sizesFor(model: Pick<CatalogModel, "resolutions" | "ratios">): SizeChoice[] {
  const out: SizeChoice[] = [];
  for (const resolution of model.resolutions) {
    for (const ratio of model.ratios) {
      if (ratio === "adaptive") continue;
      const [width, height] = PIXEL_SIZES[resolution][ratio];
      out.push({ ratio, resolution, width, height });
    }
  }
  return out;
}

export const sizeText = (s: { width: number; height: number }) => `${s.width}x${s.height}`;

/** The ratio and resolution for an asked size; a 400 on `size` naming the sizes this model makes. */
export function parseSize(
  size: string,
  model: Pick<CatalogModel, "id" | "resolutions" | "ratios">,
): SizeChoice {
  const choices = sizesFor(model);
  const list = choices.map(sizeText).join(", ");
  const match = /^\s*(\d{2,5})\s*[xX×]\s*(\d{2,5})\s*$/.exec(size);
  if (!match) {
    throw invalid(
      "invalid_size",
      `size must be WIDTHxHEIGHT in pixels, e.g. "1280x720"; ${model.id} makes ${list}`,
      "size",
    );
  }
  const width = Number(match[1]);
  const height = Number(match[2]);
  const found = choices.find((c) => c.width === width && c.height === height);
  if (!found) {
    throw invalid(
      "unsupported_size",
      `${model.id} cannot make ${width}x${height}; the sizes it makes are ${list}`,
      "size",
    );
  }
  return found;
}

/** The size a task is made at, when its ratio is fixed; null while an adaptive ratio is unknown. */
export function sizeOf(ratio: Ratio, resolution: Resolution): string | null {
  if (ratio === "adaptive") return null;
  return sizeText({ width: PIXEL_SIZES[resolution][ratio][0], height: PIXEL_SIZES[resolution][ratio][1] });
}
