/**
 * Validation and normalization of `POST /v1/video/generations` bodies (spec §3) against the catalog.
 *
 * `normalizeSubmit` turns a parsed JSON body into the `NormalizedRequest` every provider receives,
 * or throws the contract's `ApiError` (400, or 404 for an unknown model) with `param` as a JSON path
 * into the request. `checkMediaFacts` runs the checks that need the media itself (durations, image
 * sizes, bytes), once the media layer has fetched or probed it.
 *
 * Decisions where the contract is silent:
 * - `null` is the same as an absent field, everywhere except `model`.
 * - Top-level `duration` / `ratio` / `resolution` (compatibility) beside `seconds` /
 *   `metadata.ratio` / `metadata.resolution`: equal values are fine, different ones are a 400
 *   `conflicting_parameters` naming the compatibility field. `seconds` "5", "5.0" and 5 are equal.
 * - Unknown fields inside `metadata` are ignored, like unknown top-level fields.
 * - An image without `role` (Seedance rules, upstreams.md §1.3): `reference_image` when the request
 *   has a video, an audio track or an explicit reference role; otherwise `first_frame` when it is
 *   the only image; otherwise (several images, frame roles) the role is required (400). Video and
 *   audio roles default to `reference_video` / `reference_audio`.
 * - Citations match `@image<n>` / `@video<n>` / `@audio<n>` case-insensitively (`@Image1` works) and
 *   are reported lower case (`image1`); an `@` right after a letter, digit or dot (an e-mail address)
 *   is not a citation.
 * - Vendor parameters the model does not support are type-checked, then dropped (not forwarded,
 *   not echoed). The echo carries ratio, resolution and generate_audio always (effective values)
 *   and seed / watermark / camera_fixed / return_last_frame only when sent and supported.
 * - `seed` must be a JSON integer in [-1, 4294967295] (-1 = random); a model with a smaller range
 *   (HappyHorse: 2147483647) lowers the maximum.
 * - Resolutions are lower case only ("720P" is refused, with a hint).
 * - Media durations may exceed a limit by `DURATION_TOLERANCE` seconds (container rounding).
 */
import { invalid } from "../domain/errors.ts";
import type {
  ContentRole,
  GenerationMode,
  MediaKind,
  NormalizedMedia,
  NormalizedRequest,
  Ratio,
  Resolution,
} from "../domain/request.ts";
import type { Catalog, CatalogModel } from "./models.ts";
import { MEDIA_KINDS, RATIOS, RESOLUTIONS, SUBMIT_LIMITS } from "./models.ts";

/** The task object's `metadata` (spec §4): the request's vendor parameters after defaults. */
export type MetadataEcho = {
  ratio: Ratio;
  resolution: Resolution;
  generate_audio: boolean;
  seed?: number;
  watermark?: boolean;
  camera_fixed?: boolean;
  return_last_frame?: boolean;
};

export interface NormalizedSubmit {
  request: NormalizedRequest;
  /** `metadata.callback_url`, syntactically checked (absolute http/https); the SSRF check is elsewhere. */
  callbackUrl: string | null;
  metadataEcho: MetadataEcho;
}

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
] as const;
export type SubmitErrorCode = (typeof SUBMIT_ERROR_CODES)[number];

/** Seconds a media duration may exceed its limit by (containers round durations up). */
export const DURATION_TOLERANCE = 0.1;

const MAX_HTTP_URL_LENGTH = 8192;
const MAX_CALLBACK_URL_LENGTH = 2048;

const ROLES_BY_KIND: Record<MediaKind, readonly ContentRole[]> = {
  image: ["first_frame", "last_frame", "reference_image"],
  video: ["reference_video"],
  audio: ["reference_audio"],
};
const FRAME_ROLES: readonly ContentRole[] = ["first_frame", "last_frame"];
const KIND_LIMIT: Record<MediaKind, number> = {
  image: SUBMIT_LIMITS.images,
  video: SUBMIT_LIMITS.videos,
  audio: SUBMIT_LIMITS.audios,
};
const KIND_NOUNS: Record<MediaKind, string> = { image: "images", video: "videos", audio: "audio tracks" };
const articleFor = (kind: MediaKind): string => (kind === "video" ? "a" : "an");
const REFERENCE_LIMIT_KEY = { image: "images", video: "videos", audio: "audios" } as const;

