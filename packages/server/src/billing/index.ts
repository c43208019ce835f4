/** The billing core's public surface, for the owner's wiring (server.ts, TaskService, migrations). */
export { BillingRefusal, isBillingRefusal, type RefusalReason } from "./errors.ts";
export type { LimitPatch, LimitSettings } from "./limits.ts";
export { billingMigrations } from "./migrations.ts";
export { formatMoney, moneyFromJson } from "./money.ts";
export { type ApiPricing, DEFAULT_PRICES, type PriceRule, type PriceVersion } from "./prices.ts";
export { billingRoutes } from "./routes.ts";
export type { BillingDatabase, BillingDb } from "./schema.ts";
export {
  type Balance,
  type BillingOptions,
  BillingService,
  type Discrepancy,
  type HoldParams,
  type HoldResult,
  outcomeFromRow,
  type SettleOutcome,
  type SettleResult,
  type TaskUsage,
  type UsageQuery,
  type UsageRow,
} from "./service.ts";
