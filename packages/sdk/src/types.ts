/**
 * Request and response bodies of the RelayDance v1 API, written by hand to match the gateway's
 * OpenAPI document (`GET /openapi.json`, components `Task`, `TaskCreated`, `File`, `Model`,
 * `SubmitBody`).
 *
 * The `*_KEYS` / `*_REQUIRED_KEYS` arrays below are the same property lists at run time. The
 * compiler checks them against the interfaces in both directions (see `exact` at the bottom), and a
 * test in the server package compares them with the live `/openapi.json`, so the SDK's types cannot
 * drift silently from the server's schemas.
 */

// ---------------------------------------------------------------------------------------------
// Enumerations

export type TaskStatus = "submitted" | "running" | "succeeded" | "failed";
export type Ratio = "21:9" | "16:9" | "4:3" | "1:1" | "3:4" | "9:16" | "adaptive";
/** How a first frame is conformed to an asked ratio (`metadata.fit`). */
export type Fit = "crop" | "pad";
export type Resolution = "480p" | "720p" | "1080p";
export type GenerationMode = "text" | "first_frame" | "first_last_frame" | "reference";
export type ImageRole = "first_frame" | "last_frame" | "reference_image";

export const TASK_STATUSES = ["submitted", "running", "succeeded", "failed"] as const;
export const TERMINAL_STATUSES = ["succeeded", "failed"] as const;

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "insufficient_quota"
  | "not_found_error"
  | "idempotency_error"
  | "rate_limit_error"
  | "server_error"
  | "upstream_error";

/** The body of every error response (docs/api.md §1). */
export interface ErrorBody {
  error: { message: string; type: ErrorType | (string & {}); code: string; param: string | null };
}

// ---------------------------------------------------------------------------------------------
// Submit (docs/api.md §3)

export interface ImageContent {
  type: "image_url";
  image_url: { url: string };
  role?: ImageRole | null;
}

export interface VideoContent {
  type: "video_url";
  video_url: { url: string };
  role?: "reference_video" | null;
}

export interface AudioContent {
  type: "audio_url";
  audio_url: { url: string };
  role?: "reference_audio" | null;
}

/** One input medium; cited in the prompt as `@image1…`, `@video1…`, `@audio1…` (per kind, in order). */
export type ContentItem = ImageContent | VideoContent | AudioContent;

export interface SubmitMetadata {
  ratio?: Ratio | null;
  resolution?: Resolution | null;
  generate_audio?: boolean | null;
  /** The final task object is POSTed here, signed per Standard Webhooks (see `verifyWebhook`). */
  callback_url?: string | null;
  content?: ContentItem[] | null;
  /** -1 for random. */
  seed?: number | null;
  watermark?: boolean | null;
  camera_fixed?: boolean | null;
  return_last_frame?: boolean | null;
  /**
   * How the first frame meets an asked `ratio` where the model's output follows its image (the model's
   * `parameters.fit`): `"crop"` (default, centre crop) or `"pad"` (black bars).
   */
  fit?: Fit | null;
  /** Unknown fields are passed through (the server ignores the ones it does not know). */
  [key: string]: unknown;
}

/** `POST /v1/video/generations` body (OpenAPI `SubmitBody`). */
export interface VideoCreateParams {
  model: string;
  /** Required for text-only requests, optional when `metadata.content` has media. */
  prompt?: string | null;
  /** Whole seconds: `"5"` (the documented form) or `5`. */
  seconds?: string | number | null;
  /** An object, or a JSON string holding one. */
  metadata?: SubmitMetadata | string | null;
  /** Compatibility alias of `seconds`. */
  duration?: string | number | null;
  /** Compatibility alias of `metadata.ratio`. */
  ratio?: Ratio | null;
  /** Compatibility alias of `metadata.resolution`. */
  resolution?: Resolution | null;
}

/** `POST /v1/video/generations` response (OpenAPI `TaskCreated`). */
export interface TaskCreated {
  task_id: string;
  id: string;
  object: "video";
  model: string;
  status: "submitted";
  progress: 0;
  /** Unix seconds. */
  created_at: number;
}

// ---------------------------------------------------------------------------------------------
// Task (docs/api.md §4)

/** Echo of the request's vendor parameters, after defaults (OpenAPI `TaskMetadata`). */
export interface TaskMetadata {
  ratio: Ratio;
  resolution: Resolution;
  generate_audio: boolean;
  seed?: number;
  watermark?: boolean;
  camera_fixed?: boolean;
  return_last_frame?: boolean;
  /** Present when the first frame was conformed to the ratio. */
  fit?: Fit;
  [key: string]: unknown;
}

