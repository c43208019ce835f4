import type { Core, RequestOptions } from "../core.ts";
import { randomId } from "../runtime.ts";
import type {
  Account,
  AccountList,
  AccountUpdateParams,
  ApiKey,
  ApiKeyCreated,
  ApiKeyCreateParams,
  ApiKeyList,
  Channel,
  ChannelList,
  ChannelParams,
  ChannelTestResult,
  LedgerAmountParams,
  LedgerList,
  LedgerResult,
  Limits,
  LimitsParams,
  ModelDeclarationParams,
  ModelDeclarationPatch,
  ModelEntry,
  ModelEntryList,
  ModelPrice,
  ModelPrices,
  ModelVersionList,
  Price,
  PriceHistory,
  PriceParams,
} from "../types.ts";

const segment = encodeURIComponent;

/** API keys (`/v1/admin/keys`). */
export class AdminKeys {
  constructor(private readonly core: Core) {}

  /**
   * Create a key for an existing account (`account_id`) or a new one (`account_name`, with `admin`
   * and `billing_mode`). The secret is in `key` of this response only: store it now.
   */
  create(params: ApiKeyCreateParams, options: RequestOptions = {}): Promise<ApiKeyCreated> {
    return this.core.request({ ...options, method: "POST", path: "/v1/admin/keys", json: params });
  }

  /** Every key (never its secret), or one account's. Not paginated. */
  async list(params: { account_id?: string } = {}, options: RequestOptions = {}): Promise<ApiKey[]> {
    const page = await this.core.request<ApiKeyList>({
      ...options,
      method: "GET",
      path: "/v1/admin/keys",
      query: { account_id: params.account_id },
    });
    return page.data;
  }

  /** Revoke a key: it is refused from the next request on (`AuthenticationError`). */
  revoke(keyId: string, options: RequestOptions = {}): Promise<ApiKey> {
    return this.core.request({ ...options, method: "POST", path: `/v1/admin/keys/${segment(keyId)}/revoke` });
  }
}

/** Accounts (`/v1/admin/accounts`); their money is `ledger`, their limits `limits`. */
export class AdminAccounts {
  constructor(private readonly core: Core) {}

  /** Every account. Not paginated. */
  async list(options: RequestOptions = {}): Promise<Account[]> {
    const page = await this.core.request<AccountList>({
      ...options,
      method: "GET",
      path: "/v1/admin/accounts",
    });
    return page.data;
  }

  /** Change an account's billing mode (`prepaid` or `unmetered`); running tasks keep the mode they started with. */
  update(accountId: string, params: AccountUpdateParams, options: RequestOptions = {}): Promise<Account> {
    return this.core.request({
      ...options,
      method: "PATCH",
      path: `/v1/admin/accounts/${segment(accountId)}`,
      json: params,
    });
  }
}

/** Upstream channels (`/v1/admin/channels`): where tasks are routed besides the local engine. */
export class AdminChannels {
  constructor(private readonly core: Core) {}

  /** Every channel with its tasks in flight (keys are never returned, only `api_key_hint`). */
  async list(options: RequestOptions = {}): Promise<Channel[]> {
    const page = await this.core.request<ChannelList>({
      ...options,
      method: "GET",
      path: "/v1/admin/channels",
    });
    return page.data;
  }

  get(channelId: string, options: RequestOptions = {}): Promise<Channel> {
    return this.core.request({ ...options, method: "GET", path: `/v1/admin/channels/${segment(channelId)}` });
  }

  /** Add a channel: `provider`, `base_url`, `api_key` (sealed at rest) and `models` (ours → the provider's). */
  create(params: ChannelParams, options: RequestOptions = {}): Promise<Channel> {
    return this.core.request({ ...options, method: "POST", path: "/v1/admin/channels", json: params });
  }

  /** Change any of the channel's fields; the ones left out keep their values. */
  update(channelId: string, params: ChannelParams, options: RequestOptions = {}): Promise<Channel> {
    return this.core.request({
      ...options,
      method: "PATCH",
      path: `/v1/admin/channels/${segment(channelId)}`,
      json: params,
    });
  }

  /** Route tasks to the channel again. */
  enable(channelId: string, options: RequestOptions = {}): Promise<Channel> {
    return this.action(channelId, "enable", options);
  }

