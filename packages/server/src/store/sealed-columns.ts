import type { Kysely } from "kysely";
import { openUnwrapping, type SealState, type SecretBox, SecretKeyError } from "../util/secret-box.ts";
import type { Dialect } from "./db.ts";
import type { Database } from "./schema.ts";

/**
 * Every column that holds SecretBox values, for `vidrelay secrets rotate` and `secrets status`.
 * A new sealed column belongs here, or rotating VIDRELAY_SECRET would strand its values.
 */
export const SEALED_COLUMNS = [
  { table: "channels", key: "id", columns: ["api_key_sealed"] },
  // Signing secrets an older version stored in clear (`whsec_…`) are sealed by rotate too, and
  // ones it sealed twice (see openUnwrapping) are sealed once.
  { table: "webhook_secrets", key: "account_id", columns: ["secret", "previous_secret"], unwrap: true },
  { table: "webhook_test_secrets", key: "account_id", columns: ["secret", "previous_secret"], unwrap: true },
] as const satisfies ReadonlyArray<{
  table: keyof Database;
  key: string;
  columns: readonly string[];
  /** Plaintexts never look sealed: a sealed one was sealed twice and is opened again. */
  unwrap?: boolean;
}>;

export interface SealedColumnReport {
  /** "table.column" */
  column: string;
  /** Values stored (not null). */
  stored: number;
  /** How they were sealed when read: with the current key, a previous one, the key-less v1 format, or not at all. */
  current: number;
  previous: number;
  legacy: number;
  clear: number;
  /** Values re-sealed with the current key by this run (rotate only). */
  resealed: number;
  /** Values another process changed between read and write (rotate only; run it again). */
  skipped: number;
}

/** The store seen loosely: only string columns are touched here. */
type Loose = Kysely<Record<string, Record<string, string | null>>>;

const emptyReport = (column: string): SealedColumnReport => ({
  column,
  stored: 0,
  current: 0,
  previous: 0,
  legacy: 0,
  clear: 0,
  resealed: 0,
  skipped: 0,
});

/**
 * Open every stored value with the ring and count how each is sealed. Throws SecretKeyError
 * (which names the setting to fix, never a value) on the first one the ring cannot open.
 */
export async function sealedStatus(db: Kysely<Database>, box: SecretBox): Promise<SealedColumnReport[]> {
  const reports: SealedColumnReport[] = [];
  for (const { table, key, columns } of SEALED_COLUMNS) {
    const byColumn = columns.map((c) => emptyReport(`${table}.${c}`));
    await eachBatch(db as unknown as Loose, table, key, columns, 500, undefined, async (rows) => {
      for (const row of rows) {
        columns.forEach((column, i) => {
          const value = row[column];
          if (value === null || value === undefined) return;
          const state = box.state(value);
          if (state !== "clear") box.open(value); // throws when the ring lacks its key
          count(byColumn[i]!, state);
        });
      }
    });
    reports.push(...byColumn);
  }
  return reports;
}

/**
 * Re-seal every stored value that is not sealed with the current key (values of previous keys,
 * the v1 format, secrets still in clear), in one transaction per batch of rows. Every value is
 * opened before anything is written, so a missing previous secret changes nothing. A row is
 * written only if it still holds what was read; on Postgres the batch's rows are locked too.
 * Running it again finds nothing to do.
 */
export async function resealAll(
  db: Kysely<Database>,
  box: SecretBox,
  options: { dialect: Dialect; batchSize?: number },
): Promise<SealedColumnReport[]> {
  await sealedStatus(db, box);
  const loose = db as unknown as Loose;
  const reports: SealedColumnReport[] = [];
  for (const set of SEALED_COLUMNS) {
    const { table, key, columns } = set;
    const open = (value: string) => ("unwrap" in set ? openUnwrapping(box, value) : box.open(value));
    const byColumn = columns.map((c) => emptyReport(`${table}.${c}`));
    const lock = options.dialect === "postgres";
    await eachBatch(loose, table, key, columns, options.batchSize ?? 200, lock, async (rows, trx) => {
      for (const row of rows) {
        const set: Record<string, string> = {};
        columns.forEach((column, i) => {
          const value = row[column];
          if (value === null || value === undefined) return;
          const state = box.state(value);
          count(byColumn[i]!, state);
          if (state !== "current") set[column] = box.seal(state === "clear" ? value : open(value));
        });
        const changed = Object.keys(set);
        if (changed.length === 0) continue;
        let update = trx
          .updateTable(table)
          .set(set)
          .where(key, "=", row[key] as string);
        for (const column of changed) update = update.where(column, "=", row[column] as string);
        const result = await update.executeTakeFirst();
        const written = Number(result.numUpdatedRows) > 0;
        for (const column of changed) {
          const report = byColumn[columns.indexOf(column as never)]!;
          if (written) report.resealed++;
          else report.skipped++;
        }
      }
    });
    reports.push(...byColumn);
  }
  return reports;
}

function count(report: SealedColumnReport, state: SealState): void {
  report.stored++;
  if (state === "unknown") throw new SecretKeyError(`${report.column}: a value the key ring cannot open`);
  report[state]++;
}

/** Rows in primary-key order, `size` at a time, each batch read (and handled) in its own transaction. */
async function eachBatch(
  db: Loose,
  table: string,
  key: string,
  columns: readonly string[],
  size: number,
  lock: boolean | undefined,
  handle: (rows: Array<Record<string, string | null>>, trx: Loose) => Promise<void>,
): Promise<void> {
  let after: string | undefined;
  for (;;) {
    const rows = await db.transaction().execute(async (trx) => {
      let query = trx
        .selectFrom(table)
        .select([key, ...columns])
        .orderBy(key)
        .limit(size);
      if (after !== undefined) query = query.where(key, ">", after);
      if (lock) query = query.forUpdate();
      const batch = await query.execute();
      await handle(batch, trx);
      return batch;
    });
    if (rows.length < size) return;
    after = rows.at(-1)![key] as string;
  }
}
