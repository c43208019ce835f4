import type { Kysely } from "kysely";
import { countRows } from "../store/db.ts";
import type { Account, ApiKeyRow, BillingMode, Database } from "../store/schema.ts";
import { newAccountId, newApiKey, newKeyId, sha256Hex } from "../util/ids.ts";

export interface CreatedKey {
  key: ApiKeyRow;
  /** The secret itself: shown once, never stored. */
  secret: string;
}

/** Accounts and their API keys. Keys are stored as SHA-256 hashes only. */
export class AccountRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async createAccount(
    name: string,
    isAdmin: boolean,
    billingMode: BillingMode = "prepaid",
  ): Promise<Account> {
    const account: Account = {
      id: newAccountId(),
      name,
      is_admin: isAdmin ? 1 : 0,
      billing_mode: billingMode,
      created_at: Date.now(),
    };
    await this.db.insertInto("accounts").values(account).execute();
    return account;
  }

  /** False when there is no such account. */
  async setBillingMode(id: string, mode: BillingMode): Promise<boolean> {
    const result = await this.db
      .updateTable("accounts")
      .set({ billing_mode: mode })
      .where("id", "=", id)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  getAccount(id: string): Promise<Account | undefined> {
    return this.db.selectFrom("accounts").selectAll().where("id", "=", id).executeTakeFirst();
  }

  listAccounts(): Promise<Account[]> {
    return this.db.selectFrom("accounts").selectAll().orderBy("created_at").orderBy("id").execute();
  }

  countAccounts(): Promise<number> {
    return countRows(this.db, "accounts");
  }

  async createKey(
    accountId: string,
    options: { name?: string; testMode?: boolean; secret?: string } = {},
  ): Promise<CreatedKey> {
    const secret = options.secret ?? newApiKey();
    const key: ApiKeyRow = {
      id: newKeyId(),
      account_id: accountId,
      name: options.name ?? "default",
      key_hash: sha256Hex(secret),
      key_prefix: `${secret.slice(0, 7)}…${secret.slice(-4)}`,
      test_mode: options.testMode ? 1 : 0,
      created_at: Date.now(),
      revoked_at: null,
      last_used_at: null,
    };
    await this.db.insertInto("api_keys").values(key).execute();
    return { key, secret };
  }

  /** Resolve a presented secret to its live key and account (undefined when unknown or revoked). */
  async authenticate(secret: string): Promise<{ key: ApiKeyRow; account: Account } | undefined> {
    const row = await this.db
      .selectFrom("api_keys")
      .innerJoin("accounts", "accounts.id", "api_keys.account_id")
      .selectAll("api_keys")
      .select([
        "accounts.name as account_name",
        "accounts.is_admin",
        "accounts.billing_mode",
        "accounts.created_at as account_created_at",
      ])
      .where("api_keys.key_hash", "=", sha256Hex(secret))
      .executeTakeFirst();
    if (!row || row.revoked_at != null) return undefined;
    const { account_name, is_admin, billing_mode, account_created_at, ...key } = row;
    return {
      key,
      account: {
        id: key.account_id,
        name: account_name,
        is_admin,
        billing_mode,
        created_at: account_created_at,
      },
    };
  }

  listKeys(accountId?: string): Promise<ApiKeyRow[]> {
    let q = this.db.selectFrom("api_keys").selectAll();
    if (accountId) q = q.where("account_id", "=", accountId);
    return q.orderBy("created_at").orderBy("id").execute();
  }

  getKey(id: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom("api_keys").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** Revoke a key; returns false when it does not exist (or is outside `accountId` when given). */
  async revokeKey(id: string, accountId?: string): Promise<boolean> {
    let q = this.db
      .updateTable("api_keys")
      .set({ revoked_at: Date.now() })
      .where("id", "=", id)
      .where("revoked_at", "is", null);
    if (accountId) q = q.where("account_id", "=", accountId);
    const result = await q.executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async touchKey(id: string, at: number): Promise<void> {
    await this.db.updateTable("api_keys").set({ last_used_at: at }).where("id", "=", id).execute();
  }
}