  /** Stop routing new tasks to the channel (tasks already there run to their end). */
  disable(channelId: string, options: RequestOptions = {}): Promise<Channel> {
    return this.action(channelId, "disable", options);
  }

  /**
   * One cheap authenticated call to the provider (no task is made). A refusal or an unreachable
   * provider is `ok: false` with the reason in `error`, not a thrown error.
   */
  test(channelId: string, options: RequestOptions = {}): Promise<ChannelTestResult> {
    return this.action(channelId, "test", options);
  }

  private action<T>(channelId: string, action: string, options: RequestOptions): Promise<T> {
    return this.core.request<T>({
      ...options,
      method: "POST",
      path: `/v1/admin/channels/${segment(channelId)}/${action}`,
    });
  }
}

/** Prices (`/v1/admin/prices`): versioned; a task keeps the price it was accepted at. */
export class AdminPrices {
  constructor(private readonly core: Core) {}

  /** Every catalog model with its current price (`pricing` null when unpriced). */
  async list(options: RequestOptions = {}): Promise<ModelPrice[]> {
    const page = await this.core.request<ModelPrices>({
      ...options,
      method: "GET",
      path: "/v1/admin/prices",
    });
    return page.data;
  }

  /** A model's current price and every earlier version, newest first. */
  get(model: string, options: RequestOptions = {}): Promise<PriceHistory> {
    return this.core.request({ ...options, method: "GET", path: `/v1/admin/prices/${segment(model)}` });
  }

  /** A new price version for the model (the previous stays in its history). */
  set(model: string, params: PriceParams, options: RequestOptions = {}): Promise<Price> {
    return this.core.request({
      ...options,
      method: "PUT",
      path: `/v1/admin/prices/${segment(model)}`,
      json: params,
    });
  }
}

/**
 * Limits (`/v1/admin/{accounts,keys}/{id}/limits`): requests per minute, tasks in flight, daily
 * spend and allowed models. A null field inherits: key → account → the gateway's default.
 */
export class AdminLimits {
  constructor(private readonly core: Core) {}

  /** The defaults an account's keys inherit. */
  getAccount(accountId: string, options: RequestOptions = {}): Promise<Limits> {
    return this.get(`/v1/admin/accounts/${segment(accountId)}/limits`, options);
  }

  /** Change an account's defaults: fields left out are unchanged, null clears. */
  setAccount(accountId: string, params: LimitsParams, options: RequestOptions = {}): Promise<Limits> {
    return this.set(`/v1/admin/accounts/${segment(accountId)}/limits`, params, options);
  }

  getKey(keyId: string, options: RequestOptions = {}): Promise<Limits> {
    return this.get(`/v1/admin/keys/${segment(keyId)}/limits`, options);
  }

  /** Change one key's limits: fields left out are unchanged, null clears (inherit the account's). */
  setKey(keyId: string, params: LimitsParams, options: RequestOptions = {}): Promise<Limits> {
    return this.set(`/v1/admin/keys/${segment(keyId)}/limits`, params, options);
  }

  private get(path: string, options: RequestOptions): Promise<Limits> {
    return this.core.request({ ...options, method: "GET", path });
  }

  private set(path: string, params: LimitsParams, options: RequestOptions): Promise<Limits> {
    return this.core.request({ ...options, method: "PUT", path, json: params });
  }
}

export interface LedgerWriteOptions extends RequestOptions {
  /**
   * The same key never moves money twice (a repeat answers `replayed: true`). When neither this nor
   * the body's `idempotency_key` is given the SDK makes one per call, so a retried top-up cannot
   * credit twice.
   */
  idempotencyKey?: string;
}

/** An account's money (`/v1/admin/accounts/{id}/…`): top-ups, signed adjustments, the ledger. */
export class AdminLedger {
  constructor(private readonly core: Core) {}

  /** The account's ledger entries, newest first (`limit` 1–500, default 50; `has_more` when cut off). */
  list(
    accountId: string,
    params: { limit?: number } = {},
    options: RequestOptions = {},
  ): Promise<LedgerList> {
    return this.core.request({
      ...options,
      method: "GET",
      path: `/v1/admin/accounts/${segment(accountId)}/ledger`,
      query: { limit: params.limit },
    });
  }

