/**
 * metadata.content[]: the media items of a submit, read into entries with a role and a per-kind
 * number (`@image1`, `@image2`, …), and the role rules that hold whatever the model.
 *
 * Decisions where the contract is silent:
 * - An image without `role` (Seedance rules, docs/providers.md §1.3): `reference_image` when the request
 *   has a video, an audio track or an explicit reference role; otherwise `first_frame` when it is
 *   the only image; otherwise (several images, frame roles) the role is required (400). Video and
 *   audio roles default to `reference_video` / `reference_audio`.
 */
import type { ContentRole, MediaKind } from "../domain/request.ts";
import { SUBMIT_LIMITS } from "./models.ts";
import { fail, list, show } from "./submit-errors.ts";
import { isObject, parseUrl, present } from "./submit-json.ts";

const MAX_HTTP_URL_LENGTH = 8192;

const ROLES_BY_KIND: Record<MediaKind, readonly ContentRole[]> = {
  image: ["first_frame", "last_frame", "reference_image", "keyframe"],
  video: ["reference_video", "source_video"],
  audio: ["reference_audio"],
};
/** Roles outside the frame/reference split: read by submit-operation.ts, not by the mode rules. */
export const OPERATION_ROLES: readonly ContentRole[] = ["keyframe", "source_video"];
export const FRAME_ROLES: readonly ContentRole[] = ["first_frame", "last_frame"];
const KIND_LIMIT: Record<MediaKind, number> = {
  image: SUBMIT_LIMITS.images,
  video: SUBMIT_LIMITS.videos,
  audio: SUBMIT_LIMITS.audios,
};
const KIND_NOUNS: Record<MediaKind, string> = { image: "images", video: "videos", audio: "audio tracks" };
const articleFor = (kind: MediaKind): string => (kind === "video" ? "a" : "an");

export interface Entry {
  kind: MediaKind;
  position: number;
  url: string;
  /** The role the client sent, if any. */
  explicitRole: ContentRole | null;
  /** `at` as sent (a keyframe's time in seconds); checked by submit-operation.ts. */
  at?: number;
  role: ContentRole;
  index: number;
}

export const entryPath = (e: { position: number }): string => `metadata.content[${e.position}]`;
export const rolePath = (e: Entry): string => (e.explicitRole ? `${entryPath(e)}.role` : entryPath(e));
export const urlPath = (kind: MediaKind, position: number): string =>
  `metadata.content[${position}].${kind}_url.url`;

const TYPE_TO_KIND: Record<string, MediaKind> = {
  image_url: "image",
  video_url: "video",
  audio_url: "audio",
};

export function readContent(value: unknown): Entry[] {
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
      `metadata.content has ${value.length} entries; at most ${SUBMIT_LIMITS.entries} are allowed on any ` +
        `model (each model's own limit is in GET /v1/models: references).`,
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
  if (present(raw.at) && (typeof raw.at !== "number" || !Number.isFinite(raw.at))) {
    fail("invalid_type", `${path}.at must be a number of seconds; got ${show(raw.at)}.`, `${path}.at`);
  }
  const at = typeof raw.at === "number" ? raw.at : undefined;
  return { kind, position, url, explicitRole, ...(at !== undefined ? { at } : {}) };
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

/**
 * Rules that hold whatever the model (docs/api.md §3), on the frame and reference entries; `audioAlone`
 * when the model takes reference audio with no image or video beside it (Seedance 2.5).
 */
export function checkRoleRules(entries: Entry[], audioAlone = false): void {
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
  if (audio && !audioAlone && !entries.some((e) => e.kind !== "audio")) {
    fail(
      "audio_needs_visual",
      "Audio alone is not enough: add at least one reference image or video beside the audio.",
      entryPath(audio),
    );
  }
}
