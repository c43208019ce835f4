/**
 * Models as data at run time: the operator's declarations (versioned rows) over the built-in data
 * file, loaded into every process's `Catalog`. A change made on one process is written first and
 * applied to its own catalog at once; every other process sees the revision move on its next
 * refresh (a cheap count, every `refreshMs`) and reloads.
 *
 * A declaration carries two things that live elsewhere, so each has one home: its price lines
 * (a new version in the price book when they differ from the current price) and, per channel, the
 * upstream model id (the channel's model map).
 */
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { PriceBook } from "../billing/price-book.ts";
import {
  declarationToModel,
  type ModelDeclaration,
  ModelDeclarationSchema,
  modelToDeclaration,
} from "../catalog/declaration.ts";
import { BUILTIN_DECLARATIONS, type Catalog, type CatalogModel } from "../catalog/models.ts";
import { modelsOf } from "../channels/repository.ts";
import type { ChannelService } from "../channels/service.ts";
import { invalid, notFound, shown } from "../domain/errors.ts";
import type { Database } from "../store/schema.ts";
import { linesOfRule, ruleOfLines, sameRule } from "./pricing.ts";
import { ModelDeclarationRepository } from "./repository.ts";
import type { ModelDeclarationRow } from "./tables.ts";

/** What `PUT /v1/admin/models/{id}` takes beside the declaration. */
export interface DeclareOptions {
  /** Absent: a new model is enabled, a known one keeps its state. */
  enabled?: boolean;
  note?: string | null;
  /** channel id → the upstream's model id for this model on that channel. */
  upstreamModels?: Record<string, string>;
  /** Price lines (validated by the price book's rules). */
  pricing?: unknown;
  by: string | null;
}

/** One model as the admin API shows it. */
export interface ModelEntry {
  id: string;
  enabled: boolean;
  builtin: boolean;
  /** 0 for a built-in the operator never changed. */
  version: number;
  note: string | null;
  updated_by: string | null;
  updated_at: number | null;
  upstream_models: Record<string, string>;
  declaration: ModelDeclaration;
}

export interface ModelRegistryDeps {
  repository: ModelDeclarationRepository;
  catalog: Catalog;
  prices: PriceBook;
  channels: ChannelService;
  logger: Logger;
  clock: () => number;
}

const BUILTIN_IDS = new Set(BUILTIN_DECLARATIONS.map((d) => d.id));
/** How often a process checks whether another one changed a model declaration. */
const REFRESH_MS = 1000;

export class ModelRegistry {
  private revision = -1;
  private rows = new Map<string, ModelDeclarationRow>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<boolean> | undefined;

  constructor(private readonly deps: ModelRegistryDeps) {}

  /** A registry over `db` whose catalog is loaded and kept current (stop it with `stop`). */
  static async open(
    deps: Omit<ModelRegistryDeps, "repository" | "clock"> & { db: Kysely<Database> },
    refreshMs = REFRESH_MS,
  ): Promise<ModelRegistry> {
    const { db, logger, ...rest } = deps;
    const registry = new ModelRegistry({
      ...rest,
      repository: new ModelDeclarationRepository(db),
      logger: logger.child({ component: "models" }),
      clock: Date.now,
    });
    await registry.load();
    registry.start(refreshMs);
    return registry;
  }

  /** Read every declaration and rebuild the catalog (call once before serving). */
  async load(): Promise<void> {
    const revision = await this.deps.repository.revision();
    const rows = await this.deps.repository.latest();
    this.apply(rows);
    this.revision = revision;
  }

