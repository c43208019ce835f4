import type { Kysely, Selectable } from "kysely";
import type { Database } from "../store/schema.ts";

/**
 * One immutable version of an operator's declaration of a model (a built-in one overridden, or a
 * new one). The highest version of a model is what every process serves; older versions are its
 * history. Rows are only ever inserted, so the row count is the catalog's revision.
 */
export interface ModelDeclarationsTable {
  model: string;
  version: number;
  /** The declaration (catalog/declaration.ts) without pricing and upstream ids, which live in the price book and the channels. */
  declaration_json: string;
  /** 0 when this version disables the model: known (its tasks settle), not listed, refuses submits. */
  enabled: number;
  note: string | null;
  /** The admin key that wrote it. */
  created_by: string | null;
  created_at: number;
}

export type ModelDeclarationRow = Selectable<ModelDeclarationsTable>;
export type ModelsDb = Database & { model_declarations: ModelDeclarationsTable };
export type ModelsKysely = Kysely<ModelsDb>;
