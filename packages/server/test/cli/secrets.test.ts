import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import type { Kysely } from "kysely";
import { Catalog } from "../../src/catalog/models.ts";
import { ChannelRepository } from "../../src/channels/repository.ts";
import { ChannelService } from "../../src/channels/service.ts";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../src/store/db.ts";
import type { Database } from "../../src/store/schema.ts";
import { SecretBox, SecretKeyError } from "../../src/util/secret-box.ts";
import { WebhookRepository } from "../../src/webhooks/repository.ts";
import { signatureHeader, verifySignature } from "../../src/webhooks/signing.ts";
import { freshPostgres, freshSqlite, type TestDatabase } from "../helpers/databases.ts";
import { sealV1 } from "../helpers/sealed-v1.ts";
import { runCli } from "./run.ts";

/**
 * `vidrelay secrets rotate` end to end: a store sealed under secret A is re-sealed by the real CLI
 * with B (A given as previous), after which B alone opens every channel key and webhook secret.
 */

const A = "rotation-test-secret-AAAAAAAA";
const B = "rotation-test-secret-BBBBBBBB";
const UPSTREAM_NEW = "sk-upstream-sealed-v2-0001";
const UPSTREAM_OLD = "sk-upstream-sealed-v1-0002";
/** More webhook rows than one rotate batch (200), so the batching is exercised. */
const BULK_ACCOUNTS = 230;

async function insertChannel(db: Kysely<Database>, id: string, sealed: string): Promise<void> {
  const now = Date.now();
  await db
    .insertInto("channels")
    .values({
      id,
      name: id,
      provider: "ark",
      base_url: "https://ark.example.test/api/v3",
      api_key_sealed: sealed,
      models_json: "{}",
      priority: 0,
      weight: 1,
      max_concurrent: 3,
      in_flight: 0,
      enabled: 1,
      callback_token: `cb_${id}`,
      created_at: now,
      updated_at: now,
    })
    .execute();
}

async function insertAccounts(db: Kysely<Database>, ids: string[]): Promise<void> {
  await db
    .insertInto("accounts")
    .values(ids.map((id) => ({ id, name: id, is_admin: 0, billing_mode: "prepaid" as const, created_at: 1 })))
    .execute();
}

/** A store as a version with secret A left it: v2 and v1 channel keys, sealed and clear webhook secrets. */
async function storeUnderA(handle: DatabaseHandle): Promise<{ whsecCurrent: string; whsecPrevious: string }> {
  const db = handle.db;
  const boxA = new SecretBox(A);
  await migrateToLatest(db, ALL_MIGRATIONS);
  await insertChannel(db, "ch_new", boxA.seal(UPSTREAM_NEW));
  await insertChannel(db, "ch_old", sealV1(A, UPSTREAM_OLD));
  const bulk = Array.from({ length: BULK_ACCOUNTS }, (_, i) => `acct_bulk_${String(i).padStart(4, "0")}`);
  await insertAccounts(db, ["acct_a", "acct_legacy", "acct_double", ...bulk]);
  const repo = new WebhookRepository(db, boxA);
  await repo.ensureSecrets({ accountId: "acct_a", testMode: 0 }, "whsec_Zmlyc3Qtc2VjcmV0LWZvci1hY2N0LWE=");
  // The test world's own secret is sealed as well, and rotated with the rest.
  await repo.ensureSecrets(
    { accountId: "acct_a", testMode: 1 },
    "whsec_dGVzdC1tb2RlLXNlY3JldC1vZi1hY2N0LWE=",
  );
  const rotated = await repo.rotate(
    { accountId: "acct_a", testMode: 0 },
    "whsec_c2Vjb25kLXNlY3JldC1mb3ItYWNjdC1h",
    Date.now() + 3_600_000,
  );
  await db
    .insertInto("webhook_secrets")
    .values({
      account_id: "acct_legacy",
      secret: "whsec_bGVnYWN5LWluLWNsZWFy",
      previous_secret: null,
      previous_expires_at: null,
      created_at: 1,
      rotated_at: null,
    })
    .execute();
  // What a pre-ring version running beside this one made of a v2 value it took for clear text.
  await db
    .insertInto("webhook_secrets")
    .values({
      account_id: "acct_double",
      secret: sealV1(A, boxA.seal("whsec_ZG91YmxlLXNlYWxlZA==")),
      previous_secret: null,
      previous_expires_at: null,
      created_at: 1,
      rotated_at: null,
    })
    .execute();
  await db
    .insertInto("webhook_secrets")
    .values(
      bulk.map((id) => ({
        account_id: id,
        secret: boxA.seal(`whsec_${id}`),
        previous_secret: null,
        previous_expires_at: null,
        created_at: 1,
        rotated_at: null,
      })),
    )
    .execute();
  return { whsecCurrent: rotated.secret, whsecPrevious: rotated.previous_secret! };
}

