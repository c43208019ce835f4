export { VidRelay, VidRelay as default } from "./client.ts";
export {
  type ClientOptions,
  DEFAULT_BASE_URL,
  DEFAULT_MAX_RETRIES,
  DEFAULT_TIMEOUT_MS,
  Paginator,
  type RequestOptions,
  SDK_VERSION,
} from "./core.ts";
export {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  BadRequestError,
  ConflictError,
  InternalServerError,
  NotFoundError,
  PayloadTooLargeError,
  PermissionDeniedError,
  RateLimitError,
  TaskFailedError,
  UnsupportedMediaTypeError,
  VidRelayError,
  WebhookVerificationError,
} from "./errors.ts";
export type {
  Admin,
  AdminAccounts,
  AdminChannels,
  AdminKeys,
  AdminLedger,
  AdminLimits,
  AdminPrices,
  LedgerWriteOptions,
} from "./resources/admin.ts";
export type { Billing } from "./resources/billing.ts";
export type { Uploadable, UploadOptions } from "./resources/files.ts";
export type { CreateOptions, EventsOptions, WaitOptions } from "./resources/videos.ts";
export { parseSSE, type ServerSentEvent } from "./sse.ts";
export * from "./types.ts";
export { signWebhook, type VerifyWebhookOptions, verifyWebhook, type WebhookHeaders } from "./webhooks.ts";