type Json = Record<string, unknown>;

function fail(code: SubmitErrorCode, message: string, param: string | null): never {
  throw invalid(code, message, param);
}

const isObject = (value: unknown): value is Json =>
  typeof value === "object" && value !== null && !Array.isArray(value);
const present = (value: unknown): boolean => value !== undefined && value !== null;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? "" : "s"}`;

/** A short description of a JSON value for messages: `"abc"`, `5.5`, `an array`, `an object`. */
function show(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return String(value);
}

/** Comma-separated, for "one of …" messages. */
const list = (values: readonly string[]): string => values.join(", ");

// ---------------------------------------------------------------------------------------------

interface Entry {
  kind: MediaKind;
  position: number;
  url: string;
  /** The role the client sent, if any. */
  explicitRole: ContentRole | null;
  role: ContentRole;
  index: number;
}

const entryPath = (e: { position: number }): string => `metadata.content[${e.position}]`;
const rolePath = (e: Entry): string => (e.explicitRole ? `${entryPath(e)}.role` : entryPath(e));
const urlPath = (kind: MediaKind, position: number): string =>
  `metadata.content[${position}].${kind}_url.url`;

/**
 * Validate a submit body against the catalog and normalize it.
 * @throws ApiError 404 `model_not_found` (param `model`) or 400 `invalid_request_error`.
 */
export function normalizeSubmit(body: unknown, catalog: Catalog): NormalizedSubmit {
  if (!isObject(body)) {
    fail(
      "invalid_body",
      `The request body must be a JSON object such as {"model": "…", "prompt": "…"}; got ${show(body)}.`,
      null,
    );
  }

  // model
  if (!present(body.model)) {
    fail("missing_parameter", "model is required. GET /v1/models lists the models you can use.", "model");
  }
  if (typeof body.model !== "string" || body.model.trim() === "") {
    fail(
      "invalid_type",
      `model must be a model id string, e.g. "${catalog.ids()[0]}"; got ${show(body.model)}.`,
      "model",
    );
  }
  const model = catalog.require(body.model);

  if (present(body.callback_url)) {
    fail(
      "misplaced_parameter",
      "callback_url belongs inside metadata: send it as metadata.callback_url, not at the top level.",
      "callback_url",
    );
  }

  const metadata = readMetadata(body.metadata);

  // prompt (type and length; whether it is required depends on the media)
  let prompt = "";
  if (present(body.prompt)) {
    if (typeof body.prompt !== "string") {
      fail("invalid_type", `prompt must be a string; got ${show(body.prompt)}.`, "prompt");
    }
    prompt = body.prompt;
    const length = prompt.length; // UTF-16 units, as the SubmitBody schema counts
    if (length > model.promptMaxLength) {
      fail(
        "prompt_too_long",
        `prompt is ${length} characters; ${model.id} accepts at most ${model.promptMaxLength}.`,
        "prompt",
      );
    }
  }

  const seconds = readSeconds(body, model);
  const ratioInput = readChoice(body, metadata, "ratio", RATIOS, model.ratios, model);
  const resolution =
    readChoice(body, metadata, "resolution", RESOLUTIONS, model.resolutions, model) ??
    model.defaultResolution;
  const generateAudio = readGenerateAudio(metadata.generate_audio, model, catalog);

  const seed = readSeed(metadata.seed, model);
  const watermark = readBoolean(metadata.watermark, "watermark");
  const cameraFixed = readBoolean(metadata.camera_fixed, "camera_fixed");
  const returnLastFrame = readBoolean(metadata.return_last_frame, "return_last_frame");
  const callbackUrl = readCallbackUrl(metadata.callback_url);

  const entries = readContent(metadata.content);
  checkRoleRules(entries);
  const citations = readCitations(prompt, entries);
  const mode = applyModel(entries, model, catalog);

  if (mode === "text" && prompt.trim() === "") {
    fail(
      "missing_parameter",
      "prompt is required when metadata.content has no media (text-to-video). Describe the video to generate.",
      "prompt",
    );
  }

  const ratio = ratioInput ?? (mode === "text" ? model.defaultRatio : model.defaultRatioWithMedia);
  const pass = model.passThrough;
  const content: NormalizedMedia[] = entries.map((e) => ({
    kind: e.kind,
    role: e.role,
    index: e.index,
    position: e.position,
    url: e.url,
  }));

  const request: NormalizedRequest = {
    model: model.id,
    mode,
    prompt,
    seconds,
    ratio,
    resolution,
    generateAudio,
    content,
    citations,
  };
  const metadataEcho: MetadataEcho = { ratio, resolution, generate_audio: generateAudio };
  if (seed !== undefined && pass.seed) {
    request.seed = seed;
    metadataEcho.seed = seed;
  }
  if (watermark !== undefined && pass.watermark) {
    request.watermark = watermark;
    metadataEcho.watermark = watermark;
  }
  if (cameraFixed !== undefined && pass.cameraFixed) {
    request.cameraFixed = cameraFixed;
    metadataEcho.camera_fixed = cameraFixed;
  }
  if (returnLastFrame !== undefined && pass.returnLastFrame) {
    request.returnLastFrame = returnLastFrame;
    metadataEcho.return_last_frame = returnLastFrame;
  }
  return { request, callbackUrl, metadataEcho };
}

// ---------------------------------------------------------------------------------------------
// Scalar fields

function readMetadata(value: unknown): Json {
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

function readSeconds(body: Json, model: CatalogModel): number {
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
function readChoice<T extends string>(
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

/** Models that can satisfy a need, same family first, for "use … instead" hints. */
function alternatives(catalog: Catalog, model: CatalogModel, ok: (m: CatalogModel) => boolean): string {
  const fits = catalog.list().filter((m) => m.id !== model.id && ok(m));
  const same = fits.filter((m) => m.family === model.family);
  const pick = (same.length > 0 ? same : fits).slice(0, 4).map((m) => m.id);
  return pick.length > 0 ? pick.join(", ") : "";
}

function readGenerateAudio(value: unknown, model: CatalogModel, catalog: Catalog): boolean {
  const param = "metadata.generate_audio";
  if (!present(value)) return model.audio.default;
  if (typeof value !== "boolean") {
    fail("invalid_type", `generate_audio must be true or false; got ${show(value)}.`, param);
  }
  if (model.audio.mode === "always" && !value) {
    const alt = alternatives(catalog, model, (m) => m.audio.mode !== "always");
    fail(
      "unsupported_by_model",
      `${model.id} always generates audio, so generate_audio cannot be false. Omit it, or pick a model ` +
        `without sound${alt ? `: ${alt}` : ""}.`,
      param,
    );
  }
  if (model.audio.mode === "never" && value) {
    const alt = alternatives(catalog, model, (m) => m.audio.mode !== "never");
    fail(
      "unsupported_by_model",
      `${model.id} generates silent video, so generate_audio cannot be true. Omit it, or pick a model ` +
        `with audio${alt ? `: ${alt}` : ""}.`,
      param,
    );
  }
  return value;
}

function readSeed(value: unknown, model: CatalogModel): number | undefined {
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

function readBoolean(value: unknown, name: string): boolean | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== "boolean") {
    fail("invalid_type", `${name} must be true or false; got ${show(value)}.`, `metadata.${name}`);
  }
  return value;
}

function readCallbackUrl(value: unknown): string | null {
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

function parseUrl(text: string): URL | null {
  try {
    return new URL(text);
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// content[]

const TYPE_TO_KIND: Record<string, MediaKind> = {
  image_url: "image",
  video_url: "video",
  audio_url: "audio",
};

function readContent(value: unknown): Entry[] {
  if (!present(value)) return [];
  if (!Array.isArray(value)) {
    fail(
      "invalid_type",
      `metadata.content must be an array of {"type": "image_url", "image_url": {"url": "…"}, "role": "…"} ` +
        `entries; got ${show(value)}.`,
      "metadata.content",
    );
  }
  if (value.length > SUBMIT_LIMITS.entries) {
    fail(
      "too_many_media",
      `metadata.content has ${value.length} entries; at most ${SUBMIT_LIMITS.entries} are allowed ` +
        `(9 images, 3 videos, 3 audio tracks).`,
      `metadata.content[${SUBMIT_LIMITS.entries}]`,
    );
  }

  const entries: Omit<Entry, "role" | "index">[] = value.map((raw, position) => readEntry(raw, position));

  // Default roles (see the module comment), then per-kind numbering and the contract's limits.
  const imageCount = entries.filter((e) => e.kind === "image").length;
  const referenceContext = entries.some((e) => e.kind !== "image" || e.explicitRole === "reference_image");
  const seen: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
  return entries.map((e) => {
    let role = e.explicitRole;
    if (!role) {
      if (e.kind === "video") role = "reference_video";
      else if (e.kind === "audio") role = "reference_audio";
      else if (referenceContext) role = "reference_image";
      else if (imageCount === 1) role = "first_frame";
      else {
        fail(
          "missing_parameter",
          `role is required when the request has ${imageCount} images: use first_frame and last_frame, or ` +
            `reference_image on every image.`,
          `${entryPath(e)}.role`,
        );
      }
    }
    const index = ++seen[e.kind];
    if (index > KIND_LIMIT[e.kind]) {
      fail(
        "too_many_media",
        `At most ${KIND_LIMIT[e.kind]} ${KIND_NOUNS[e.kind]} per request (@${e.kind}1…@${e.kind}${KIND_LIMIT[e.kind]}); ` +
          `this is ${e.kind} ${index}.`,
        entryPath(e),
      );
    }
    return { ...e, role, index };
  });
}

function readEntry(raw: unknown, position: number): Omit<Entry, "role" | "index"> {
  const path = `metadata.content[${position}]`;
  if (!isObject(raw)) {
    fail(
      "invalid_type",
      `${path} must be an object such as {"type": "image_url", "image_url": {"url": "https://…"}}; got ${show(raw)}.`,
      path,
    );
  }
  if (!present(raw.type)) {
    fail("missing_parameter", `${path}.type is required: image_url, video_url or audio_url.`, `${path}.type`);
  }
  const kind = typeof raw.type === "string" ? TYPE_TO_KIND[raw.type] : undefined;
  if (!kind) {
    const hint = raw.type === "text" ? " Put the text in the top-level prompt." : "";
    fail(
      "invalid_value",
      `${path}.type must be image_url, video_url or audio_url; got ${show(raw.type)}.${hint}`,
      `${path}.type`,
    );
  }
  const key = `${kind}_url`;
  const holder = raw[key];
  if (!present(holder)) {
    fail(
      "missing_parameter",
      `${path} has type ${key} but no ${key} object: add "${key}": {"url": "…"}.`,
      `${path}.${key}`,
    );
  }
  if (!isObject(holder)) {
    fail(
      "invalid_type",
      `${path}.${key} must be an object {"url": "…"}; got ${show(holder)}.`,
      `${path}.${key}`,
    );
  }
  const param = urlPath(kind, position);
  if (!present(holder.url)) fail("missing_parameter", `${param} is required.`, param);
  if (typeof holder.url !== "string")
    fail("invalid_type", `${param} must be a string; got ${show(holder.url)}.`, param);
  let url = holder.url.trim();
  if (url === "") fail("invalid_value", `${param} is empty; give the URL of the ${kind}.`, param);
  checkMediaUrl(url, kind, param);
  // Downstream code recognises data: URLs by their lower-case prefix.
  if (/^data:/i.test(url)) url = `data:${url.slice(5)}`;

  let explicitRole: ContentRole | null = null;
  if (present(raw.role)) {
    const allowed = ROLES_BY_KIND[kind];
    if (typeof raw.role !== "string" || !(allowed as readonly string[]).includes(raw.role)) {
      fail(
        "invalid_role",
        `${path}.role must be ${allowed.length === 1 ? allowed[0] : `one of ${list(allowed)}`} for ${articleFor(kind)} ${key} ` +
          `entry; got ${show(raw.role)}.`,
        `${path}.role`,
      );
    }
    explicitRole = raw.role as ContentRole;
  }
  return { kind, position, url, explicitRole };
}

function checkMediaUrl(url: string, kind: MediaKind, param: string): void {
  const scheme = url.slice(0, Math.max(0, url.indexOf(":"))).toLowerCase();
  if (scheme === "data") {
    if (kind === "video") {
      fail(
        "invalid_url",
        `data: URLs are accepted for images and audio only. Upload the video with POST /v1/files and use the ` +
          `returned url, or give an https:// URL.`,
        param,
      );
    }
    const header = /^data:([^;,]*)((?:;[^;,]*)*),/i.exec(url);
    const mime = header?.[1]?.toLowerCase() ?? "";
    const base64 = header?.[2]?.toLowerCase().split(";").includes("base64") ?? false;
    if (!header || !mime.startsWith(`${kind}/`) || !base64 || url.length === header[0].length) {
      fail(
        "invalid_url",
        `A data: URL for ${kind === "image" ? "an image" : "audio"} must look like ` +
          `"data:${kind}/${kind === "image" ? "png" : "mpeg"};base64,<data>".`,
        param,
      );
    }
    return;
  }
  if (scheme === "http" || scheme === "https") {
    const parsed = parseUrl(url);
    if (!parsed || parsed.hostname === "")
      fail("invalid_url", `${param} is not a valid URL; got ${show(url)}.`, param);
    if (url.length > MAX_HTTP_URL_LENGTH) {
      fail("invalid_url", `${param} is longer than ${MAX_HTTP_URL_LENGTH} characters.`, param);
    }
    return;
  }
  fail(
    "invalid_url",
    `${param} must be an https:// or http:// URL${kind === "video" ? "" : " or a data: URL"} ` +
      `(upload local files with POST /v1/files); got ${show(url.length > 40 ? `${url.slice(0, 40)}…` : url)}.`,
    param,
  );
}

