import type { Kysely } from "kysely";
import type { Owner } from "../domain/owner.ts";
import { countRows } from "../store/db.ts";
import { type Cursor, keysetPage, type Page } from "../store/pagination.ts";
import type { Database, FileRow, NewFile } from "../store/schema.ts";

export class FileRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(file: NewFile): Promise<void> {
    await this.db.insertInto("files").values(file).execute();
  }

  /** Scoped to the owner: another account's file, or one of the other mode, does not exist. */
  get(owner: Owner, id: string): Promise<FileRow | undefined> {
    return this.db
      .selectFrom("files")
      .selectAll()
      .where("id", "=", id)
      .where("account_id", "=", owner.accountId)
      .where("test_mode", "=", owner.testMode)
      .executeTakeFirst();
  }

  /** Capability lookup for public URLs; the token is the authorisation. */
  getByToken(token: string): Promise<FileRow | undefined> {
    return this.db.selectFrom("files").selectAll().where("token", "=", token).executeTakeFirst();
  }

  async list(owner: Owner, limit: number, after?: Cursor): Promise<Page<FileRow>> {
    const q = this.db
      .selectFrom("files")
      .selectAll()
      .where("account_id", "=", owner.accountId)
      .where("test_mode", "=", owner.testMode);
    return keysetPage(q, limit, after);
  }

  async delete(owner: Owner, id: string): Promise<FileRow | undefined> {
    const row = await this.get(owner, id);
    if (!row) return undefined;
    await this.db
      .deleteFrom("files")
      .where("id", "=", id)
      .where("account_id", "=", owner.accountId)
      .execute();
    return row;
  }

  /** Bytes of the account's files that have not expired (the storage quota counts these). */
  async bytesKept(accountId: string, now: number): Promise<number> {
    const row = await this.db
      .selectFrom("files")
      .select((eb) => eb.fn.sum<number | string | null>("bytes").as("total"))
      .where("account_id", "=", accountId)
      .where("expires_at", ">", now)
      .executeTakeFirst();
    return Number(row?.total ?? 0);
  }

  /** Expired rows, oldest first, for the cleanup sweep. */
  listExpired(now: number, limit: number): Promise<FileRow[]> {
    return this.db
      .selectFrom("files")
      .selectAll()
      .where("expires_at", "<=", now)
      .orderBy("expires_at")
      .limit(limit)
      .execute();
  }

  async deleteById(id: string): Promise<void> {
    await this.db.deleteFrom("files").where("id", "=", id).execute();
  }

  count(): Promise<number> {
    return countRows(this.db, "files");
  }
}
