/** Key and account administration (admin keys only): accounts, keys, revocation. */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { route } from "../http/route.ts";
import type { AuthService } from "./auth.ts";
import {
  AccountList,
  AccountObject,
  CreateKeyBody,
  KeyCreated,
  KeyList,
  KeyObject,
  UpdateAccountBody,
  WhoAmI,
} from "./schemas.ts";
import type { KeyService } from "./service.ts";

export interface KeyRouteDeps {
  keys: KeyService;
  auth: Pick<AuthService, "forgetKey">;
}

/**
 * `GET /v1/me`: the calling key and its account (never the secret). Any key may ask; clients such
 * as the console use it to check a key and to know whether to offer administration.
 */
export async function whoAmIRoutes(
  app: FastifyInstance,
  { keys }: Pick<KeyRouteDeps, "keys">,
): Promise<void> {
  route(app, {
    method: "GET",
    url: "/v1/me",
    operationId: "whoAmI",
    summary: "The calling API key and its account",
    tag: "Administration",
    auth: "key",
    response: WhoAmI,
    errors: [401],
  })(async ({ request }) => {
    const { key, account } = request.principal;
    return { object: "whoami", key: keys.keyToApi(key), account: keys.accountToApi(account) };
  });
}

export async function keyRoutes(app: FastifyInstance, { keys, auth }: KeyRouteDeps): Promise<void> {
  route(app, {
    method: "GET",
    url: "/v1/admin/accounts",
    operationId: "listAccounts",
    summary: "List accounts",
    tag: "Administration",
    auth: "admin",
    response: AccountList,
    errors: [401, 403],
  })(async () => ({ object: "list", data: await keys.listAccounts(), has_more: false }));

  route(app, {
    method: "PATCH",
    url: "/v1/admin/accounts/:account_id",
    operationId: "updateAccount",
    summary: "Change an account's billing mode (prepaid or unmetered)",
    tag: "Administration",
    auth: "admin",
    params: z.object({ account_id: z.string().describe("acct_…") }),
    body: UpdateAccountBody,
    response: AccountObject,
    errors: [400, 401, 403, 404],
  })(async ({ params, body }) => keys.updateAccount(params.account_id, { billingMode: body.billing_mode }));

  route(app, {
    method: "POST",
    url: "/v1/admin/keys",
    operationId: "createKey",
    summary: "Create an API key, for an existing account or a new one; the secret is shown once",
    tag: "Administration",
    auth: "admin",
    body: CreateKeyBody,
    response: KeyCreated,
    errors: [400, 401, 403, 404],
  })(async ({ body }) => {
    const { account, key } = await keys.create({
      accountId: body.account_id,
      accountName: body.account_name,
      admin: body.admin,
      billingMode: body.billing_mode,
      name: body.name,
      testMode: body.test_mode,
    });
    return { ...key, account: keys.accountToApi(account) };
  });

  route(app, {
    method: "GET",
    url: "/v1/admin/keys",
    operationId: "listKeys",
    summary: "List API keys (never their secrets)",
    tag: "Administration",
    auth: "admin",
    query: z.object({ account_id: z.string().optional().describe("Only this account's keys.") }),
    response: KeyList,
    errors: [401, 403],
  })(async ({ query }) => ({
    object: "list",
    data: await keys.list(query.account_id || undefined),
    has_more: false,
  }));

  route(app, {
    method: "POST",
    url: "/v1/admin/keys/:key_id/revoke",
    operationId: "revokeKey",
    summary: "Revoke an API key (effective at once on this process)",
    tag: "Administration",
    auth: "admin",
    params: z.object({ key_id: z.string().describe("key_…") }),
    response: KeyObject,
    errors: [401, 403, 404],
  })(async ({ params }) => {
    const key = await keys.revoke(params.key_id);
    auth.forgetKey(key.id);
    return key;
  });
}
