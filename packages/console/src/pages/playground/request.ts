/**
 * The playground's form state → the exact `POST /v1/video/generations` body, and what a model's
 * capabilities allow (how many media of each kind, which roles). Pure functions: the page renders
 * from them and the "copy as" snippets print the very body `client.videos.create` sends.
 */
import type { ContentItem, FileObject, ImageRole, Model, VideoCreateParams } from "@vidrelay/sdk";

export type MediaKind = "image" | "video" | "audio";

/** One picked file: uploading, uploaded (has `file`), or refused by the upload (has `error`). */
export interface MediaItem {
  key: string;
  kind: MediaKind;
  name: string;
  /** An object URL of the local file, for the thumbnail (revoked when the item is removed). */
  preview: string;
  file?: FileObject;
  error?: unknown;
  role: ImageRole | "reference_video" | "reference_audio";
}

export interface FormState {
  model: string;
  prompt: string;
  seconds: string;
  ratio: string;
  resolution: string;
  generateAudio: boolean;
  /** `metadata.fit` where the model conforms its first frame to a fixed ratio; "" sends none. */
  fit: string;
  seed: string;
  media: MediaItem[];
}

/** How many media of each kind the model takes: reference limits, or its frame slots for images. */
export function mediaLimits(model: Model | undefined): Record<MediaKind, number> {
  if (!model) return { image: 0, video: 0, audio: 0 };
  const frames = model.modes.includes("first_last_frame") ? 2 : model.modes.includes("first_frame") ? 1 : 0;
  return {
    image: Math.max(model.references.images, frames),
    video: model.references.videos,
    audio: model.references.audios,
  };
}

/** The image roles the model accepts (spec §3: reference roles and frame roles cannot be mixed). */
export function imageRoles(model: Model | undefined): ImageRole[] {
  if (!model) return [];
  const roles: ImageRole[] = [];
  if (model.modes.includes("reference") && model.references.images > 0) roles.push("reference_image");
  if (model.modes.includes("first_frame") || model.modes.includes("first_last_frame"))
    roles.push("first_frame");
  if (model.modes.includes("first_last_frame")) roles.push("last_frame");
  return roles;
}

/** The role a new image gets: a reference when the model takes those, else the next free frame. */
export function defaultImageRole(model: Model | undefined, images: Pick<MediaItem, "role">[]): ImageRole {
  const roles = imageRoles(model);
  if (roles.includes("reference_image")) return "reference_image";
  const taken = new Set(images.map((m) => m.role));
  if (!taken.has("first_frame")) return "first_frame";
  return roles.includes("last_frame") ? "last_frame" : "first_frame";
}

/** `@image1`, `@video2`…: media are numbered per kind in content[] order. */
export function mediaTags(media: MediaItem[]): string[] {
  const counts: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
  return media.map((m) => `@${m.kind}${++counts[m.kind]}`);
}

/** The form's values when a model is chosen: everything at the model's defaults. */
export function modelDefaults(model: Model, hasMedia: boolean) {
  return {
    seconds: String(model.seconds.default),
    ratio: hasMedia ? model.ratios.default_with_media : model.ratios.default,
    resolution: model.resolutions.default,
    generateAudio: model.audio.default,
    fit: model.parameters.fit.supported ? model.parameters.fit.default : "",
  };
}

/** Whether the Fit choice means anything: the model conforms its first frame and the ratio is fixed. */
export function fitApplies(form: Pick<FormState, "ratio" | "fit">, model: Model | undefined): boolean {
  return !!model?.parameters.fit.supported && form.ratio !== "" && form.ratio !== "adaptive";
}

/** The JSON body `client.videos.create` will send for this form (uploaded media only). */
export function buildRequest(form: FormState, model: Model | undefined): VideoCreateParams {
  const content: ContentItem[] = [];
  for (const item of form.media) {
    if (!item.file) continue;
    const url = item.file.url;
    if (item.kind === "image") {
      content.push({ type: "image_url", image_url: { url }, role: item.role as ImageRole });
    } else if (item.kind === "video") {
      content.push({ type: "video_url", video_url: { url }, role: "reference_video" });
    } else {
      content.push({ type: "audio_url", audio_url: { url }, role: "reference_audio" });
    }
  }
  const metadata: Record<string, unknown> = {};
  if (form.ratio) metadata.ratio = form.ratio;
  if (form.resolution) metadata.resolution = form.resolution;
  if (model?.audio.mode === "optional") metadata.generate_audio = form.generateAudio;
  // Only where it changes something: a model that conforms its first frame, a fixed ratio, not the default.
  if (fitApplies(form, model) && model?.parameters.fit.supported && form.fit !== model.parameters.fit.default)
    metadata.fit = form.fit;
  const seed = form.seed.trim();
  if (seed !== "") metadata.seed = /^-?\d+$/.test(seed) ? Number(seed) : seed;
  if (content.length) metadata.content = content;
  const body: VideoCreateParams = { model: form.model };
  if (form.prompt.trim() !== "") body.prompt = form.prompt;
  if (form.seconds) body.seconds = form.seconds;
  body.metadata = metadata as VideoCreateParams["metadata"];
  return body;
}

/** Where an API error's `param` belongs: a field of the form, a media item, or nowhere (`null`). */
export type ErrorTarget = { field: string } | { media: number; what: "role" | "file" } | null;

const FIELD_OF_PARAM: Record<string, string> = {
  model: "model",
  prompt: "prompt",
  seconds: "seconds",
  duration: "seconds",
  ratio: "ratio",
  "metadata.ratio": "ratio",
  resolution: "resolution",
  "metadata.resolution": "resolution",
  "metadata.generate_audio": "audio",
  "metadata.seed": "seed",
  "metadata.fit": "fit",
  "metadata.content": "media",
};

/**
 * `metadata.content[2].role` → the media item that became content[2] (uploaded items only are sent,
 * in order), so the error shows on its thumbnail.
 */
export function errorTarget(param: string | undefined, media: MediaItem[]): ErrorTarget {
  if (!param) return null;
  const field = FIELD_OF_PARAM[param];
  if (field) return { field };
  const entry = /^metadata\.content\[(\d+)\](?:\.(\w+))?/.exec(param);
  if (entry) {
    const sent = media.map((m, i) => (m.file ? i : -1)).filter((i) => i >= 0);
    const index = sent[Number(entry[1])];
    if (index === undefined) return { field: "media" };
    return { media: index, what: entry[2] === "role" ? "role" : "file" };
  }
  return null;
}
