/** Zod schemas of the key and account administration routes (admin keys only). */
import { z } from "zod";
import { plainList, UnixSeconds } from "../http/schema.ts";
import { BILLING_MODES } from "../store/schema.ts";

export const BillingModeSchema = z
  .enum(BILLING_MODES, { error: 'billing_mode must be "prepaid" or "unmetered"' })
  .describe(
    "`prepaid`: a task needs the balance to cover its worst-case price. " +
      "`unmetered`: usage and cost are recorded and reported, no balance is needed; limits still apply.",
  );

export const KeyObject = z
  .object({
    id: z.string(),
    object: z.literal("api_key"),
    name: z.string(),
    account_id: z.string(),
    prefix: z.string().describe("The key's first characters, to recognise it; the key is stored hashed."),
    test_mode: z.boolean().describe("Test-mode keys are served by the local engine only, and never billed."),
    created_at: UnixSeconds,
    last_used_at: UnixSeconds.nullable(),
    revoked_at: UnixSeconds.nullable(),
    key: z.string().optional().describe("The secret `sk-…`: only in the response that creates the key."),
  })
  .meta({ title: "ApiKey" });
export type KeyObject = z.infer<typeof KeyObject>;

export const AccountObject = z
  .object({
    id: z.string(),
    object: z.literal("account"),
    name: z.string(),
    admin: z.boolean(),
    billing_mode: BillingModeSchema,
    created_at: UnixSeconds,
  })
  .meta({ title: "Account" });
export type AccountObject = z.infer<typeof AccountObject>;

export const KeyCreated = KeyObject.extend({ account: AccountObject }).meta({ title: "ApiKeyCreated" });

export const CreateKeyBody = z
  .object({
    account_id: z
      .string({ error: "account_id must be a string" })
      .max(100, "account_id must be an account id (acct_…)")
      .optional()
      .describe("An existing account."),
    account_name: z
      .string({ error: "account_name must be a string" })
      .max(200, "account_name must be at most 200 characters")
      .optional()
      .describe("Create a new account with this name (when account_id is not given)."),
    name: z
      .string({ error: "name must be a string" })
      .max(200, "name must be at most 200 characters")
      .optional()
      .describe("A label for the key."),
    test_mode: z.boolean({ error: "test_mode must be true or false" }).optional(),
    admin: z.boolean({ error: "admin must be true or false" }).optional().describe("For a new account."),
    billing_mode: BillingModeSchema.optional().describe("For a new account; default `prepaid`."),
  })
  .meta({ title: "CreateApiKey" });

export const KeyList = plainList(KeyObject, "ApiKeyList");
export const AccountList = plainList(AccountObject, "AccountList");

export const WhoAmI = z
  .object({
    object: z.literal("whoami"),
    key: KeyObject,
    account: AccountObject,
  })
  .meta({ title: "WhoAmI" });

export const UpdateAccountBody = z
  .object({ billing_mode: BillingModeSchema })
  .meta({ title: "UpdateAccount" });
