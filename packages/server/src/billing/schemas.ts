/** Zod schemas of the billing routes: balance, usage, ledger, prices and limits. */
import { z } from "zod";
import { formatPath, withErrorCode } from "../http/route.ts";
import { plainList, UnixSeconds } from "../http/schema.ts";
import { moneyFromJson } from "./money.ts";

const Money = z.string().describe('Decimal string in the currency\'s units, e.g. `"0.3500"`.');

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

export const LedgerList = plainList(LedgerEntry, "LedgerList");

export const LedgerQuery = z.object({
  limit: z.string().optional().describe("1–500, default 50."),
});

/** `amount must be …`: money fields name themselves in their refusal (the path is known only then). */
const moneyIn = (error: (path: string) => string) =>
  z
    .union([z.string(), z.number()], { error: (issue) => error(formatPath(issue.path ?? [])) })
    .describe('Decimal in the currency\'s units, at most 6 decimals, e.g. `"10.00"`.');

const NOTE_ERROR = "note must be a string";

/**
 * A top-up (`positive`) or adjustment (`signed`) body: `amount` as a decimal, or `amount_micros`
 * (which wins when both are given). Out: `micros`, the amount in micro-units.
 */
function ledgerAmountBody(sign: "positive" | "signed") {
  const signed = sign === "signed";
  const amountError = `amount must be a ${signed ? "non-zero" : "positive"} decimal such as "10.00" (at most 6 decimals)`;
  const microsError = "amount_micros must be a non-zero integer of micro-units";
  return z
    .object({
      amount: withErrorCode(moneyIn(() => amountError).optional(), "invalid_amount"),
      amount_micros: withErrorCode(z.int({ error: microsError }).optional(), "invalid_amount").describe(
        "The amount in micro-units instead of `amount`.",
      ),
      note: z
        .string({ error: NOTE_ERROR })
        .max(500, { error: "note must be at most 500 characters" })
        .nullable()
        .optional()
        .describe("Kept with the ledger entry (at most 500 characters)."),
      idempotency_key: withErrorCode(
        z.string({ error: "idempotency_key must be a string" }),
        "invalid_idempotency_key",
      )
        .optional()
        .describe("Or the Idempotency-Key header: the same key never credits twice."),
    })
    .meta({ title: "LedgerAmount" })
    .transform((body, ctx) => {
      const micros =
        body.amount_micros !== undefined ? body.amount_micros : moneyFromJson(body.amount, signed);
      if (micros !== undefined && micros !== 0 && (signed || micros > 0)) return { ...body, micros };
      const param = body.amount_micros !== undefined ? "amount_micros" : "amount";
      ctx.addIssue({
        code: "custom",
        path: [param],
        message: param === "amount" ? amountError : microsError,
      });
      return z.NEVER;
    });
}

/** Top-up body: a positive amount. */
export const TopupBody = ledgerAmountBody("positive");
/** Adjustment body: a signed, non-zero amount. */
export const AdjustmentBody = ledgerAmountBody("signed");
/** Either ledger body as a client writes it (the SDK's `LedgerAmountParams`). */
export const AmountBody = TopupBody;

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

const amountError = (param: string) =>
  `${param} must be a non-negative decimal such as "0.07" (at most 6 decimals)`;

/** A non-negative money amount in micro-units (out), from a decimal string or number (in). */
const PriceAmount = withErrorCode(
  moneyIn(amountError)
    .refine((value) => moneyFromJson(value) !== undefined, {
      error: (issue) => amountError(formatPath(issue.path ?? [])),
    })
    .transform((value) => moneyFromJson(value)!),
  "invalid_amount",
);

const TokenCount = withErrorCode(
  z.int({ error: (issue) => `${formatPath(issue.path ?? [])} must be a non-negative integer` }).min(0, {
    error: (issue) => `${formatPath(issue.path ?? [])} must be a non-negative integer`,
  }),
  "invalid_type",
);

/**
 * A value per resolution. Other keys pass through: which resolutions a price may name is the
 * model's to say (`priceRuleOf`), so an unknown one is refused there as `invalid_resolution`.
 */
const byResolution = <T extends z.ZodType>(value: T) =>
  z
    .looseObject(
      { "480p": value.optional(), "720p": value.optional(), "1080p": value.optional() },
      {
        error: (issue) =>
          `${formatPath(issue.path ?? [])} must be an object keyed by resolution, e.g. {"720p": …}`,
      },
    )
    .nullable()
    .optional();

/** A price version as sent; what the model offers and the gateway's currency are checked by `priceRuleOf`. */
export const PriceBody = z
  .looseObject(
    {
      per_second: byResolution(PriceAmount).describe('Per resolution, e.g. `{"720p": "0.07"}`.'),
      per_clip: PriceAmount.nullable().optional(),
      per_million_tokens: PriceAmount.nullable().optional(),
      tokens_per_second: byResolution(TokenCount),
      note: z.string({ error: NOTE_ERROR }).nullable().optional(),
    },
    { error: 'send a JSON object such as {"per_second": {"720p": "0.07"}}' },
  )
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

const limit = (
  name: string,
  min: number,
  error = `${name} must be an integer ≥ ${min}, or null to inherit`,
) => withErrorCode(z.int({ error }).min(min, { error }).nullable().optional(), "invalid_limit");

const SPEND_CAP_ERROR = 'daily_spend_cap must be a decimal such as "25.00", or null';

/** Out: `daily_spend_cap` in micro-units; `allowed_models` are checked against the catalog by the route. */
export const LimitsBody = z
  .object({
    requests_per_minute: limit("requests_per_minute", 1),
    max_concurrent: limit("max_concurrent", 0),
    daily_spend_cap: withErrorCode(
      moneyIn(() => SPEND_CAP_ERROR)
        .refine((value) => moneyFromJson(value) !== undefined, { error: SPEND_CAP_ERROR })
        .transform((value) => moneyFromJson(value)!)
        .nullable()
        .optional(),
      "invalid_amount",
    ),
    allowed_models: z
      .array(z.string({ error: "allowed_models must be an array of model ids, or null for all" }), {
        error: "allowed_models must be an array of model ids, or null for all",
      })
      .nullable()
      .optional(),
  })
  .meta({ title: "LimitsInput", description: "Fields left out are unchanged; null clears (inherit)." });
