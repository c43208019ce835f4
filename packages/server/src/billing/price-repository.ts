/**
 * The SQL of the price table: immutable versions per model (price-book.ts holds the rules).
 * Every method takes an optional executor, as in repository.ts.
 */
import { randomAlphanumeric } from "../util/ids.ts";
import { BillingTables, type Executor } from "./repository.ts";
import type { PriceRow } from "./tables.ts";

const newPriceId = () => `price_${randomAlphanumeric(20)}`;

export class PriceRepository extends BillingTables {
  /**
   * Insert a version. A taken (model, version) is a violation, or with `ifAbsent` leaves the
   * existing row alone (two processes writing the same default).
   */
  async insertPrice(
    price: Omit<PriceRow, "id">,
    options: { ifAbsent?: boolean } = {},
    ex?: Executor,
  ): Promise<PriceRow> {
    const row: PriceRow = { id: newPriceId(), ...price };
    await this.on(ex)
      .insertInto("billing_prices")
      .values(row)
      .$if(!!options.ifAbsent, (qb) => qb.onConflict((oc) => oc.columns(["model", "version"]).doNothing()))
      .execute();
    return row;
  }

  /** One version of a model, or its highest ("latest"). */
  price(model: string, version: number | "latest", ex?: Executor): Promise<PriceRow | undefined> {
    const q = this.on(ex).selectFrom("billing_prices").selectAll().where("model", "=", model);
    if (version === "latest") return q.orderBy("version", "desc").limit(1).executeTakeFirst();
    return q.where("version", "=", version).executeTakeFirst();
  }

  priceById(id: string, ex?: Executor): Promise<PriceRow> {
    return this.on(ex)
      .selectFrom("billing_prices")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
  }

  /** The model's highest version number, 0 when it has none. */
  async topPriceVersion(model: string, ex?: Executor): Promise<number> {
    const top = await this.on(ex)
      .selectFrom("billing_prices")
      .select((eb) => eb.fn.max("version").as("v"))
      .where("model", "=", model)
      .executeTakeFirst();
    return Number(top?.v ?? 0);
  }

  /** Every version of a model, newest first. */
  priceVersions(model: string): Promise<PriceRow[]> {
    return this.on(undefined)
      .selectFrom("billing_prices")
      .selectAll()
      .where("model", "=", model)
      .orderBy("version", "desc")
      .execute();
  }

  /** The highest version of every priced model. */
  currentPrices(): Promise<PriceRow[]> {
    return this.on(undefined)
      .selectFrom("billing_prices as p")
      .selectAll()
      .where(({ eb, selectFrom }) =>
        eb(
          "p.version",
          "=",
          selectFrom("billing_prices as q")
            .select((qb) => qb.fn.max("q.version").as("v"))
            .whereRef("q.model", "=", "p.model"),
        ),
      )
      .execute();
  }
}
