/** Zod schemas of the billing routes: balance, usage, ledger, prices and limits. */
import { z } from "zod";
import { UnixSeconds } from "../http/schema.ts";

const Money = z.string().describe('Decimal string in the currency\'s units, e.g. `"0.3500"`.');
const MoneyIn = z
  .union([z.string(), z.number()])
  .describe('Decimal in the currency\'s units, at most 6 decimals, e.g. `"10.00"`.');

export const BalanceObject = z
  .object({
    object: z.literal("balance"),
    account_id: z.string(),
    billing_mode: z
      .enum(["prepaid", "unmetered"])
      .describe("`unmetered`: usage and cost are recorded, the balance is neither needed nor charged."),
    currency: z.string(),
    balance: Money,
    held: Money.describe("Reserved by tasks still running (worst case)."),
    available: Money.describe("balance − held: what new tasks may spend."),
    balance_micros: z.int(),
    held_micros: z.int(),
    available_micros: z.int(),
    updated_at: UnixSeconds.nullable(),
  })
  .meta({ title: "Balance" });

export const AccountQuery = z.object({
  account_id: z
    .string({ error: "account_id must be a string" })
    .optional()
    .describe("Admins: another account's (default: the caller's)."),
});

export const UsageRowObject = z.object({
  object: z.literal("usage"),
  date: z.string().optional(),
  model: z.string().optional(),
  key_id: z.string().optional(),
  tasks: z.int(),
  succeeded: z.int(),
  failed: z.int(),
  in_progress: z.int(),
  seconds: z.number(),
  cost: Money,
  cost_micros: z.int(),
});

/** A usage report's `totals`: a row's counts and cost, over every row. */
export const UsageTotals = UsageRowObject.omit({ object: true });

export const UsageQuery = AccountQuery.extend({
  start_date: z
    .string({ error: "start_date must be given once" })
    .optional()
    .describe("YYYY-MM-DD (UTC); default 29 days before end_date."),
  end_date: z
    .string({ error: "end_date must be given once" })
    .optional()
    .describe("YYYY-MM-DD (UTC); default today."),
  group_by: z
    .string({ error: "group_by must be given once" })
    .optional()
    .describe("Comma-separated subset of day, model, key (default all three)."),
  model: z.string({ error: "model must be given once" }).optional(),
  key_id: z.string({ error: "key_id must be given once" }).optional(),
});

export const UsageReport = z
  .object({
    object: z.literal("list"),
    data: z.array(UsageRowObject),
    has_more: z.boolean(),
    totals: UsageTotals,
    currency: z.string(),
    account_id: z.string(),
    start_date: z.string(),
    end_date: z.string(),
    group_by: z.array(z.string()),
  })
  .meta({ title: "UsageReport" });

export const LedgerEntry = z
  .object({
    object: z.literal("ledger_entry"),
    id: z.string(),
    account_id: z.string(),
    kind: z.string().describe("topup, adjustment, charge, …"),
    amount: Money,
    amount_micros: z.int(),
    currency: z.string(),
    task_id: z.string().nullable(),
    key_id: z.string().nullable(),
    idempotency_key: z.string().nullable(),
    note: z.string().nullable(),
    created_at: UnixSeconds,
  })
  .meta({ title: "LedgerEntry" });

export const LedgerList = z
  .object({ object: z.literal("list"), data: z.array(LedgerEntry), has_more: z.boolean() })
  .meta({ title: "LedgerList" });

export const LedgerQuery = z.object({
  limit: z.string().optional().describe("1–500, default 50."),
});

/** Top-up (positive) and adjustment (signed) bodies; amounts are checked by the ledger rules. */
export const AmountBody = z
  .object({
    amount: MoneyIn.optional(),
    amount_micros: z.int().optional().describe("The amount in micro-units instead of `amount`."),
    note: z.string().optional().describe("Kept with the ledger entry (at most 500 characters)."),
    idempotency_key: z
      .string()
      .optional()
      .describe("Or the Idempotency-Key header: the same key never credits twice."),
  })
  .meta({ title: "LedgerAmount" });

export const LedgerResult = z
  .object({
    object: z.enum(["topup", "adjustment"]),
    replayed: z.boolean().describe("True when the idempotency key had already been used: nothing changed."),
    entry: LedgerEntry,
    balance: BalanceObject,
  })
  .meta({ title: "LedgerResult" });

export const PriceObject = z
  .looseObject({
    object: z.literal("price"),
    id: z.string(),
    model: z.string(),
    version: z.int(),
    currency: z.string(),
    per_second: z.record(z.string(), Money).describe("Per resolution."),
    per_clip: Money,
    per_million_tokens: Money.nullable(),
    tokens_per_second: z.record(z.string(), z.number()),
    note: z.string().nullable(),
    created_by: z.string().nullable(),
    created_at: UnixSeconds,
  })
  .meta({ title: "Price" });

export const PriceBody = z
  .looseObject({
    per_second: z.record(z.string(), MoneyIn).optional().describe('Per resolution, e.g. `{"720p": "0.07"}`.'),
    per_clip: MoneyIn.optional(),
    per_million_tokens: MoneyIn.nullable().optional(),
    tokens_per_second: z.record(z.string(), z.number()).optional(),
    note: z.string().optional(),
  })
  .meta({ title: "PriceInput" });

export const PriceHistory = z
  .object({
    object: z.literal("price_list"),
    model: z.string(),
    current: PriceObject.nullable(),
    versions: z.array(PriceObject),
    local_renders: z.enum(["priced", "free"]).describe("Whether local renders are billed."),
  })
  .meta({ title: "PriceHistory" });

/** One model's current price (`pricing` as on the model object; null when unpriced). */
export const ModelPrice = z.object({ model: z.string(), pricing: z.unknown().nullable() });

export const ModelPrices = z
  .object({
    object: z.literal("list"),
    data: z.array(ModelPrice),
    has_more: z.boolean(),
  })
  .meta({ title: "ModelPrices" });

export const LimitsObject = z
  .object({
    object: z.literal("limits"),
    scope: z.enum(["account", "key"]),
    id: z.string(),
    requests_per_minute: z.int().nullable(),
    max_concurrent: z.int().nullable(),
    daily_spend_cap_micros: z.int().nullable(),
    allowed_models: z.array(z.string()).nullable(),
    updated_at: UnixSeconds.nullable(),
  })
  .meta({ title: "Limits", description: "null: inherit (key → account → gateway default)." });

export const LimitsBody = z
  .object({
    requests_per_minute: z.int().nullable().optional(),
    max_concurrent: z.int().nullable().optional(),
    daily_spend_cap: MoneyIn.nullable().optional(),
    allowed_models: z.array(z.string()).nullable().optional(),
  })
  .meta({ title: "LimitsInput", description: "Fields left out are unchanged; null clears (inherit)." });
