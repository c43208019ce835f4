import { createHash, timingSafeEqual } from "node:crypto";
import type { Catalog } from "../catalog/models.ts";
import { invalid, notFound, shown } from "../domain/errors.ts";
import type { ChannelContext, ProviderAdapter } from "../providers/types.ts";
import type { ChannelRow } from "../store/schema.ts";
import { newCapabilityToken, randomAlphanumeric, unixSeconds } from "../util/ids.ts";
import type { SecretBox } from "../util/secret-box.ts";
import { type ChannelRepository, modelsOf } from "./repository.ts";
import type { ChannelObject } from "./schemas.ts";

export interface ChannelInput {
  name?: string;
  provider: string;
  baseUrl: string;
  apiKey: string;
  /** catalog model id → upstream model id */
  models: Record<string, string>;
  priority?: number;
  weight?: number;
  maxConcurrent?: number;
  enabled?: boolean;
}

export type { ChannelObject } from "./schemas.ts";

const CACHE_MS = 1000;

/** Upstream credentials and routing settings. API keys are sealed at rest and never leave in clear. */
export class ChannelService {
  private cache: { at: number; rows: ChannelRow[] } | undefined;

  constructor(
    private readonly repository: ChannelRepository,
    private readonly box: SecretBox,
    private readonly catalog: Catalog,
    readonly adapters: ReadonlyMap<string, ProviderAdapter>,
  ) {}

  toApi(channel: ChannelRow): ChannelObject {
    const key = this.box.open(channel.api_key_sealed);
    return {
      id: channel.id,
      object: "channel",
      name: channel.name,
      provider: channel.provider,
      base_url: channel.base_url,
      api_key_hint: key.length > 8 ? `…${key.slice(-4)}` : "…",
      models: modelsOf(channel),
      priority: channel.priority,
      weight: channel.weight,
      max_concurrent: channel.max_concurrent,
      in_flight: channel.in_flight,
      enabled: channel.enabled === 1,
      created_at: unixSeconds(channel.created_at)!,
      updated_at: unixSeconds(channel.updated_at)!,
    };
  }

  private validate(input: Partial<ChannelInput>, creating: boolean): void {
    if (creating || input.provider !== undefined) {
      if (!input.provider || !this.adapters.has(input.provider)) {
        throw invalid(
          "unknown_provider",
          `provider must be one of: ${[...this.adapters.keys()].join(", ")}`,
          "provider",
        );
      }
    }
    if (creating || input.baseUrl !== undefined) {
      let ok = false;
      try {
        ok = /^https?:$/.test(new URL(String(input.baseUrl)).protocol);
      } catch {}
      if (!ok)
        throw invalid(
          "invalid_base_url",
          "base_url must be an http(s) URL such as https://ark.cn-beijing.volces.com/api/v3",
          "base_url",
        );
    }
    if (creating || input.apiKey !== undefined) {
      if (typeof input.apiKey !== "string" || input.apiKey.trim() === "") {
        throw invalid(
          "missing_api_key",
          "api_key is required: the provider's API key for this channel",
          "api_key",
        );
      }
    }
    if (creating || input.models !== undefined) {
      const models = input.models;
      if (!models || typeof models !== "object" || Object.keys(models).length === 0) {
        throw invalid(
          "missing_models",
          'models maps catalog model ids to upstream model ids, e.g. {"seedance-1-5-pro-with-audio": "doubao-seedance-1-5-pro-251215"}',
          "models",
        );
      }
      for (const [model, upstream] of Object.entries(models)) {
        if (!this.catalog.has(model)) {
          throw invalid(
            "unknown_model",
            `"${shown(model)}" is not a catalog model; GET /v1/models lists them`,
            `models.${shown(model)}`,
          );
        }
        if (typeof upstream !== "string" || upstream.trim() === "" || upstream.length > 200) {
          throw invalid(
            "invalid_upstream_model",
            `the upstream model id for ${model} must be a non-empty string of at most 200 characters`,
            `models.${model}`,
          );
        }
      }
    }
    const ints: Array<[keyof ChannelInput, string, number]> = [
      ["priority", "priority", -1000],
      ["weight", "weight", 1],
      ["maxConcurrent", "max_concurrent", 1],
    ];
    for (const [key, param, min] of ints) {
      const value = input[key];
      if (
        value !== undefined &&
        (!Number.isInteger(value) || (value as number) < min || (value as number) > 1_000_000)
      ) {
        throw invalid("invalid_value", `${param} must be a whole number ≥ ${min}`, param);
      }
    }
  }

