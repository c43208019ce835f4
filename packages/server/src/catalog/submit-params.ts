/**
 * The submit's scalar parameters: metadata itself, prompt, seconds, ratio, resolution, audio, seed,
 * the vendor booleans and callback_url, each checked against the model.
 *
 * Decisions where the contract is silent:
 * - Top-level `duration` / `ratio` / `resolution` (compatibility) beside `seconds` /
 *   `metadata.ratio` / `metadata.resolution`: equal values are fine, different ones are a 400
 *   `conflicting_parameters` naming the compatibility field. `seconds` "5", "5.0" and 5 are equal.
 * - Unknown fields inside `metadata` are ignored, like unknown top-level fields.
 * - `seed` must be a JSON integer in [-1, 4294967295] (-1 = random); a model with a smaller range
 *   (HappyHorse: 2147483647) lowers the maximum.
 * - Resolutions are lower case only ("720P" is refused, with a hint).
 * - `metadata.fit` ("crop" | "pad") matters only on a model that conforms its first frame
 *   (`firstFrameFit`, HappyHorse i2v). Elsewhere "crop" is accepted and dropped (the other image
 *   models crop to an asked ratio themselves, or have no image), and "pad" is refused: a client
 *   asking for letterboxing must not silently get a cropped picture.
 */
import type { Fit } from "../domain/request.ts";
import type { Catalog, CatalogModel } from "./models.ts";
import { FITS, SUBMIT_LIMITS } from "./models.ts";
import { alternatives, fail, list, show } from "./submit-errors.ts";
import { isObject, type Json, parseUrl, present } from "./submit-json.ts";

const MAX_CALLBACK_URL_LENGTH = 2048;

export function readMetadata(value: unknown): Json {
  if (!present(value)) return {};
  if (isObject(value)) return value;
  if (typeof value === "string") {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      fail(
        "invalid_value",
        "metadata is a string but not valid JSON; send an object (or a JSON-encoded object).",
        "metadata",
      );
    }
    if (isObject(parsed)) return parsed;
    fail(
      "invalid_value",
      `metadata is a JSON string holding ${show(parsed)}; it must hold an object.`,
      "metadata",
    );
  }
  fail(
    "invalid_type",
    `metadata must be an object (or a JSON string holding one); got ${show(value)}.`,
    "metadata",
  );
}

/** The prompt's type and length; whether it is required depends on the media (the caller decides). */
export function readPrompt(value: unknown, model: CatalogModel): string {
  if (!present(value)) return "";
  if (typeof value !== "string") {
    fail("invalid_type", `prompt must be a string; got ${show(value)}.`, "prompt");
  }
  const length = value.length; // UTF-16 units, as the SubmitBody schema counts
  if (length > model.promptMaxLength) {
    fail(
      "prompt_too_long",
      `prompt is ${length} characters; ${model.id} accepts at most ${model.promptMaxLength}.`,
      "prompt",
    );
  }
  return value;
}

/** Whole seconds from a string ("5", "5.0") or a number; null for anything else non-integral. */
function parseWholeSeconds(value: unknown, param: string): number {
  let n: number;
  if (typeof value === "number") {
    n = value;
  } else if (typeof value === "string") {
    const text = value.trim();
    n = /^[+-]?\d+(\.\d+)?$/.test(text) ? Number(text) : Number.NaN;
  } else {
    fail("invalid_type", `${param} must be a string such as "5" (or a number); got ${show(value)}.`, param);
  }
  if (!Number.isInteger(n)) {
    fail(
      "invalid_value",
      `${param} must be a whole number of seconds, such as "5"; got ${show(value)}.`,
      param,
    );
  }
  return n;
}

export function readSeconds(body: Json, model: CatalogModel): number {
  const fromSeconds = present(body.seconds) ? parseWholeSeconds(body.seconds, "seconds") : undefined;
  const fromDuration = present(body.duration) ? parseWholeSeconds(body.duration, "duration") : undefined;
  if (fromSeconds !== undefined && fromDuration !== undefined && fromSeconds !== fromDuration) {
    fail(
      "conflicting_parameters",
      `seconds (${fromSeconds}) and duration (${fromDuration}) disagree; send only seconds.`,
      "duration",
    );
  }
  const value = fromSeconds ?? fromDuration;
  if (value === undefined) return model.seconds.default;
  const { min, max } = model.seconds;
  if (value < min || value > max) {
    fail(
      "unsupported_by_model",
      `${fromSeconds !== undefined ? "seconds" : "duration"} must be a whole number from ${min} to ${max} ` +
        `for ${model.id}; got ${value}.`,
      fromSeconds !== undefined ? "seconds" : "duration",
    );
  }
  return value;
}

/** metadata.<name> or top-level <name> (compatibility), checked against the model's list. */
export function readChoice<T extends string>(
  body: Json,
  metadata: Json,
  name: "ratio" | "resolution",
  known: readonly T[],
  allowed: readonly T[],
  model: CatalogModel,
): T | undefined {
  const read = (value: unknown, param: string): T | undefined => {
    if (!present(value)) return undefined;
    if (typeof value !== "string") {
      fail("invalid_type", `${param} must be a string, one of ${list(allowed)}; got ${show(value)}.`, param);
    }
    if ((known as readonly string[]).includes(value)) return value as T;
    const hint = (known as readonly string[]).includes(value.toLowerCase())
      ? ` (lower case: "${value.toLowerCase()}")`
      : "";
    fail(
      "invalid_value",
      `${param} must be one of ${list(allowed)} for ${model.id}${hint}; got ${show(value)}.`,
      param,
    );
  };
  const inMetadata = read(metadata[name], `metadata.${name}`);
  const atTop = read(body[name], name);
  if (inMetadata !== undefined && atTop !== undefined && inMetadata !== atTop) {
    fail(
      "conflicting_parameters",
      `metadata.${name} ("${inMetadata}") and the top-level ${name} ("${atTop}") disagree; send only metadata.${name}.`,
      name,
    );
  }
  const value = inMetadata ?? atTop;
  if (value !== undefined && !allowed.includes(value)) {
    fail(
      "unsupported_by_model",
      `${model.id} does not support ${name} "${value}"; ` +
        (allowed.length === 1
          ? `it only takes "${allowed[0]}"${allowed[0] === "adaptive" ? " (the output follows the input image)" : ""}: omit ${name} or send that.`
          : `use one of ${list(allowed)}.`),
      inMetadata !== undefined ? `metadata.${name}` : name,
    );
  }
  return value;
}