export interface VideoInfo {
  width: number;
  height: number;
  duration: number;
  fps: number;
  has_audio: boolean;
  bytes: number;
}

export interface Usage {
  seconds: number;
  resolution: Resolution;
  /** Decimal string, e.g. `"0.3500"`. */
  cost: string;
  currency: string;
}

export interface TaskError {
  /** e.g. `cancelled`, `expired`, `timeout`, `media_unavailable`. */
  code: string;
  message: string;
}

/** A video generation task (OpenAPI `Task`). */
export interface Task {
  task_id: string;
  id: string;
  object: "video";
  model: string;
  status: TaskStatus;
  /** 0..100 */
  progress: number;
  /**
   * Whether `cancel` can still stop the task: false once it has finished, and while it runs at a
   * provider that cannot stop started tasks (it then runs to its end and is settled as usual).
   */
  cancellable: boolean;
  prompt: string;
  /** Requested whole seconds, as a string. */
  seconds: string;
  metadata: TaskMetadata;
  /** Who serves the task: an upstream provider such as "ark", or "local" (the built-in engine, not AI). */
  provider?: string;
  /** Succeeded only: the mp4, public (no key needed) until `expires_at`. */
  url?: string;
  /** Succeeded only: a JPEG poster frame. */
  thumbnail_url?: string;
  format?: "mp4";
  last_frame_url?: string;
  /** Succeeded only. */
  video?: VideoInfo;
  usage?: Usage;
  /** Failed only; cancelled and expired tasks are failed with code `cancelled` / `expired`. */
  error?: TaskError;
  /** Unix seconds. */
  created_at: number;
  started_at?: number | null;
  completed_at?: number | null;
  /** When `url` stops working (Unix seconds). */
  expires_at?: number | null;
}

// ---------------------------------------------------------------------------------------------
// Files (docs/api.md §2)

/** An uploaded reference medium (OpenAPI `File`). */
export interface FileObject {
  id: string;
  object: "file";
  /** Unguessable capability URL: anyone may GET it until `expires_at`. Cite it in `metadata.content`. */
  url: string;
  filename: string;
  bytes: number;
  /** Sniffed from the bytes. */
  content_type: string;
  kind?: "image" | "video" | "audio";
  width?: number | null;
  height?: number | null;
  /** Seconds, for video and audio. */
  duration?: number | null;
  created_at: number;
  expires_at: number;
}

export interface FileDeleted {
  id: string;
  object: "file";
  deleted: true;
}

// ---------------------------------------------------------------------------------------------
// Models (docs/api.md §6)

export type ParameterSupport =
  | { supported: true; default: boolean }
  | {
      supported: false;
    };

/** A model and its capabilities (OpenAPI `Model`). */
export interface Model {
  id: string;
  object: "model";
  created: number;
  owned_by: string;
  name: string;
  description: string;
  family: string;
  modes: GenerationMode[];
  seconds: { min: number; max: number; default: number };
  resolutions: { values: Resolution[]; default: Resolution };
  ratios: { values: Ratio[]; default: Ratio; default_with_media: Ratio };
  audio: { mode: "always" | "never" | "optional"; default: boolean };
  references: {
    images: number;
    videos: number;
    audios: number;
    video_total_seconds: number;
    audio_total_seconds: number;
  };
  input_image: { min_side: number; max_side: number | null; max_aspect: number; max_bytes: number } | null;
  input_video: { max_seconds: number | null; max_bytes: number | null } | null;
  input_audio: { max_seconds: number | null; max_bytes: number | null } | null;
  parameters: {
    seed: { supported: true; min: number; max: number } | { supported: false };
    watermark: ParameterSupport;
    camera_fixed: ParameterSupport;
    return_last_frame: ParameterSupport;
    fit: { supported: true; values: Fit[]; default: Fit } | { supported: false };
  };
  prompt: { max_length: number; required: "always" | "without_media" | "never" };
  pricing?: Record<string, unknown>;
  providers?: string[];
}

// ---------------------------------------------------------------------------------------------
// Lists

/** One page of a cursor-paginated list. */
export interface ListPage<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  /** Pass as `after` for the next page; null or absent on the last. */
  next_cursor?: string | null;
}

export interface ListParams {
  /** Page size, 1..100 (server default 20). */
  limit?: number;
  /** `next_cursor` of the previous page. */
  after?: string;
}