  async create(input: ChannelInput): Promise<ChannelObject> {
    this.validate(input, true);
    const now = Date.now();
    const row: ChannelRow = {
      id: `ch_${randomAlphanumeric(16)}`,
      name: input.name?.trim() || `${input.provider}-${randomAlphanumeric(4).toLowerCase()}`,
      provider: input.provider,
      base_url: input.baseUrl.replace(/\/+$/, ""),
      api_key_sealed: this.box.seal(input.apiKey.trim()),
      models_json: JSON.stringify(input.models),
      priority: input.priority ?? 0,
      weight: input.weight ?? 1,
      max_concurrent: input.maxConcurrent ?? 10,
      in_flight: 0,
      enabled: input.enabled === false ? 0 : 1,
      callback_token: newCapabilityToken(),
      created_at: now,
      updated_at: now,
    };
    await this.repository.insert(row);
    this.cache = undefined;
    return this.toApi(row);
  }

  async update(id: string, patch: Partial<ChannelInput>): Promise<ChannelObject> {
    await this.require(id);
    this.validate(patch, false);
    const set: Partial<ChannelRow> = { updated_at: Date.now() };
    if (patch.name !== undefined) set.name = patch.name;
    if (patch.provider !== undefined) set.provider = patch.provider;
    if (patch.baseUrl !== undefined) set.base_url = patch.baseUrl.replace(/\/+$/, "");
    if (patch.apiKey !== undefined) set.api_key_sealed = this.box.seal(patch.apiKey.trim());
    if (patch.models !== undefined) set.models_json = JSON.stringify(patch.models);
    if (patch.priority !== undefined) set.priority = patch.priority;
    if (patch.weight !== undefined) set.weight = patch.weight;
    if (patch.maxConcurrent !== undefined) set.max_concurrent = patch.maxConcurrent;
    if (patch.enabled !== undefined) set.enabled = patch.enabled ? 1 : 0;
    await this.repository.update(id, set);
    this.cache = undefined;
    return this.toApi(await this.require(id));
  }

  /** The channel, or undefined when it was deleted. */
  get(id: string): Promise<ChannelRow | undefined> {
    return this.repository.get(id);
  }

  async require(id: string): Promise<ChannelRow> {
    const row = await this.get(id);
    if (!row)
      throw notFound(
        "channel_not_found",
        `no channel ${shown(id)}; GET /v1/admin/channels lists them`,
        "channel_id",
      );
    return row;
  }

  list(): Promise<ChannelRow[]> {
    return this.repository.list();
  }

  /** Enabled channels (briefly cached: this is on every submit and dispatch). */
  async enabled(): Promise<ChannelRow[]> {
    const now = Date.now();
    if (!this.cache || now - this.cache.at > CACHE_MS) {
      const rows = await this.repository.listEnabled();
      this.cache = { at: now, rows };
    }
    return this.cache.rows;
  }

  async servingModel(model: string): Promise<ChannelRow[]> {
    return (await this.enabled()).filter((c) => model in modelsOf(c));
  }

  async servedModels(): Promise<Set<string>> {
    const served = new Set<string>();
    for (const c of await this.enabled()) for (const m of Object.keys(modelsOf(c))) served.add(m);
    return served;
  }

  /** The adapter of a provider name ("ark"), or undefined for one this gateway does not know. */
  adapterNamed(provider: string): ProviderAdapter | undefined {
    return this.adapters.get(provider);
  }

  adapterFor(channel: ChannelRow): ProviderAdapter {
    const adapter = this.adapters.get(channel.provider);
    if (!adapter) throw new Error(`channel ${channel.id} uses unknown provider ${channel.provider}`);
    return adapter;
  }

  context(channel: ChannelRow, model: string, signal?: AbortSignal): ChannelContext {
    const models = modelsOf(channel);
    return {
      id: channel.id,
      baseUrl: channel.base_url,
      apiKey: this.box.open(channel.api_key_sealed),
      upstreamModel: models[model] ?? model,
      signal,
    };
  }

  async byCallbackToken(channelId: string, token: string): Promise<ChannelRow | undefined> {
    const row = await this.repository.get(channelId);
    return row && sameSecret(row.callback_token, token) ? row : undefined;
  }
}

/** Constant-time comparison of two secrets of any length (their digests are compared). */
function sameSecret(expected: string, given: string): boolean {
  const digest = (text: string) => createHash("sha256").update(text).digest();
  return timingSafeEqual(digest(expected), digest(given));
}