const snapshot = async (db: Kysely<Database>) => ({
  channels: await db.selectFrom("channels").select(["id", "api_key_sealed"]).orderBy("id").execute(),
  webhooks: await db
    .selectFrom("webhook_secrets")
    .select(["account_id", "secret", "previous_secret"])
    .orderBy("account_id")
    .execute(),
});

function assertNoSecrets(text: string, extra: string[] = []): void {
  for (const secret of [A, B, UPSTREAM_NEW, UPSTREAM_OLD, "whsec_", ...extra]) {
    assert.ok(!text.includes(secret), `output leaks a secret:\n${text}`);
  }
}

for (const [name, make] of [
  ["SQLite", freshSqlite],
  ["Postgres", freshPostgres],
] as Array<[string, () => Promise<TestDatabase>]>) {
  describe(`vidrelay secrets rotate on ${name}`, () => {
    test("A → B with A as previous: re-sealed in batches, idempotent, then B alone opens everything", async () => {
      const store = await make();
      const dataDir = mkdtempSync(join(tmpdir(), "vidrelay-rotate-"));
      const handle = openDatabase(store.url, { poolSize: 2 });
      try {
        const { whsecCurrent, whsecPrevious } = await storeUnderA(handle);
        const env = (secret: string, previous?: string) => ({
          VIDRELAY_DATABASE_URL: store.url,
          VIDRELAY_DATA_DIR: dataDir,
          VIDRELAY_SECRET: secret,
          VIDRELAY_SECRET_PREVIOUS: previous,
        });
        // webhook secrets (acct_a has a previous one) + acct_a's test-mode secret + channels
        const stored = BULK_ACCOUNTS + 3 + 1 + 1 + 2;

        // B without A: refuses, names the setting, writes nothing.
        const before = await snapshot(handle.db);
        const refused = await runCli(["secrets", "rotate"], env(B));
        assert.equal(refused.code, 1, refused.stdout + refused.stderr);
        assert.match(refused.stderr, /VIDRELAY_SECRET_PREVIOUS/);
        assertNoSecrets(refused.stdout + refused.stderr, [whsecCurrent, whsecPrevious]);
        assert.deepEqual(await snapshot(handle.db), before, "nothing written");

        const pending = await runCli(["secrets", "status"], env(B, A));
        assert.equal(pending.code, 1, pending.stderr);
        assert.match(
          pending.stdout,
          /channels\.api_key_sealed\s+2 stored: 0 current key, 1 previous key, 1 v1 format/,
        );
        assert.match(pending.stdout, /not sealed with the current key: run 'vidrelay secrets rotate'/);

        const rotated = await runCli(["secrets", "rotate"], env(B, A));
        assert.equal(rotated.code, 0, rotated.stdout + rotated.stderr);
        assertNoSecrets(rotated.stdout + rotated.stderr, [whsecCurrent, whsecPrevious]);
        assert.match(rotated.stdout, /channels\.api_key_sealed\s+2 stored: .*2 re-sealed/);
        assert.match(
          rotated.stdout,
          new RegExp(
            `webhook_secrets\\.secret\\s+${BULK_ACCOUNTS + 3} stored: 0 current key, ${BULK_ACCOUNTS + 1} previous key, 1 v1 format, 1 in clear, ${BULK_ACCOUNTS + 3} re-sealed`,
          ),
        );
        assert.match(rotated.stdout, /webhook_secrets\.previous_secret\s+1 stored: .*1 re-sealed/);
        assert.match(rotated.stdout, /webhook_test_secrets\.secret\s+1 stored: .*1 re-sealed/);
        assert.match(rotated.stdout, new RegExp(`re-sealed ${stored} of ${stored} stored secrets`));

        const again = await runCli(["secrets", "rotate", "--json"], env(B, A));
        assert.equal(again.code, 0, again.stderr);
        const report = JSON.parse(again.stdout) as {
          ok: boolean;
          key_id: string;
          columns: Array<{ column: string; stored: number; current: number; resealed: number }>;
        };
        assert.equal(report.ok, true);
        assert.equal(report.key_id, new SecretBox(B).keyId);
        assert.deepEqual(
          report.columns.map((c) => [c.column, c.stored === c.current, c.resealed]),
          [
            ["channels.api_key_sealed", true, 0],
            ["webhook_secrets.secret", true, 0],
            ["webhook_secrets.previous_secret", true, 0],
            ["webhook_test_secrets.secret", true, 0],
            ["webhook_test_secrets.previous_secret", true, 0],
          ],
          "a second run has nothing to do",
        );

        const done = await runCli(["secrets", "status"], env(B));
        assert.equal(done.code, 0, done.stdout + done.stderr);
        assert.match(done.stdout, new RegExp(`all ${stored} stored secrets are sealed with the current key`));

        // With B alone, in process: the channel keys and webhook signatures.
        const boxB = new SecretBox(B);
        const channels = new ChannelService(new ChannelRepository(handle.db), boxB, new Catalog(), new Map());
        for (const [id, key] of [
          ["ch_new", UPSTREAM_NEW],
          ["ch_old", UPSTREAM_OLD],
        ] as const) {
          assert.equal(channels.context(await channels.require(id), "m").apiKey, key);
        }
        const webhooks = new WebhookRepository(handle.db, boxB);
        const secrets = await webhooks.getSecrets({ accountId: "acct_a", testMode: 0 });
        assert.deepEqual([secrets?.secret, secrets?.previous_secret], [whsecCurrent, whsecPrevious]);
        const now = Math.floor(Date.now() / 1000);
        const header = signatureHeader([secrets!.secret], "msg_1", now, '{"ok":true}');
        assert.ok(verifySignature(whsecCurrent, "msg_1", now, '{"ok":true}', header));
        assert.equal(
          (await webhooks.getSecrets({ accountId: "acct_legacy", testMode: 0 }))?.secret,
          "whsec_bGVnYWN5LWluLWNsZWFy",
        );
        assert.equal(
          (await webhooks.getSecrets({ accountId: "acct_bulk_0229", testMode: 0 }))?.secret,
          "whsec_acct_bulk_0229",
        );
        assert.equal(
          (await webhooks.getSecrets({ accountId: "acct_double", testMode: 0 }))?.secret,
          "whsec_ZG91YmxlLXNlYWxlZA==",
        );
        const double = await handle.db
          .selectFrom("webhook_secrets")
          .select("secret")
          .where("account_id", "=", "acct_double")
          .executeTakeFirstOrThrow();
        assert.equal(boxB.open(double.secret), "whsec_ZG91YmxlLXNlYWxlZA==", "sealed once now");
        assert.ok(
          (await snapshot(handle.db)).webhooks.every((w) => w.secret.startsWith(`v2.${boxB.keyId}.`)),
        );

        // A alone no longer opens them, with an error that says what to set.
        await assert.rejects(
          new WebhookRepository(handle.db, new SecretBox(A)).getSecrets({ accountId: "acct_a", testMode: 0 }),
          (error: Error) => error instanceof SecretKeyError && /VIDRELAY_SECRET_PREVIOUS/.test(error.message),
        );
      } finally {
        await handle.close();
        await store.drop();
      }
    });
  });
}