  /** Reload when another process wrote a declaration; true when the catalog changed. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        if ((await this.deps.repository.revision()) === this.revision) return false;
        await this.load();
        return true;
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  /** Keep refreshing every `intervalMs` (a failed round is logged and the next one tries again). */
  start(intervalMs: number): void {
    this.timer = setInterval(() => {
      this.refresh().catch((error) => this.deps.logger.warn({ err: error }, "model catalog refresh failed"));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Every known model, disabled ones included, in catalog order. */
  async list(): Promise<ModelEntry[]> {
    const channels = await this.deps.channels.list();
    const out: ModelEntry[] = [];
    for (const model of this.deps.catalog.listAll()) out.push(await this.entryOf(model, channels));
    return out;
  }

  async get(id: string): Promise<ModelEntry> {
    return this.entryOf(this.known(id), await this.deps.channels.list());
  }

  /** Every stored version of a model, newest first (a built-in never changed has none). */
  async versions(id: string): Promise<ModelDeclarationRow[]> {
    this.known(id);
    return this.deps.repository.versions(id);
  }

  /**
   * Declare a model: a new one, or a new version of a known one (built-in or not). Everything is
   * checked before anything is written — the declaration's rules, the price lines against it, and
   * that every named channel exists — so a refused declaration changes nothing.
   */
  async declare(raw: ModelDeclaration, options: DeclareOptions): Promise<ModelEntry> {
    const now = this.deps.clock();
    const previous = this.deps.catalog.get(raw.id);
    const model = declarationToModel(
      { ...raw, created: raw.created ?? previous?.created },
      Math.floor(now / 1000),
    );
    const rule =
      options.pricing === undefined
        ? undefined
        : ruleOfLines(options.pricing, model, this.deps.prices.currency);
    const upstream = options.upstreamModels ?? {};
    for (const [channelId, upstreamId] of Object.entries(upstream)) {
      if (!(await this.deps.channels.get(channelId))) {
        throw invalid(
          "invalid_value",
          `no channel ${shown(channelId)}; GET /v1/admin/channels lists them`,
          `upstream_models.${shown(channelId)}`,
        );
      }
      if (upstreamId.trim() === "" || upstreamId.length > 200) {
        throw invalid(
          "invalid_upstream_model",
          "an upstream model id is 1 to 200 characters",
          `upstream_models.${channelId}`,
        );
      }
    }
    const enabled = options.enabled ?? (previous ? this.deps.catalog.isEnabled(raw.id) : true);
    const { pricing: _lines, ...declaration } = modelToDeclaration(model);
    await this.deps.repository.append({
      model: model.id,
      declaration_json: JSON.stringify(declaration),
      enabled: enabled ? 1 : 0,
      note: options.note ?? null,
      created_by: options.by,
      created_at: now,
    });
    await this.load(); // the price book and channels check the catalog: it must know the model now
    if (rule) {
      const current = await this.deps.prices.current(model.id);
      if (!current || !sameRule(current.rule, rule)) {
        await this.deps.prices.setPrice(model.id, rule, {
          note: options.note ?? null,
          createdBy: options.by,
        });
      }
    }
    for (const [channelId, upstreamId] of Object.entries(upstream)) {
      const channel = await this.deps.channels.require(channelId);
      await this.deps.channels.update(channelId, {
        models: { ...modelsOf(channel), [model.id]: upstreamId },
      });
    }
    return this.get(model.id);
  }

  /** A new version with only `enabled` changed. */
  async setEnabled(
    id: string,
    enabled: boolean,
    by: string | null,
    note?: string | null,
  ): Promise<ModelEntry> {
    const model = this.known(id);
    return this.declare(modelToDeclaration(model), { enabled, by, note });
  }

  /** A merge of `patch` over the current declaration (top-level fields replace), as a new version. */
  async update(id: string, patch: Record<string, unknown>, options: DeclareOptions): Promise<ModelEntry> {
    const current = modelToDeclaration(this.known(id));
    const merged = ModelDeclarationSchema.safeParse({ ...current, ...patch, id });
    if (!merged.success) {
      const issue = merged.error.issues[0]!;
      const param = issue.path.map(String).join(".") || null;
      throw invalid("invalid_value", `${param ?? "body"}: ${issue.message}`, param);
    }
    return this.declare(merged.data, options);
  }

  private known(id: string): CatalogModel {
    const model = this.deps.catalog.get(id);
    if (!model)
      throw notFound("model_not_found", `no model ${shown(id)}; GET /v1/admin/models lists them`, "model");
    return model;
  }

  private apply(rows: ModelDeclarationRow[]): void {
    const byId = new Map(rows.map((r) => [r.model, r]));
    const models: CatalogModel[] = [];
    const disabled: string[] = [];
    const builtins = BUILTIN_DECLARATIONS.map((d) => d.id);
    const declaredOnly = rows.filter((r) => !BUILTIN_IDS.has(r.model)).map((r) => r.model);
    for (const id of [...builtins, ...declaredOnly]) {
      const row = byId.get(id);
      const model = row ? this.modelOfRow(row) : this.builtin(id);
      if (!model) continue;
      models.push(model);
      if (row && row.enabled === 0) disabled.push(id);
    }
    this.deps.catalog.replace(models, disabled);
    this.rows = byId;
  }

  /** A stored declaration that no longer parses (a newer gateway wrote it) keeps the built-in, or is skipped. */
  private modelOfRow(row: ModelDeclarationRow): CatalogModel | undefined {
    try {
      return declarationToModel(ModelDeclarationSchema.parse(JSON.parse(row.declaration_json)), 0);
    } catch (error) {
      this.deps.logger.error(
        { err: error, model: row.model, version: row.version },
        "unreadable model declaration",
      );
      return this.builtin(row.model);
    }
  }

  private builtin(id: string): CatalogModel | undefined {
    const declaration = BUILTIN_DECLARATIONS.find((d) => d.id === id);
    return declaration && declarationToModel(declaration, 0);
  }

  private async entryOf(
    model: CatalogModel,
    channels: Awaited<ReturnType<ChannelService["list"]>>,
  ): Promise<ModelEntry> {
    const row = this.rows.get(model.id);
    const upstream: Record<string, string> = {};
    for (const channel of channels) {
      const mapped = modelsOf(channel)[model.id];
      if (mapped !== undefined) upstream[channel.id] = mapped;
    }
    const price = await this.deps.prices.current(model.id);
    const declaration = modelToDeclaration(model);
    return {
      id: model.id,
      enabled: this.deps.catalog.isEnabled(model.id),
      builtin: BUILTIN_IDS.has(model.id),
      version: row?.version ?? 0,
      note: row?.note ?? null,
      updated_by: row?.created_by ?? null,
      updated_at: row?.created_at ?? null,
      upstream_models: upstream,
      declaration: price
        ? { ...declaration, pricing: linesOfRule(price.rule) as ModelDeclaration["pricing"] }
        : declaration,
    };
  }
}