  /** Credit the account (`amount` > 0, e.g. `"10.00"`, or `amount_micros`). */
  topup(
    accountId: string,
    params: LedgerAmountParams,
    options: LedgerWriteOptions = {},
  ): Promise<LedgerResult> {
    return this.write(accountId, "topup", params, options);
  }

  /** A signed correction to the account's balance (negative to debit). */
  adjust(
    accountId: string,
    params: LedgerAmountParams,
    options: LedgerWriteOptions = {},
  ): Promise<LedgerResult> {
    return this.write(accountId, "adjustments", params, options);
  }

  private write(
    accountId: string,
    action: string,
    params: LedgerAmountParams,
    options: LedgerWriteOptions,
  ): Promise<LedgerResult> {
    const { idempotencyKey, ...request } = options;
    return this.core.request({
      ...request,
      method: "POST",
      path: `/v1/admin/accounts/${segment(accountId)}/${action}`,
      json: params,
      // The header wins over the body's field on the server, so they must not disagree.
      idempotencyKey: idempotencyKey ?? params.idempotency_key ?? randomId(),
    });
  }
}

/**
 * Models as data (`/v1/admin/models`): add, change, disable a model without a release. Every change
 * is a new version and reaches every process of the deployment within about a second.
 */
export class AdminModels {
  constructor(private readonly core: Core) {}

  /** Every model the gateway knows, disabled ones included, with its declaration and upstream ids. */
  async list(options: RequestOptions = {}): Promise<ModelEntry[]> {
    const page = await this.core.request<ModelEntryList>({
      ...options,
      method: "GET",
      path: "/v1/admin/models",
    });
    return page.data;
  }

  get(modelId: string, options: RequestOptions = {}): Promise<ModelEntry> {
    return this.core.request({ ...options, method: "GET", path: `/v1/admin/models/${segment(modelId)}` });
  }

  /** Every version the operator wrote, newest first. */
  async versions(modelId: string, options: RequestOptions = {}): Promise<ModelVersionList["data"]> {
    const page = await this.core.request<ModelVersionList>({
      ...options,
      method: "GET",
      path: `/v1/admin/models/${segment(modelId)}/versions`,
    });
    return page.data;
  }

  /** Add a model, or replace a model's whole declaration (a new version). */
  put(modelId: string, params: ModelDeclarationParams, options: RequestOptions = {}): Promise<ModelEntry> {
    return this.core.request({
      ...options,
      method: "PUT",
      path: `/v1/admin/models/${segment(modelId)}`,
      json: params,
    });
  }

  /** Replace some top-level fields (and/or `enabled`, `pricing`, `upstream_models`) as a new version. */
  update(modelId: string, params: ModelDeclarationPatch, options: RequestOptions = {}): Promise<ModelEntry> {
    return this.core.request({
      ...options,
      method: "PATCH",
      path: `/v1/admin/models/${segment(modelId)}`,
      json: params,
    });
  }

  /** New submits on the model are refused with 400 `model_disabled`; its tasks still settle. */
  disable(modelId: string, options: RequestOptions & { note?: string } = {}): Promise<ModelEntry> {
    const { note, ...rest } = options;
    return this.update(modelId, { enabled: false, ...(note ? { note } : {}) }, rest);
  }

  enable(modelId: string, options: RequestOptions & { note?: string } = {}): Promise<ModelEntry> {
    const { note, ...rest } = options;
    return this.update(modelId, { enabled: true, ...(note ? { note } : {}) }, rest);
  }
}

/** Administration: admin accounts' live keys only (anything else is a `PermissionDeniedError`). */
export class Admin {
  readonly keys: AdminKeys;
  readonly accounts: AdminAccounts;
  readonly channels: AdminChannels;
  readonly prices: AdminPrices;
  readonly limits: AdminLimits;
  readonly ledger: AdminLedger;
  readonly models: AdminModels;

  constructor(core: Core) {
    this.keys = new AdminKeys(core);
    this.accounts = new AdminAccounts(core);
    this.channels = new AdminChannels(core);
    this.prices = new AdminPrices(core);
    this.limits = new AdminLimits(core);
    this.ledger = new AdminLedger(core);
    this.models = new AdminModels(core);
  }
}