describe("vidrelay secrets on a generated secret.key", () => {
  test("setting VIDRELAY_SECRET and rotating moves the store off the generated file", async () => {
    const store = await freshSqlite();
    const dataDir = mkdtempSync(join(tmpdir(), "vidrelay-rotate-file-"));
    const handle = openDatabase(store.url, { poolSize: 1 });
    try {
      await migrateToLatest(handle.db, ALL_MIGRATIONS);
      const generated = SecretBox.fromConfig({ dataDir }); // what a zero-config server does
      await insertChannel(handle.db, "ch_file", generated.seal(UPSTREAM_NEW));
      const base = { VIDRELAY_DATABASE_URL: store.url, VIDRELAY_DATA_DIR: dataDir };

      const status = await runCli(["secrets", "status"], base);
      assert.equal(status.code, 0, status.stdout + status.stderr);
      assert.match(status.stdout, /current key \S+ \(the generated .*secret\.key/);

      const rotated = await runCli(["secrets", "rotate"], { ...base, VIDRELAY_SECRET: B });
      assert.equal(rotated.code, 0, rotated.stdout + rotated.stderr);
      assert.match(rotated.stdout, /open-only key \S+ \(the generated .*secret\.key\)/);
      assert.match(rotated.stdout, /channels\.api_key_sealed\s+1 stored: .*1 re-sealed/);
      assertNoSecrets(rotated.stdout + rotated.stderr);

      const channels = new ChannelService(
        new ChannelRepository(handle.db),
        new SecretBox(B),
        new Catalog(),
        new Map(),
      );
      assert.equal(channels.context(await channels.require("ch_file"), "m").apiKey, UPSTREAM_NEW);

      // No secret and no file (a wrong data dir): refused, nothing generated.
      const empty = mkdtempSync(join(tmpdir(), "vidrelay-rotate-none-"));
      const none = await runCli(["secrets", "rotate"], {
        VIDRELAY_DATABASE_URL: store.url,
        VIDRELAY_DATA_DIR: empty,
      });
      assert.equal(none.code, 2);
      assert.match(none.stderr, /VIDRELAY_SECRET is not set/);
    } finally {
      await handle.close();
      await store.drop();
    }
  });
});
