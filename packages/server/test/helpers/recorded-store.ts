import type { Kysely } from "kysely";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { migrateToLatest, openDatabase } from "../../src/store/db.ts";
import type { Database } from "../../src/store/schema.ts";
import type { TestDatabase } from "./databases.ts";

/**
 * Run `body` against a fresh, migrated store whose statements are recorded by kind
 * (`InsertQueryNode`, `UpdateQueryNode`, …): tests that count what a batch writes use `db`, and
 * set up rows through `plain`, which records nothing. The store is dropped afterwards.
 */
export async function withRecordedStore(
  make: () => Promise<TestDatabase>,
  body: (store: { db: Kysely<Database>; plain: Kysely<Database>; kinds: string[] }) => Promise<void>,
): Promise<void> {
  const database = await make();
  const handle = openDatabase(database.url);
  try {
    await migrateToLatest(handle.db, ALL_MIGRATIONS);
    const kinds: string[] = [];
    const db = handle.db.withPlugin({
      transformQuery(args) {
        kinds.push(args.node.kind);
        return args.node;
      },
      transformResult: async (args) => args.result,
    });
    await body({ db, plain: handle.db, kinds });
  } finally {
    await handle.close();
    await database.drop();
  }
}
