import type { Kysely } from "kysely";
import type { Owner } from "../domain/owner.ts";
import type { Database, IdempotencyKeysTable } from "../store/schema.ts";

export const IDEMPOTENCY_WINDOW_MS = 24 * 3600 * 1000;

export class IdempotencyRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The owner's record of `key`, in the owner's mode only: a key never crosses modes. */
  async find(owner: Owner, key: string, trx: Kysely<Database> = this.db, now = Date.now()) {
    return trx
      .selectFrom("idempotency_keys")
      .selectAll()
      .where("account_id", "=", owner.accountId)
      .where("test_mode", "=", owner.testMode)
      .where("idem_key", "=", key)
      .where("created_at", ">", now - IDEMPOTENCY_WINDOW_MS)
      .executeTakeFirst();
  }

  /** Insert or replace an expired record; a live one makes the primary key reject the insert. */
  async record(trx: Kysely<Database>, entry: IdempotencyKeysTable): Promise<void> {
    await trx
      .deleteFrom("idempotency_keys")
      .where("account_id", "=", entry.account_id)
      .where("test_mode", "=", entry.test_mode)
      .where("idem_key", "=", entry.idem_key)
      .where("created_at", "<=", entry.created_at - IDEMPOTENCY_WINDOW_MS)
      .execute();
    await trx.insertInto("idempotency_keys").values(entry).execute();
  }

  /** Drop the owner's record of `key` (its task was deleted and the key may start over). */
  async forget(owner: Owner, key: string): Promise<void> {
    await this.db
      .deleteFrom("idempotency_keys")
      .where("account_id", "=", owner.accountId)
      .where("test_mode", "=", owner.testMode)
      .where("idem_key", "=", key)
      .execute();
  }

  async purgeExpired(now = Date.now()): Promise<void> {
    await this.db
      .deleteFrom("idempotency_keys")
      .where("created_at", "<=", now - IDEMPOTENCY_WINDOW_MS)
      .execute();
  }
}