export function readGenerateAudio(value: unknown, model: CatalogModel, catalog: Catalog): boolean {
  const param = "metadata.generate_audio";
  if (!present(value)) return model.audio.default;
  if (typeof value !== "boolean") {
    fail("invalid_type", `generate_audio must be true or false; got ${show(value)}.`, param);
  }
  const mode = model.audio.mode;
  if ((mode === "always" && !value) || (mode === "never" && value)) {
    const alt = alternatives(catalog, model, (m) => m.audio.mode !== mode);
    const [does, other] =
      mode === "always"
        ? ["always generates audio", "without sound"]
        : ["generates silent video", "with audio"];
    fail(
      "unsupported_by_model",
      `${model.id} ${does}, so generate_audio cannot be ${value}. Omit it, or pick a model ` +
        `${other}${alt ? `: ${alt}` : ""}.`,
      param,
    );
  }
  return value;
}

/** `metadata.fit`: how a first frame is conformed to an asked ratio (see the decisions above). */
export function readFit(value: unknown, model: CatalogModel, catalog: Catalog): Fit | undefined {
  const param = "metadata.fit";
  if (!present(value)) return undefined;
  if (typeof value !== "string") {
    fail("invalid_type", `fit must be a string, one of ${list(FITS)}; got ${show(value)}.`, param);
  }
  if (!(FITS as readonly string[]).includes(value)) {
    const hint = (FITS as readonly string[]).includes(value.toLowerCase())
      ? ` (lower case: "${value.toLowerCase()}")`
      : "";
    fail(
      "invalid_value",
      `fit must be "crop" (centre crop, the default) or "pad" (letterbox with black bars)${hint}; got ${show(value)}.`,
      param,
    );
  }
  if (value === "pad" && !model.firstFrameFit) {
    const alt = alternatives(catalog, model, (m) => m.firstFrameFit === true);
    fail(
      "unsupported_by_model",
      `${model.id} cannot letterbox its input (fit "pad"): it crops to the asked ratio itself, or takes no ` +
        `image. Omit fit${alt ? `, or use a model that pads: ${alt}` : ""}.`,
      param,
    );
  }
  return value as Fit;
}

export function readSeed(value: unknown, model: CatalogModel): number | undefined {
  const param = "metadata.seed";
  if (!present(value)) return undefined;
  const max = model.passThrough.seed ? model.seedMax : SUBMIT_LIMITS.seedMax;
  if (typeof value !== "number") {
    fail(
      "invalid_type",
      `seed must be an integer (a JSON number) from -1 to ${max}; got ${show(value)}.`,
      param,
    );
  }
  if (!Number.isInteger(value)) fail("invalid_value", `seed must be an integer; got ${show(value)}.`, param);
  if (value < SUBMIT_LIMITS.seedMin || value > max) {
    fail("out_of_range", `seed must be from -1 (random) to ${max} for ${model.id}; got ${value}.`, param);
  }
  return value;
}

/** `metadata.deadline_seconds`: 60 s to 72 h (docs/api.md §3.4). */
export const DEADLINE_SECONDS = { min: 60, max: 72 * 3600 } as const;

export function readDeadline(value: unknown): number | undefined {
  const param = "metadata.deadline_seconds";
  if (!present(value)) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    fail("invalid_type", `deadline_seconds must be a whole number of seconds; got ${show(value)}.`, param);
  }
  if (value < DEADLINE_SECONDS.min || value > DEADLINE_SECONDS.max) {
    fail(
      "out_of_range",
      `deadline_seconds must be from ${DEADLINE_SECONDS.min} (1 minute) to ${DEADLINE_SECONDS.max} (72 hours); got ${value}.`,
      param,
    );
  }
  return value;
}

export function readBoolean(value: unknown, name: string): boolean | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== "boolean") {
    fail("invalid_type", `${name} must be true or false; got ${show(value)}.`, `metadata.${name}`);
  }
  return value;
}

export function readCallbackUrl(value: unknown): string | null {
  const param = "metadata.callback_url";
  if (!present(value)) return null;
  if (typeof value !== "string") {
    fail("invalid_type", `callback_url must be an absolute http(s) URL string; got ${show(value)}.`, param);
  }
  const text = value.trim();
  if (text.length > MAX_CALLBACK_URL_LENGTH) {
    fail("invalid_url", `callback_url is longer than ${MAX_CALLBACK_URL_LENGTH} characters.`, param);
  }
  const url = parseUrl(text);
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.hostname === "") {
    fail(
      "invalid_url",
      `callback_url must be an absolute http:// or https:// URL, e.g. "https://example.com/hooks/video"; ` +
        `got ${show(value)}.`,
      param,
    );
  }
  return text;
}
