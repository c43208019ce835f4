/**
 * The model catalog, as data: which models the gateway offers, what each accepts, and its defaults.
 *
 * Every value here mirrors the provider's own behaviour (docs/providers.md), so that a request is refused
 * (or defaulted) the same way whether the model is served upstream or by the local engine. The
 * catalog is validated by `CatalogModelSchema`, so operators can load extra models from
 * configuration (`parseCatalogModels`) and build a `Catalog` from them.
 *
 * Decisions where the contract is silent (see also validate.ts):
 * - Ratio defaults follow Seedance: `16:9` for a text-only request, `adaptive` (follow the first
 *   image / first media item) as soon as content[] holds media. A model whose ratio list has no
 *   `adaptive` uses its text default in both cases.
 * - `references` are the reference-mode limits (0 everywhere on a model without reference mode);
 *   frame modes always take one (first_frame) or two (first_last_frame) images.
 * - `inputImage` sizes are inclusive bounds. Seedance documents "strictly between 300 and 6000 px"
 *   and "strictly between 0.4 and 2.5"; we keep the round numbers.
 * - Vendor parameters a model does not support (`passThrough` false) are type-checked, then dropped:
 *   the contract says they are "passed to providers that support them".
 */
/**
 * The model catalog: which models the gateway offers, what each accepts, and its defaults.
 *
 * The built-in models are data (builtin-models.json, one declaration per model in the shape
 * operators use: declaration.ts); operators add, change and disable models at run time through
 * `PUT /v1/admin/models/{id}` (catalog/registry.ts keeps every process's `Catalog` current).
 * Every value mirrors the provider's own behaviour (docs/providers.md says where each comes
 * from), so that a request is refused (or defaulted) the same way whether the model is served
 * upstream or by the local engine.
 *
 * Decisions where the contract is silent (see also validate.ts):
 * - Ratio defaults follow Seedance: `16:9` for a text-only request, `adaptive` (follow the first
 *   image / first media item) as soon as content[] holds media. A model whose ratio list has no
 *   `adaptive` uses its text default in both cases.
 * - `references` are the reference-mode limits (0 everywhere on a model without reference mode);
 *   frame modes always take one (first_frame) or two (first_last_frame) images.
 * - `inputImage` sizes are inclusive bounds. Seedance documents "strictly between 300 and 6000 px"
 *   and "strictly between 0.4 and 2.5"; we keep the round numbers.
 * - Vendor parameters a model does not support (`passThrough` false) are type-checked, then dropped:
 *   the contract says they are "passed to providers that support them".
 */
import { readFileSync } from "node:fs";
import { z } from "zod";
import { invalid, notFound } from "../domain/errors.ts";
import { declarationToModel, type ModelDeclaration, ModelDeclarationSchema } from "./declaration.ts";
import { type CatalogModel, CatalogModelSchema } from "./model-schema.ts";
import { didYouMean, nearestIds } from "./suggest.ts";

export * from "./model-schema.ts";

// ---------------------------------------------------------------------------------------------
// The built-in catalog (docs/api.md §7), read from its data file once per process.

const BuiltinFile = z.object({ models: z.array(ModelDeclarationSchema) });

/** The built-in declarations (with their default price lines), in the order `/v1/models` lists them. */
export const BUILTIN_DECLARATIONS: readonly ModelDeclaration[] = Object.freeze(
  BuiltinFile.parse(JSON.parse(readFileSync(new URL("./builtin-models.json", import.meta.url), "utf8")))
    .models,
);

/** The built-in catalog. */
export const DEFAULT_CATALOG: readonly CatalogModel[] = Object.freeze(
  BUILTIN_DECLARATIONS.map((d) => declarationToModel(d, 0)),
);

// ---------------------------------------------------------------------------------------------
// The catalog object.

/**
 * The models this process knows, and which of them are disabled. Lookups are synchronous (they
 * sit on every submit); `replace` swaps the whole snapshot when an operator's change arrives.
 * A disabled model stays known — tasks accepted on it still settle, bill and download — but is
 * not listed and refuses new submits.
 */
export class Catalog {
  #models = new Map<string, CatalogModel>();
  #disabled = new Set<string>();

  /** Validates every model (throws on a bad entry or a duplicate id). */
  constructor(models: readonly CatalogModel[] = DEFAULT_CATALOG, disabled: Iterable<string> = []) {
    this.replace(models, disabled);
  }

  replace(models: readonly CatalogModel[], disabled: Iterable<string> = []): void {
    const next = new Map<string, CatalogModel>();
    for (const raw of models) {
      const model = CatalogModelSchema.parse(raw);
      if (next.has(model.id)) throw new Error(`catalog: duplicate model id "${model.id}"`);
      next.set(model.id, model);
    }
    this.#models = next;
    this.#disabled = new Set(disabled);
  }

  /** Any known model, disabled ones included (for tasks already accepted on it). */
  get(id: string): CatalogModel | undefined {
    return this.#models.get(id);
  }

  isEnabled(id: string): boolean {
    return this.#models.has(id) && !this.#disabled.has(id);
  }

  /**
   * `require` for a new task: a disabled model is a 400 `model_disabled` naming `model`, with the
   * enabled models of the same family as the way out.
   */
  requireEnabled(id: string): CatalogModel {
    const model = this.require(id);
    if (this.#disabled.has(id)) {
      const same = this.list()
        .filter((m) => m.family === model.family)
        .map((m) => m.id);
      throw invalid(
        "model_disabled",
        `The model "${id}" is disabled on this gateway.` +
          (same.length > 0 ? ` Models of the same family: ${same.join(", ")}.` : "") +
          " GET /v1/models lists the models you can use.",
        "model",
      );
    }
    return model;
  }

  /**
   * Like `get`, but an unknown id is the contract's 404 `model_not_found` (param `model`), whose
   * message names the closest ids when the id looks like a typo of one (`suggest.ts`).
   */
  require(id: string): CatalogModel {
    const model = this.#models.get(id);
    if (!model) {
      throw notFound(
        "model_not_found",
        `The model "${truncate(id, 100)}" does not exist.${didYouMean(nearestIds(id, this.ids()))} ` +
          "GET /v1/models lists the models you can use.",
        "model",
      );
    }
    return model;
  }

  /** Known, enabled or not. */
  has(id: string): boolean {
    return this.#models.has(id);
  }

  /** The enabled models, in catalog order. */
  list(): CatalogModel[] {
    return [...this.#models.values()].filter((m) => !this.#disabled.has(m.id));
  }

  /** Every known model, disabled ones included. */
  listAll(): CatalogModel[] {
    return [...this.#models.values()];
  }

  /** The ids of the enabled models. */
  ids(): string[] {
    return this.list().map((m) => m.id);
  }
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

// ---------------------------------------------------------------------------------------------
