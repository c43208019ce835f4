export {
  type DashScopeDouble,
  type DashScopeDoubleOptions,
  type DashScopeProfile,
  type DashScopeSettings,
  DEFAULT_DASHSCOPE_SETTINGS,
  DEFAULT_DS_KEYS,
  type DsStatus,
  type DsTask,
  type DsTaskPatch,
  dsError,
  startDashScopeDouble,
} from "./double.ts";
export { type CreateParams, DsRequestError, MODELS, parseMarkers, validateCreate } from "./validate.ts";
