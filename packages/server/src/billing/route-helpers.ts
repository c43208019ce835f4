/** What the billing route files share: the account path parameter and its existence check. */
import { z } from "zod";
import { notFound, shown } from "../domain/errors.ts";
import type { Billing } from "./billing.ts";

export const AccountParams = z.object({ account_id: z.string().describe("acct_…") });

/** 404 `account_not_found` unless the account exists. */
export async function requireAccount(billing: Billing, id: string, param = "account_id"): Promise<void> {
  if (!(await billing.repository.exists("accounts", id)))
    throw notFound("account_not_found", `no account ${shown(id)}`, param);
}
