import { invalid, notFound, shown } from "../domain/errors.ts";
import type { Account, ApiKeyRow, BillingMode } from "../store/schema.ts";
import { unixSeconds } from "../util/ids.ts";
import type { AccountRepository } from "./repository.ts";
import type { AccountObject, KeyObject } from "./schemas.ts";

export type { AccountObject, KeyObject } from "./schemas.ts";

/** Key and account administration shared by the admin HTTP API and the `vidrelay keys` CLI. */
export class KeyService {
  constructor(private readonly accounts: AccountRepository) {}

  keyToApi(key: ApiKeyRow, secret?: string): KeyObject {
    return {
      id: key.id,
      object: "api_key",
      name: key.name,
      account_id: key.account_id,
      prefix: key.key_prefix,
      test_mode: key.test_mode === 1,
      created_at: unixSeconds(key.created_at)!,
      last_used_at: unixSeconds(key.last_used_at),
      revoked_at: unixSeconds(key.revoked_at),
      ...(secret ? { key: secret } : {}),
    };
  }

  accountToApi(account: Account): AccountObject {
    return {
      id: account.id,
      object: "account",
      name: account.name,
      admin: account.is_admin === 1,
      billing_mode: account.billing_mode as BillingMode,
      created_at: unixSeconds(account.created_at)!,
    };
  }

  /**
   * Create a key for an existing account (`accountId`) or for a new account (`accountName`).
   * Returns the secret once.
   */
  async create(options: {
    accountId?: string;
    accountName?: string;
    admin?: boolean;
    billingMode?: BillingMode;
    name?: string;
    testMode?: boolean;
  }): Promise<{ account: Account; key: KeyObject }> {
    let account: Account | undefined;
    if (options.accountId) {
      account = await this.accounts.getAccount(options.accountId);
      if (!account)
        throw notFound("account_not_found", `no account ${shown(options.accountId)}`, "account_id");
    } else {
      const name = options.accountName?.trim();
      if (!name) {
        throw invalid(
          "missing_account",
          "give account_id (an existing account) or account_name (to create a new account)",
          "account_id",
        );
      }
      account = await this.accounts.createAccount(name, options.admin ?? false, options.billingMode);
    }
    const { key, secret } = await this.accounts.createKey(account.id, {
      name: options.name,
      testMode: options.testMode,
    });
    return { account, key: this.keyToApi(key, secret) };
  }

  async list(accountId?: string): Promise<KeyObject[]> {
    return (await this.accounts.listKeys(accountId)).map((k) => this.keyToApi(k));
  }

  async revoke(id: string): Promise<KeyObject> {
    const existing = await this.accounts.getKey(id);
    if (!existing) throw notFound("key_not_found", `no API key ${shown(id)}`, "key_id");
    await this.accounts.revokeKey(id);
    return this.keyToApi((await this.accounts.getKey(id))!);
  }

  /** Change an account's billing mode; running tasks keep the mode they were accepted under. */
  async updateAccount(id: string, changes: { billingMode: BillingMode }): Promise<AccountObject> {
    if (!(await this.accounts.setBillingMode(id, changes.billingMode))) {
      throw notFound("account_not_found", `no account ${shown(id)}`, "account_id");
    }
    const account = await this.accounts.getAccount(id);
    if (!account) throw notFound("account_not_found", `no account ${shown(id)}`, "account_id");
    return this.accountToApi(account);
  }

  async listAccounts(): Promise<AccountObject[]> {
    return (await this.accounts.listAccounts()).map((a) => this.accountToApi(a));
  }

  /**
   * First start with an empty store: create the admin account and its key (the operator's
   * VIDRELAY_BOOTSTRAP_KEY when set). Returns the secret only when it was generated here.
   */
  async bootstrap(bootstrapKey?: string): Promise<{ created: boolean; secret?: string; account?: Account }> {
    if ((await this.accounts.countAccounts()) > 0) return { created: false };
    // The installation's own account: its owner pays the upstreams directly, so it is not metered.
    const account = await this.accounts.createAccount("admin", true, "unmetered");
    const { secret } = await this.accounts.createKey(account.id, { name: "bootstrap", secret: bootstrapKey });
    return { created: true, secret: bootstrapKey ? undefined : secret, account };
  }
}
