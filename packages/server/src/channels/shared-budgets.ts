import type { Kysely } from "kysely";
import {
  BudgetExhausted,
  type BudgetSpec,
  type BudgetState,
  checkSpec,
  type QueryBudget,
  type QueryBudgets,
  reserveSlot,
  sleep,
} from "../providers/query-budget.ts";
import type { Database } from "../store/schema.ts";

/** Reservations that lose this many races in a row give up for now (the caller retries later). */
const MAX_RACES = 25;

/**
 * Query budgets kept in the store, so every API and worker process of a deployment draws on one
 * budget per key. A reservation reads the budget's row, computes its slot with the same pure
 * `reserveSlot` the in-memory budget uses, and writes it back only if no one else wrote in between
 * (a version column): no lock is held while anyone waits, and SQLite and Postgres behave alike.
 * Slot times come from each process's clock: hosts kept within a few ms by NTP matter less than
 * the margin the windows already carry (a DashScope second is counted as 1.1 s).
 */
export function storeBudgets(db: Kysely<Database>): QueryBudgets {
  return (spec) => new StoreQueryBudget(db, spec);
}

export class StoreQueryBudget implements QueryBudget {
  constructor(
    private readonly db: Kysely<Database>,
    readonly spec: BudgetSpec,
  ) {
    checkSpec(spec);
  }

  async take(signal?: AbortSignal): Promise<void> {
    const wait = await this.reserve();
    if (wait > 0) await sleep(wait, signal);
  }

  /** Reserve the next slot; returns how long to wait for it (from now, after the reservation). */
  async reserve(): Promise<number> {
    return Math.max(0, (await this.reserveAt()) - Date.now());
  }

  /** Reserve the next slot; returns when it is (epoch ms, this process's clock). */
  async reserveAt(): Promise<number> {
    const { db, spec } = this;
    for (let race = 0; race < MAX_RACES; race++) {
      const row = await db
        .selectFrom("query_budgets")
        .select(["slots_json", "paused_until", "version"])
        .where("key", "=", spec.key)
        .executeTakeFirst();
      const now = Date.now();
      const state: BudgetState = row
        ? { slots: JSON.parse(row.slots_json) as number[], pausedUntil: Number(row.paused_until) }
        : { slots: [], pausedUntil: 0 };
      const next = reserveSlot(state, now, spec);
      const wait = next.at - now;
      if (wait > spec.maxWaitMs) throw new BudgetExhausted(wait);
      const slotsJson = JSON.stringify(next.state.slots);
      let won: boolean;
      if (!row) {
        const inserted = await db
          .insertInto("query_budgets")
          .values({ key: spec.key, slots_json: slotsJson, paused_until: 0, version: 1, updated_at: now })
          .onConflict((oc) => oc.column("key").doNothing())
          .executeTakeFirst();
        won = Number(inserted.numInsertedOrUpdatedRows ?? 0) === 1;
      } else {
        const updated = await db
          .updateTable("query_budgets")
          .set({ slots_json: slotsJson, version: row.version + 1, updated_at: now })
          .where("key", "=", spec.key)
          .where("version", "=", row.version)
          .executeTakeFirst();
        won = Number(updated.numUpdatedRows) === 1;
      }
      if (won) return next.at;
    }
    // Hundreds of processes racing for one budget: let this caller come back on its next round.
    throw new BudgetExhausted(0);
  }

  /** Every process holds back until `now + ms` (a reservation made meanwhile keeps its slot). */
  async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    const { db, spec } = this;
    await db
      .insertInto("query_budgets")
      .values({ key: spec.key, slots_json: "[]", paused_until: until, version: 1, updated_at: Date.now() })
      .onConflict((oc) =>
        oc.column("key").doUpdateSet((eb) => ({
          paused_until: eb
            .case()
            .when("query_budgets.paused_until", "<", until)
            .then(until)
            .else(eb.ref("query_budgets.paused_until"))
            .end(),
          version: eb("query_budgets.version", "+", 1),
          updated_at: Date.now(),
        })),
      )
      .execute();
  }
}
