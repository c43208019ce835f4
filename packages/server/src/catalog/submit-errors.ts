/**
 * The errors a submit can fail with, and the wording helpers their messages share.
 *
 * Every check in the submit-* modules and media-facts.ts throws through `fail`, so the codes below
 * are the whole list a client can see from a submit.
 */
import type { ErrorCode } from "../domain/error-codes.ts";
import { invalid } from "../domain/errors.ts";
import type { Catalog, CatalogModel } from "./models.ts";

/** Every `code` normalizeSubmit / checkMediaFacts can throw (all 400 except model_not_found, 404). */
export const SUBMIT_ERROR_CODES = [
  "invalid_body",
  "missing_parameter",
  "invalid_type",
  "invalid_value",
  "model_not_found",
  "misplaced_parameter",
  "conflicting_parameters",
  "prompt_too_long",
  "unsupported_by_model",
  "out_of_range",
  "invalid_url",
  "invalid_role",
  "too_many_media",
  "mixed_roles",
  "duplicate_role",
  "missing_first_frame",
  "audio_needs_visual",
  "invalid_citation",
  "image_too_small",
  "image_too_large",
  "image_aspect_ratio",
  "media_too_large",
  "media_too_long",
  "unsupported_operation",
  "invalid_keyframe",
] as const satisfies readonly ErrorCode[];
export type SubmitErrorCode = (typeof SUBMIT_ERROR_CODES)[number];

export function fail(code: SubmitErrorCode, message: string, param: string | null): never {
  throw invalid(code, message, param);
}

export const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A short description of a JSON value for messages: `"abc"`, `5.5`, `an array`, `an object`. */
export function show(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

/** Comma-separated, for "one of …" messages. */
export const list = (values: readonly string[]): string => values.join(", ");

/** Models that can satisfy a need, same family first, for "use … instead" hints. */
export function alternatives(
  catalog: Catalog,
  model: CatalogModel,
  ok: (m: CatalogModel) => boolean,
): string {
  const fits = catalog.list().filter((m) => m.id !== model.id && ok(m));
  const same = fits.filter((m) => m.family === model.family);
  const pick = (same.length > 0 ? same : fits).slice(0, 4).map((m) => m.id);
  return pick.length > 0 ? pick.join(", ") : "";
}
