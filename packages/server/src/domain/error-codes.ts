/**
 * Every `error.code` a request can be refused with: its HTTP status(es), its `type` and what it
 * means. `ApiError` only takes a code listed here (the compiler checks each throw), the OpenAPI
 * document lists each route's codes from this table, and test/api/error-codes.test.ts fails on an
 * error body written by hand with a code missing from it.
 *
 * A code answered with two statuses means the same thing in two places: `model_not_found` is a 400
 * in a submit body and a 404 at GET /v1/models/{id} (`also`).
 */
/** The `type` of an error body (docs/api.md §1). */
export const ERROR_TYPES = [
  "invalid_request_error",
  "authentication_error",
  "permission_error",
  "insufficient_quota",
  "not_found_error",
  "idempotency_error",
  "rate_limit_error",
  "server_error",
  "upstream_error",
] as const;
export type ErrorType = (typeof ERROR_TYPES)[number];

export interface ErrorCodeInfo {
  status: readonly number[];
  type: ErrorType;
  meaning: string;
  /** The same refusal answered elsewhere with another status and type (a 404 at the object's own URL). */
  also?: readonly (readonly [number, ErrorType])[];
}

const bad = (meaning: string, status: readonly number[] = [400]): ErrorCodeInfo => ({
  status,
  type: "invalid_request_error",
  meaning,
});

