import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { randomAlphanumeric } from "../../src/util/ids.ts";

export const POSTGRES_URL =
  process.env.VIDRELAY_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432/test";

export interface TestDatabase {
  name: "sqlite" | "postgres";
  url: string;
  drop(): Promise<void>;
}

/** A fresh SQLite file. */
export async function freshSqlite(): Promise<TestDatabase> {
  const dir = await mkdtemp(join(tmpdir(), "vidrelay-sqlite-"));
  return { name: "sqlite", url: `sqlite:${join(dir, "test.db")}`, drop: async () => {} };
}

/**
 * A fresh, private Postgres schema in the `test` database, selected through the connection's
 * search_path, so suites can run in parallel and leave nothing behind.
 */
export async function freshPostgres(): Promise<TestDatabase> {
  const schema = `t_${randomAlphanumeric(12).toLowerCase()}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  await admin.query(`create schema ${schema}`);
  await admin.end();
  const url = `${POSTGRES_URL}${POSTGRES_URL.includes("?") ? "&" : "?"}options=${encodeURIComponent(`-c search_path=${schema}`)}`;
  return {
    name: "postgres",
    url,
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
    },
  };
}
