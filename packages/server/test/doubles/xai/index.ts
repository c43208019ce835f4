export {
  DEFAULT_XAI_KEY,
  DEFAULT_XAI_SETTINGS,
  startXaiDouble,
  type XaiDouble,
  type XaiDoubleOptions,
  type XaiRequest,
  type XaiRequestPatch,
  type XaiSettings,
  type XaiStatus,
  xaiError,
} from "./double.ts";
