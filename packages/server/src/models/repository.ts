/** Every query of `model_declarations` (ModelRegistry keeps the rules). */
import type { Kysely } from "kysely";
import type { Database } from "../store/schema.ts";
import type { ModelDeclarationRow, ModelsKysely } from "./tables.ts";

export class ModelDeclarationRepository {
  private readonly db: ModelsKysely;

  constructor(db: Kysely<Database>) {
    this.db = db as unknown as ModelsKysely;
  }

  /** Changes whenever any declaration is written (rows are never updated or deleted). */
  async revision(): Promise<number> {
    const row = await this.db
      .selectFrom("model_declarations")
      .select((eb) => eb.fn.countAll<string | number>().as("n"))
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** The highest version of every declared model. */
  latest(): Promise<ModelDeclarationRow[]> {
    return this.db
      .selectFrom("model_declarations as d")
      .selectAll("d")
      .where(({ eb, selectFrom }) =>
        eb(
          "d.version",
          "=",
          selectFrom("model_declarations as v")
            .select((v) => v.fn.max("v.version").as("top"))
            .whereRef("v.model", "=", "d.model"),
        ),
      )
      .orderBy("d.model")
      .execute();
  }

  /** Every version of one model, newest first. */
  versions(model: string): Promise<ModelDeclarationRow[]> {
    return this.db
      .selectFrom("model_declarations")
      .selectAll()
      .where("model", "=", model)
      .orderBy("version", "desc")
      .execute();
  }

  /**
   * Append the next version of `row.model`. Two writers racing for one version number: the
   * primary key refuses the second, which takes the next number.
   */
  async append(row: Omit<ModelDeclarationRow, "version">): Promise<ModelDeclarationRow> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await this.db.transaction().execute(async (trx) => {
          const top = await trx
            .selectFrom("model_declarations")
            .select((eb) => eb.fn.max("version").as("top"))
            .where("model", "=", row.model)
            .executeTakeFirst();
          const version = Number(top?.top ?? 0) + 1;
          const full = { ...row, version };
          await trx.insertInto("model_declarations").values(full).execute();
          return full;
        });
      } catch (error) {
        lastError = error;
      }
    }
    throw lastError;
  }
}
