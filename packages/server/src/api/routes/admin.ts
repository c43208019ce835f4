import type { FastifyInstance } from "fastify";
import { ApiError, invalid } from "../../domain/errors.ts";
import type { KeyService } from "../../keys/service.ts";
import type { AppContext } from "../context.ts";

/** Operator endpoints; only keys of an admin account may call them. */
export async function adminRoutes(
  app: FastifyInstance,
  { ctx, keys }: { ctx: AppContext; keys: KeyService },
): Promise<void> {
  app.addHook("preHandler", async (request) => {
    if (request.principal.account.is_admin !== 1) {
      throw new ApiError(
        403,
        "permission_error",
        "admin_only",
        "this endpoint needs an admin account's API key",
      );
    }
  });

  app.get("/v1/admin/accounts", async () => ({
    object: "list",
    data: await keys.listAccounts(),
    has_more: false,
  }));

  app.post("/v1/admin/keys", async (request) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    for (const field of ["account_id", "account_name", "name"] as const) {
      if (body[field] !== undefined && typeof body[field] !== "string") {
        throw invalid("invalid_type", `${field} must be a string`, field);
      }
    }
    for (const field of ["test_mode", "admin"] as const) {
      if (body[field] !== undefined && typeof body[field] !== "boolean") {
        throw invalid("invalid_type", `${field} must be true or false`, field);
      }
    }
    const { account, key } = await keys.create({
      accountId: body.account_id as string | undefined,
      accountName: body.account_name as string | undefined,
      admin: body.admin as boolean | undefined,
      name: body.name as string | undefined,
      testMode: body.test_mode as boolean | undefined,
    });
    return { ...key, account: keys.accountToApi(account) };
  });

  app.get("/v1/admin/keys", async (request) => {
    const { account_id } = request.query as { account_id?: string };
    return { object: "list", data: await keys.list(account_id || undefined), has_more: false };
  });

  app.post<{ Params: { id: string } }>("/v1/admin/keys/:id/revoke", async (request) => {
    const key = await keys.revoke(request.params.id);
    ctx.auth.forgetKey(key.id);
    return key;
  });
}