export interface TaskListParams extends ListParams {
  status?: TaskStatus;
  model?: string;
}

// ---------------------------------------------------------------------------------------------
// Run-time key lists, checked against the interfaces above by the compiler.

type KnownKeys<T> = keyof { [K in keyof T as string extends K ? never : K]: T[K] };
type RequiredKeys<T> = {
  [K in KnownKeys<T>]-?: Record<string, never> extends Pick<T, K> ? never : K;
}[KnownKeys<T>];
type Missing<All, Listed> =
  Exclude<All, Listed> extends never ? true : ["missing from the list:", Exclude<All, Listed>];

/** Compile-time: `keys` lists exactly the (known) keys of T, and `required` exactly its required keys. */
function exact<T>() {
  return <const K extends readonly KnownKeys<T>[], const R extends readonly RequiredKeys<T>[]>(
    keys: K & (Missing<KnownKeys<T>, K[number]> extends true ? unknown : Missing<KnownKeys<T>, K[number]>),
    required: R &
      (Missing<RequiredKeys<T>, R[number]> extends true ? unknown : Missing<RequiredKeys<T>, R[number]>),
  ) => ({ keys: keys as K, required: required as R });
}

const task = exact<Task>()(
  [
    "task_id",
    "id",
    "object",
    "model",
    "status",
    "progress",
    "cancellable",
    "prompt",
    "seconds",
    "metadata",
    "provider",
    "url",
    "thumbnail_url",
    "format",
    "last_frame_url",
    "video",
    "usage",
    "error",
    "created_at",
    "started_at",
    "completed_at",
    "expires_at",
  ],
  [
    "task_id",
    "id",
    "object",
    "model",
    "status",
    "progress",
    "cancellable",
    "prompt",
    "seconds",
    "metadata",
    "created_at",
  ],
);
export const TASK_KEYS: readonly (keyof Task)[] = task.keys;
export const TASK_REQUIRED_KEYS: readonly (keyof Task)[] = task.required;

const taskCreated = exact<TaskCreated>()(
  ["task_id", "id", "object", "model", "status", "progress", "created_at"],
  ["task_id", "id", "object", "model", "status", "progress", "created_at"],
);
export const TASK_CREATED_KEYS: readonly (keyof TaskCreated)[] = taskCreated.keys;
export const TASK_CREATED_REQUIRED_KEYS: readonly (keyof TaskCreated)[] = taskCreated.required;

const file = exact<FileObject>()(
  [
    "id",
    "object",
    "url",
    "filename",
    "bytes",
    "content_type",
    "kind",
    "width",
    "height",
    "duration",
    "created_at",
    "expires_at",
  ],
  ["id", "object", "url", "filename", "bytes", "content_type", "created_at", "expires_at"],
);
export const FILE_KEYS: readonly (keyof FileObject)[] = file.keys;
export const FILE_REQUIRED_KEYS: readonly (keyof FileObject)[] = file.required;

const model = exact<Model>()(
  [
    "id",
    "object",
    "created",
    "owned_by",
    "name",
    "description",
    "family",
    "modes",
    "seconds",
    "resolutions",
    "ratios",
    "audio",
    "references",
    "input_image",
    "input_video",
    "input_audio",
    "parameters",
    "prompt",
    "pricing",
    "providers",
  ],
  [
    "id",
    "object",
    "created",
    "owned_by",
    "name",
    "description",
    "family",
    "modes",
    "seconds",
    "resolutions",
    "ratios",
    "audio",
    "references",
    "input_image",
    "input_video",
    "input_audio",
    "parameters",
    "prompt",
  ],
);
export const MODEL_KEYS: readonly (keyof Model)[] = model.keys;
export const MODEL_REQUIRED_KEYS: readonly (keyof Model)[] = model.required;

const submit = exact<VideoCreateParams>()(
  ["model", "prompt", "seconds", "metadata", "duration", "ratio", "resolution"],
  ["model"],
);
export const VIDEO_CREATE_KEYS: readonly (keyof VideoCreateParams)[] = submit.keys;
export const VIDEO_CREATE_REQUIRED_KEYS: readonly (keyof VideoCreateParams)[] = submit.required;

const metadata = exact<SubmitMetadata>()(
  [
    "ratio",
    "resolution",
    "generate_audio",
    "callback_url",
    "content",
    "seed",
    "watermark",
    "camera_fixed",
    "return_last_frame",
    "fit",
  ],
  [],
);
export const SUBMIT_METADATA_KEYS: readonly (keyof SubmitMetadata & string)[] = metadata.keys;