export const ERROR_CODES = {
  // Any request
  invalid_json: bad("the body is not valid JSON"),
  invalid_body: bad("the body is not the JSON object this endpoint takes"),
  body_too_large: bad("the body is larger than this endpoint's limit", [413]),
  unsupported_content_type: bad("the Content-Type is not one this endpoint reads", [415]),
  invalid_content_length: bad("Content-Length does not match the body"),
  invalid_multipart: bad("the multipart body is malformed, cut short or lacks the 'file' part"),
  invalid_path: bad("the path has malformed percent-encoding or characters a URL may not hold"),
  path_too_long: bad("a path segment is longer than any id", [414]),
  invalid_request: bad("the request is not valid HTTP"),
  request_timeout: bad("the request did not arrive within the request timeout", [408]),
  headers_too_large: bad("the request headers are too large", [431]),
  bad_request: bad("the framework refused the request (the message says why)"),
  route_not_found: { status: [404], type: "not_found_error", meaning: "no route has this method and path" },
  unknown_field: bad("the body has a field this endpoint does not take; `param` names it"),
  invalid_type: bad("a field has the wrong JSON type; `param` names it"),
  invalid_value: bad("a field has the right type but a refused value; `param` names it"),
  missing_parameter: bad("a required field is missing; `param` names it"),
  misplaced_parameter: bad("a field was sent at the wrong level (e.g. callback_url outside metadata)"),
  conflicting_parameters: bad("two fields say different things (e.g. seconds and duration)"),
  out_of_range: bad("a number is outside the accepted range"),
  invalid_limit: bad("`limit` is not an integer in the accepted range"),
  invalid_cursor: bad("`after` is not a cursor from a previous page"),
  invalid_status: bad("`status` is not a task status"),
  invalid_idempotency_key: bad("Idempotency-Key is not 1–255 printable ASCII characters"),

  // Keys and permissions
  missing_api_key: {
    status: [401],
    type: "authentication_error",
    also: [[400, "invalid_request_error"]],
    meaning: "no API key was sent (401); for a channel, no upstream api_key was given (400)",
  },
  invalid_authorization_header: {
    status: [401],
    type: "authentication_error",
    meaning: "the Authorization header is not 'Bearer sk-…'",
  },
  invalid_api_key: {
    status: [401],
    type: "authentication_error",
    meaning: "the key is unknown or revoked",
  },
  metrics_token_required: {
    status: [401],
    type: "authentication_error",
    meaning: "/metrics needs the metrics token or an admin key",
  },
  admin_only: {
    status: [403],
    type: "permission_error",
    meaning: "the endpoint needs an admin account's key",
  },
  test_mode_key: {
    status: [403],
    type: "permission_error",
    meaning: "test-mode keys cannot use administration endpoints",
  },
  model_not_allowed: {
    status: [403],
    type: "permission_error",
    meaning: "the key's limits do not allow this model",
  },
  missing_account: bad("a key needs account_id or account_name"),
  account_not_found: { status: [404], type: "not_found_error", meaning: "no such account" },
  key_not_found: { status: [404], type: "not_found_error", meaning: "no such API key" },

  // Balance and limits
  insufficient_balance: {
    status: [403],
    type: "insufficient_quota",
    meaning: "the account's available balance cannot cover the task's worst-case cost",
  },
  daily_spend_cap_exceeded: {
    status: [403],
    type: "insufficient_quota",
    meaning: "the key's daily spend cap would be passed",
  },
  storage_quota_exceeded: {
    status: [403],
    type: "insufficient_quota",
    meaning: "the account's stored files would pass its storage quota",
  },
  rate_limit_exceeded: {
    status: [429],
    type: "rate_limit_error",
    meaning: "the key's requests per minute are used up; Retry-After says when to retry",
  },
  concurrency_limit_exceeded: {
    status: [429],
    type: "rate_limit_error",
    meaning: "the key has as many unfinished tasks as its limit allows",
  },
  too_many_streams: {
    status: [429],
    type: "rate_limit_error",
    meaning: "too many open event streams for this key or process",
  },

  // Submitting a task
  model_not_found: {
    status: [400],
    type: "invalid_request_error",
    also: [[404, "not_found_error"]],
    meaning: "no catalog model has this id (the message names the nearest ones)",
  },
  model_not_available: {
    status: [404],
    type: "not_found_error",
    meaning: "no channel of this gateway serves the model for this key",
  },
  model_disabled: bad("the operator has disabled this model; `param` is `model`"),
  prompt_too_long: bad("the prompt is longer than the model accepts"),
  unsupported_operation: bad("the model cannot edit or extend videos (the message names models that can)"),
  unsupported_edit: bad(
    "the local engine cannot act on the edit prompt: none recognised, or two that contradict (the message lists what it can do)",
  ),
  source_not_ready: bad(
    "the source task of an edit or extension has not succeeded, or its video has expired",
  ),
  invalid_keyframe: bad("a keyframe is outside the clip, off the model's time grid, or too many"),
  unsupported_by_model: bad("the model does not offer this option, mode or media kind"),
  invalid_url: bad("a media or callback URL is not an accepted http(s) or data: URL"),
  invalid_role: bad("a content entry's role is not one its type may have"),
  too_many_media: bad("metadata.content has more entries than the model accepts"),
  mixed_roles: bad("frame roles and reference roles are mixed in one request"),
  duplicate_role: bad("a role that may appear once appears twice"),
  missing_first_frame: bad("a last_frame was given without a first_frame"),
  audio_needs_visual: bad("reference audio needs at least one image or video with it"),
  invalid_citation: bad("the prompt cites @imageN/@videoN/@audioN that metadata.content lacks"),
  image_too_small: bad("an image is smaller than the model accepts"),
  image_too_large: bad(
    "an image is larger than the model accepts, or decodes to too many pixels",
    [400, 413],
  ),
  image_aspect_ratio: bad("an image's aspect ratio is outside what the model accepts"),
  media_too_large: bad("a media file is larger than the model accepts"),
  media_too_long: bad("a video or audio reference lasts longer than the model accepts"),
  media_kind_mismatch: bad("a data: URL holds a different kind of media than its entry says"),
  file_not_found: {
    status: [400],
    type: "invalid_request_error",
    also: [[404, "not_found_error"]],
    meaning: "the file is unknown or expired (400 when cited in a submit, 404 at its own URL)",
  },
  invalid_callback_url: bad("metadata.callback_url cannot be used (not public, not http(s))"),
  idempotency_key_reused: {
    status: [409],
    type: "idempotency_error",
    meaning: "the Idempotency-Key was used with a different body in the last 24 h",
  },
  idempotency_task_deleted: {
    status: [409],
    type: "idempotency_error",
    meaning: "the task this Idempotency-Key created was deleted",
  },

  // Uploads and media
  missing_file: bad("no file part in the multipart body"),
  unexpected_file: bad("a file arrived in a field this endpoint does not read"),
  empty_file: bad("the file has zero bytes"),
  invalid_file: bad("the bytes claim a media type but cannot be decoded as it"),
  invalid_data_url: bad("a data: URL is malformed or not base64"),
  no_video_stream: bad("a video file has no video stream"),
  no_audio_stream: bad("an audio file has no audio stream"),
  media_inspection_timeout: bad("inspecting the media took too long (unusually complex file)"),
  unsupported_media_type: bad("the bytes are not an accepted media type", [415]),
  file_too_large: bad("the file is larger than the limit for its kind", [413]),
  video_resolution_too_large: bad("the video frame has more pixels than the limit", [413]),
  duration_too_long: bad("the video or audio runs longer than the limit", [413]),

  // Tasks and their media
  task_not_found: {
    status: [404],
    type: "not_found_error",
    meaning: "no task with this id for this account",
  },
  task_not_cancellable: bad(
    "the task has already finished; only submitted or running tasks can be cancelled",
    [409],
  ),
  video_not_ready: bad("the task has not succeeded; the video exists once it has", [409]),
  video_expired: bad("the finished video passed its retention and was deleted", [410]),
  media_not_found: { status: [404], type: "not_found_error", meaning: "no media at this capability URL" },
  media_gone: { status: [404], type: "not_found_error", meaning: "the media was deleted or expired" },
  range_not_satisfiable: bad("the Range header asks for bytes the file does not have", [416]),
  upstream_cancel_failed: {
    status: [502],
    type: "upstream_error",
    meaning: "the provider could not be reached to cancel the task",
  },

  // OpenAI-compatible door
  invalid_size: bad("`size` is not WIDTHxHEIGHT"),
  unsupported_size: bad("the model makes no frame of this size"),
  input_reference_not_supported: bad("the model takes no input_reference of this kind"),
  invalid_input_reference: bad("input_reference is not an image or video"),

  // Webhooks
  delivery_not_found: { status: [404], type: "not_found_error", meaning: "no such webhook delivery" },
  delivery_not_replayable: bad("only exhausted or gone deliveries can be replayed", [409]),
  invalid_grace: bad("grace_seconds is not a whole number from 0 to 604800"),
  hook_not_found: {
    status: [404],
    type: "not_found_error",
    meaning: "no upstream callback hook at this URL",
  },
  callback_refused: {
    status: [401],
    type: "authentication_error",
    meaning: "an upstream callback could not be verified or names no task",
  },

  // Channels (administration)
  channel_not_found: { status: [404], type: "not_found_error", meaning: "no such channel" },
  unknown_provider: bad("provider is not one of this gateway's adapters"),
  unknown_model: bad("a channel's models map names a model the catalog lacks"),
  missing_models: bad("a channel needs a models map of catalog id → upstream id"),
  invalid_upstream_model: bad("an upstream model id is empty or too long"),
  invalid_base_url: bad("base_url is not an http(s) URL"),

  // Billing (administration)
  invalid_amount: bad("an amount is not a non-negative decimal with at most 6 places"),
  invalid_resolution: bad("a price names a resolution that does not exist"),
  incomplete_price: bad("a price does not cover every resolution the model offers"),
  currency_mismatch: bad("a price is in another currency than the gateway bills in"),
  price_version_not_found: bad("the model has no price version with this number"),
  model_not_priced: {
    status: [500],
    type: "server_error",
    meaning: "the model has no price the operator set; it cannot be billed",
  },
  adjustment_exceeds_available: bad("a debit would take the available balance below zero"),
  invalid_date: bad("a date is not YYYY-MM-DD"),
  invalid_date_range: bad("start_date is after end_date"),
  invalid_group_by: bad("group_by is not a subset of day, model, key"),

  // The server itself
  store_unavailable: { status: [503], type: "server_error", meaning: "the store cannot be reached; retry" },
  storage_unavailable: {
    status: [503],
    type: "server_error",
    meaning: "blob storage cannot be reached; retry",
  },
  server_unavailable: {
    status: [503],
    type: "server_error",
    meaning: "the process is starting or stopping; retry",
  },
  internal_error: { status: [500], type: "server_error", meaning: "a bug; the request id is in the log" },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(ERROR_CODES, code);
}

/** Every (status, type) a code is answered with. */
export function answersOf(code: ErrorCode): Array<readonly [number, ErrorType]> {
  const info: ErrorCodeInfo = ERROR_CODES[code];
  return [...info.status.map((status) => [status, info.type] as const), ...(info.also ?? [])];
}

/** The codes an answer with `status` may carry. */
export function codesWithStatus(status: number): ErrorCode[] {
  return (Object.keys(ERROR_CODES) as ErrorCode[]).filter((code) =>
    answersOf(code).some(([s]) => s === status),
  );
}
