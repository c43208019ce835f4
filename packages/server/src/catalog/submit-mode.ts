/**
 * The generation mode a submit asks for (text, first frame, first+last frame, reference), decided
 * from its content entries and checked against what the model offers, with "use … instead" hints.
 */
import type { GenerationMode } from "../domain/request.ts";
import type { Catalog, CatalogModel } from "./models.ts";
import { MEDIA_KINDS } from "./models.ts";
import { type Entry, entryPath, FRAME_ROLES, rolePath } from "./submit-content.ts";
import { alternatives, fail, plural } from "./submit-errors.ts";

const REFERENCE_LIMIT_KEY = { image: "images", video: "videos", audio: "audios" } as const;

/** Apply the model's modes and limits; converts a lone reference image where needed; returns the mode. */
export function applyModel(entries: Entry[], model: CatalogModel, catalog: Catalog): GenerationMode {
  const total = model.references.total;
  if (entries.length > total) {
    fail(
      "too_many_media",
      `metadata.content has ${entries.length} entries; ${model.id} accepts at most ${total}.`,
      `metadata.content[${total}]`,
    );
  }
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