/** Rules that hold whatever the model (spec §3). */
function checkRoleRules(entries: Entry[]): void {
  const isFrame = (e: Entry) => FRAME_ROLES.includes(e.role);
  const first = entries[0];
  if (first) {
    const odd = entries.find((e) => isFrame(e) !== isFrame(first));
    if (odd) {
      const frame = isFrame(first) ? first : odd;
      const ref = isFrame(first) ? odd : first;
      fail(
        "mixed_roles",
        `Frame roles (first_frame, last_frame) and reference roles (reference_image, reference_video, ` +
          `reference_audio) cannot be mixed: ${entryPath(frame)} is a ${frame.role} and ${entryPath(ref)} is a ` +
          `${ref.role}. To combine images with videos or audio, make every image a reference_image.`,
        rolePath(odd),
      );
    }
  }
  for (const role of FRAME_ROLES) {
    const withRole = entries.filter((e) => e.role === role);
    const [one, two] = withRole;
    if (one && two) {
      fail(
        "duplicate_role",
        `Only one ${role} is allowed; ${entryPath(one)} is already the ${role.replace("_", " ")}. For several ` +
          `images use reference_image on each (on models with reference mode).`,
        rolePath(two),
      );
    }
  }
  const last = entries.find((e) => e.role === "last_frame");
  if (last && !entries.some((e) => e.role === "first_frame")) {
    fail(
      "missing_first_frame",
      "A last_frame needs a first_frame: add the first-frame image.",
      rolePath(last),
    );
  }
  const audio = entries.find((e) => e.kind === "audio");
  if (audio && !entries.some((e) => e.kind !== "audio")) {
    fail(
      "audio_needs_visual",
      "Audio alone is not enough: add at least one reference image or video beside the audio.",
      entryPath(audio),
    );
  }
}

