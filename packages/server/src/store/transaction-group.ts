import type { ControlledTransaction, Kysely, Transaction } from "kysely";
import type { Database } from "./schema.ts";

export type TransactionWork<T> = (trx: Transaction<Database>) => Promise<T>;

interface Pending {
  work: TransactionWork<unknown>;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/**
 * Group commit for whole transactions, on SQLite. Transactions asked for within one turn of the
 * event loop run one after another inside a single database transaction, each in its own
 * SAVEPOINT: one that throws is rolled back to its savepoint alone and its caller gets the error;
 * the others commit together, and every caller hears back only after that COMMIT.
 *
 * Why: SQLite has one writer and a commit is the expensive part (the WAL frames of every page the
 * transaction touched, written out). Ten submits that each dirty the same index pages cost ten
 * commits and ten copies of those pages; grouped, one. Each unit still sees the effects of the
 * ones before it (they run in order, as they would one by one), so balance checks, unique keys and
 * guarded transitions behave exactly as they do ungrouped.
 *
 * `grouped: false` (Postgres: many connections, each commit its own) runs each unit as a plain
 * transaction.
 */
export class TransactionGroup {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly grouped: boolean,
  ) {}

  run<T>(work: TransactionWork<T>): Promise<T> {
    if (!this.grouped) return this.db.transaction().execute(work);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    this.scheduled = false;
    if (batch.length === 1) {
      const [only] = batch as [Pending];
      this.db.transaction().execute(only.work).then(only.resolve, only.reject);
      return;
    }
    let outcomes: Outcome[];
    try {
      outcomes = await this.runTogether(batch);
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  /** One transaction, a savepoint per unit; throws (after rolling back) if the whole cannot commit. */
  private async runTogether(batch: Pending[]): Promise<Outcome[]> {
    const trx = await this.db.startTransaction().execute();
    const outcomes: Outcome[] = [];
    try {
      for (let i = 0; i < batch.length; i++) {
        const name = `group_unit_${i}`;
        const unit = (await trx.savepoint(name).execute()) as unknown as ControlledTransaction<
          Database,
          [string]
        >;
        try {
          outcomes.push({ ok: true, value: await batch[i]!.work(unit) });
        } catch (error) {
          await unit.rollbackToSavepoint(name).execute();
          outcomes.push({ ok: false, error });
        }
        await unit.releaseSavepoint(name).execute();
      }
      await trx.commit().execute();
      return outcomes;
    } catch (error) {
      await trx
        .rollback()
        .execute()
        .catch(() => undefined);
      throw error;
    }
  }
}
