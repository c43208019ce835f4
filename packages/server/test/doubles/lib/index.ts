export {
  type AttemptKind,
  type CallbackAttempt,
  Callbacks,
  type Delivery,
  type DeliveryPolicy,
} from "./callbacks.ts";
export { Clock, type ClockOptions, type ClockTimer, isoBasic } from "./clock.ts";
export {
  type BaseSettings,
  ControlError,
  DEFAULT_MAX_BODY_BYTES,
  type Double,
  type DoubleCore,
  type DoubleHooks,
  type DoubleOptions,
  MEDIA_META_HEADER,
  type MediaMeta,
  startDouble,
} from "./double.ts";
export {
  type FaultAction,
  FaultError,
  type FaultMatch,
  type FaultRule,
  type FaultRuleInput,
  Faults,
  type Throttle,
} from "./faults.ts";
export {
  DEFAULT_FILE_TTL_MS,
  type ExpireFilter,
  type FileKind,
  type FileStyle,
  Files,
  type PublishedFile,
  type PublishOptions,
} from "./files.ts";
export { json, lbErrorPage, type Reply, type RequestContext, type Route } from "./http.ts";
export { Journal, type JournalEntry, type JournalFilter, pathMatcher, redactHeaders } from "./journal.ts";
export { MEDIA_DIR, type SampleMedia, sampleMedia } from "./media.ts";
export { Rng } from "./random.ts";