function readCitations(prompt: string, entries: Entry[]): string[] {
  const counts: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
  for (const e of entries) counts[e.kind]++;
  const citations: string[] = [];
  for (const match of prompt.matchAll(/(?<![\w.])@(image|video|audio)(\d+)/gi)) {
    const kind = match[1]!.toLowerCase() as MediaKind;
    const n = Number.parseInt(match[2]!, 10);
    const have = counts[kind];
    if (n < 1 || n > have) {
      const has =
        have === 0
          ? `no ${kind}`
          : `only ${plural(have, kind === "audio" ? "audio track" : kind)} (@${kind}1${have > 1 ? `…@${kind}${have}` : ""})`;
      fail(
        "invalid_citation",
        `The prompt cites ${match[0]}, but metadata.content has ${has}. Media are numbered per kind in ` +
          `content[] order, from 1.`,
        "prompt",
      );
    }
    const ref = `${kind}${n}`;
    if (!citations.includes(ref)) citations.push(ref);
  }
  return citations;
}

/** Apply the model's modes and limits; converts a lone reference image where needed; returns the mode. */
function applyModel(entries: Entry[], model: CatalogModel, catalog: Catalog): GenerationMode {
  const hasReferenceMode = model.modes.includes("reference");
  const references = entries.filter((e) => !FRAME_ROLES.includes(e.role));

  if (references.length > 0 && !hasReferenceMode) {
    const nonImage = references.find((e) => e.kind !== "image");
    if (nonImage) {
      const alt = alternatives(catalog, model, (m) => m.references[REFERENCE_LIMIT_KEY[nonImage.kind]] > 0);
      fail(
        "unsupported_by_model",
        `${model.id} has no reference mode and does not accept ${nonImage.kind} input` +
          `${alt ? `; models that do: ${alt}` : ""}.`,
        entryPath(nonImage),
      );
    }
    const [only, second] = references;
    if (second) {
      const alt = alternatives(catalog, model, (m) => m.references.images > 1);
      fail(
        "too_many_media",
        `${model.id} has no reference mode: it accepts at most 1 reference_image (used as the first frame); ` +
          `this request has ${references.length}.${alt ? ` For several reference images use ${alt}.` : ""}`,
        entryPath(second),
      );
    }
    if (only) only.role = "first_frame";
  }

  const mode = modeOf(entries);
  if (!model.modes.includes(mode)) {
    const alt = alternatives(catalog, model, (m) => m.modes.includes(mode));
    const use = alt ? ` Models that do: ${alt}.` : "";
    const image = entries.find((e) => e.kind === "image");
    if (mode === "text") {
      fail(
        "unsupported_by_model",
        `${model.id} needs media: ${describeModes(model)}. Add it to metadata.content ` +
          `({"type": "image_url", "image_url": {"url": "https://…"}, "role": "first_frame"}).${
            alt ? ` For text-to-video use ${alt}.` : ""
          }`,
        "metadata.content",
      );
    }
    if (mode === "first_last_frame") {
      const last = entries.find((e) => e.role === "last_frame")!;
      fail(
        "unsupported_by_model",
        `${model.id} does not support first+last-frame generation (${describeModes(model)}).${use}`,
        rolePath(last),
      );
    }
    fail(
      "unsupported_by_model",
      `${model.id} does not take ${mode === "reference" ? "reference media" : "images"} ` +
        `(${describeModes(model)}). Remove metadata.content, or use another model.${use}`,
      entryPath(image ?? entries[0]!),
    );
  }

  if (mode === "reference") {
    for (const kind of MEDIA_KINDS) {
      const limit = model.references[REFERENCE_LIMIT_KEY[kind]];
      const ofKind = entries.filter((e) => e.kind === kind);
      const over = ofKind[limit];
      if (!over) continue;
      if (limit === 0) {
        const alt = alternatives(catalog, model, (m) => m.references[REFERENCE_LIMIT_KEY[kind]] > 0);
        fail(
          "unsupported_by_model",
          `${model.id} does not accept reference ${kind === "audio" ? "audio" : `${kind}s`}` +
            `${alt ? `; models that do: ${alt}` : ""}.`,
          entryPath(over),
        );
      }
      fail(
        "too_many_media",
        `${model.id} accepts at most ${plural(limit, `reference ${kind === "audio" ? "audio track" : kind}`)}; this request has ${ofKind.length}.`,
        entryPath(over),
      );
    }
  }
  return mode;
}

function modeOf(entries: Entry[]): GenerationMode {
  if (entries.length === 0) return "text";
  if (entries.some((e) => !FRAME_ROLES.includes(e.role))) return "reference";
  return entries.some((e) => e.role === "last_frame") ? "first_last_frame" : "first_frame";
}

const MODE_TEXT: Record<GenerationMode, string> = {
  text: "a text prompt and no media",
  first_frame: "exactly one first-frame image",
  first_last_frame: "a first and a last frame",
  reference: "reference images, videos and audio",
};

function describeModes(model: CatalogModel): string {
  const modes = model.modes.map((m) => MODE_TEXT[m]);
  return `it takes ${modes.join(", or ")}`;
}

// ---------------------------------------------------------------------------------------------
// Checks that need the media

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
