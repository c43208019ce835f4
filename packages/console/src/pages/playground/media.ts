/**
 * What the playground does to its list of reference media, as pure functions: which picked files a
 * model still takes (and the role each gets), the roles after a change of model, the notice for
 * files refused, and a tag put into the prompt at the caret.
 */
import type { ImageRole, Model } from "@vidrelay/sdk";
import { defaultImageRole, imageRoles, type MediaItem, type MediaKind, mediaLimits } from "./request.ts";

export function kindOf(file: { type: string }): MediaKind {
  if (file.type.startsWith("video/")) return "video";
  if (file.type.startsWith("audio/")) return "audio";
  return "image";
}

/**
 * The picked files the model still takes beside `media`, in order, each with its kind and the role
 * it gets (images: a reference, or the next free frame); the names of those over the model's limits.
 */
export function admitFiles<F extends { name: string; type: string }>(
  files: F[],
  media: MediaItem[],
  model: Model | undefined,
): { admitted: { file: F; kind: MediaKind; role: MediaItem["role"] }[]; refused: string[] } {
  const limits = mediaLimits(model);
  const counts: Record<MediaKind, number> = { image: 0, video: 0, audio: 0 };
  for (const m of media) counts[m.kind]++;
  const images: Pick<MediaItem, "role">[] = media.filter((m) => m.kind === "image");
  const admitted: { file: F; kind: MediaKind; role: MediaItem["role"] }[] = [];
  const refused: string[] = [];
  for (const file of files) {
    const kind = kindOf(file);
    if (counts[kind] >= limits[kind]) {
      refused.push(file.name);
      continue;
    }
    counts[kind]++;
    const role =
      kind === "image"
        ? defaultImageRole(model, images)
        : kind === "video"
          ? "reference_video"
          : "reference_audio";
    if (kind === "image") images.push({ role });
    admitted.push({ file, kind, role });
  }
  return { admitted, refused };
}

/** What the page says when files were refused (null when none were). */
export function refusedNotice(model: Model | undefined, refused: string[]): string | null {
  if (!refused.length) return null;
  const limits = mediaLimits(model);
  return (
    `${model?.id ?? "This model"} takes at most ${limits.image} image${limits.image === 1 ? "" : "s"}` +
    `${limits.video ? `, ${limits.video} videos and ${limits.audio} audio tracks` : ""}; ` +
    `not added: ${refused.join(", ")}.`
  );
}

/** The media after a change of model: images in a role the new model does not accept get one it does. */
export function rolesForModel(media: MediaItem[], model: Model): MediaItem[] {
  const images: MediaItem[] = [];
  const allowed = imageRoles(model);
  return media.map((m) => {
    if (m.kind !== "image") return m;
    const role = allowed.includes(m.role as ImageRole) ? m.role : defaultImageRole(model, images);
    const item = { ...m, role };
    images.push(item);
    return item;
  });
}

/**
 * `text` with `tag` in place of its selection from `start` to `end`, with a space before it (unless
 * at the start or after one) and after it (unless one follows), and where the caret goes next.
 */
export function insertTag(
  text: string,
  start: number,
  end: number,
  tag: string,
): { text: string; caret: number } {
  const before = text.slice(0, start);
  const after = text.slice(end);
  const insert = `${before && !/\s$/.test(before) ? " " : ""}${tag}${/^\s/.test(after) ? "" : " "}`;
  return { text: before + insert + after, caret: before.length + insert.length };
}
