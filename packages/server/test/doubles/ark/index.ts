export {
  ARK_STATUSES,
  type ArkCallbackSettings,
  type ArkDouble,
  type ArkDoubleOptions,
  type ArkSettings,
  type ArkStatus,
  type ArkTask,
  type ArkTaskError,
  type ArkTaskPatch,
  DEFAULT_ARK_SETTINGS,
  DEFAULT_KEYS,
  startArkDouble,
} from "./double.ts";
export { ArkRequestError, arkError, errorKind } from "./errors.ts";
export { findModel, MODELS, type ModelSpec, type Profile, pixelSize } from "./models.ts";
