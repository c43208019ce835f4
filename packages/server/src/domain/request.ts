/**
 * The normalized request: what the API layer produces after validating a submit against the
 * catalog, and what every provider (the local engine included) receives. Upstream adapters map
 * it to their wire format; nothing downstream re-reads the raw request body.
 */
export type Resolution = "480p" | "720p" | "1080p";
export type Ratio = "21:9" | "16:9" | "4:3" | "1:1" | "3:4" | "9:16" | "adaptive";
export type MediaKind = "image" | "video" | "audio";
/**
 * How the gateway conforms a first frame to an asked ratio on a model whose output follows its
 * image (catalog `firstFrameFit`): `crop` cuts the centre out, `pad` letterboxes with black bars.
 */
export type Fit = "crop" | "pad";
export type ContentRole =
  | "first_frame"
  | "last_frame"
  | "reference_image"
  | "reference_video"
  | "reference_audio"
  /** The video an `edit` changes or an `extend` continues (exactly one, kind video). */
  | "source_video"
  /** An image the clip passes through at `at` seconds (xAI keyframes; strictly inside the clip). */
  | "keyframe";
/**
 * What a task does beyond generating from scratch: `edit` changes the source video as the prompt
 * says (same length); `extend` continues it by `seconds` and joins the two (the result is the
 * stitched total). Absent on a plain generation.
 */
export type Operation = "edit" | "extend";
/** text: prompt only; first_frame: one image; first_last_frame: two images; reference: reference roles. */
export type GenerationMode = "text" | "first_frame" | "first_last_frame" | "reference";

export interface NormalizedMedia {
  kind: MediaKind;
  /** Effective role after the catalog's rules (a lone reference image on a model without reference mode becomes first_frame). */
  role: ContentRole;
  /** 1-based number within its kind, in content[] order: @image1, @video2, ... */
  index: number;
  /** Position in the request's metadata.content[] (for error messages). */
  position: number;
  /** The URL as the client sent it: https://, http://, data:, or one of our own file URLs. */
  url: string;
  /**
   * Set by the gateway when the media is one of our stored files (an uploaded file URL, or a
   * `data:` URL we stored at submit): workers read it from storage by this token, whatever
   * VIDRELAY_PUBLIC_URL is by then.
   */
  fileToken?: string;
  /** `keyframe` only: where the clip passes through this image, in seconds from the start. */
  at?: number;
}

export interface NormalizedRequest {
  /** Catalog model id, e.g. "seedance-1-5-pro-with-audio". */
  model: string;
  mode: GenerationMode;
  prompt: string;
  /** Whole seconds. */
  seconds: number;
  ratio: Ratio;
  resolution: Resolution;
  generateAudio: boolean;
  seed?: number;
  watermark?: boolean;
  cameraFixed?: boolean;
  returnLastFrame?: boolean;
  /**
   * Set when the gateway must conform the first frame to `ratio` before it goes anywhere (the
   * model follows its image and takes no ratio; `ratio` is then never `adaptive`).
   */
  fit?: Fit;
  content: NormalizedMedia[];
  /** Set on an edit or an extension; the source is the `source_video` entry of `content`. */
  operation?: Operation;
  /** Upstream scheduling priority, 0 (default) to 9, on models whose provider takes one (Ark). */
  priority?: number;
  /**
   * A stable, non-reversible id of the account (hex SHA-256 prefix), sent where the provider asks
   * for an end-user id for abuse tracing (Ark `safety_identifier`, xAI `user`). Never the account id.
   */
  safetyIdentifier?: string;
  /**
   * `metadata.deadline_seconds`: the task fails with `deadline_exceeded` (cancelled upstream where
   * possible, never billed) if unfinished this long after it was accepted; passed to providers
   * that take a deadline (Ark `execution_expires_after`, fal's request timeout).
   */
  deadlineSeconds?: number;
  /** References in the order the prompt cites them, e.g. ["image3", "image1"]; each at most once. */
  citations: string[];
}
