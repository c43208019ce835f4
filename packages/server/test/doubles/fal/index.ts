export {
  DEFAULT_FAL_KEY,
  DEFAULT_FAL_SETTINGS,
  FAL_USER_ID,
  type FalDouble,
  type FalDoubleOptions,
  type FalRequest,
  type FalRequestPatch,
  type FalSettings,
  type FalStatusName,
  type FalWebhookSettings,
  falError,
  startFalDouble,
} from "./double.ts";
export { type SignatureFault, type SigningKey, WebhookKeys } from "./signing.ts";
export { APPS, type Detail, type Endpoint, validateInput } from "./validate.ts";
