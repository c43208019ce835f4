import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { DeliveryStatus } from "../../src/store/schema.ts";
import { SecretBox } from "../../src/util/secret-box.ts";
import { WebhookRepository } from "../../src/webhooks/repository.ts";
import { freshPostgres, freshSqlite, type TestDatabase } from "../helpers/databases.ts";
import { withRecordedStore } from "../helpers/recorded-store.ts";

const BOX = new SecretBox("webhook-repository-test-secret");

for (const [name, make] of [
  ["SQLite", freshSqlite],
  ["Postgres", freshPostgres],
] as Array<[string, () => Promise<TestDatabase>]>) {
  describe(`WebhookRepository secrets on ${name}`, () => {
    test("signing secrets are sealed at rest, read back opened; a row stored in clear is sealed on first read", async () => {
      await withRecordedStore(make, async ({ plain }) => {
        const repo = new WebhookRepository(plain, BOX);
        const stored = async (account: string) =>
          await plain
            .selectFrom("webhook_secrets")
            .selectAll()
            .where("account_id", "=", account)
            .executeTakeFirstOrThrow();

        for (const id of ["acct_a", "acct_old"]) {
          await plain
            .insertInto("accounts")
            .values({ id, name: id, is_admin: 0, billing_mode: "prepaid", created_at: 1 })
            .execute();
        }
        const created = await repo.ensureSecrets({ accountId: "acct_a", testMode: 0 }, "whsec_first");
        assert.equal(created.secret, "whsec_first");
        assert.ok(!(await stored("acct_a")).secret.includes("whsec_"), "not in clear");
        const rotated = await repo.rotate(
          { accountId: "acct_a", testMode: 0 },
          "whsec_second",
          Date.now() + 60_000,
        );
        assert.deepEqual([rotated.secret, rotated.previous_secret], ["whsec_second", "whsec_first"]);
        const row = await stored("acct_a");
        assert.ok(!row.secret.includes("whsec_") && !row.previous_secret!.includes("whsec_"), "both sealed");
        await assert.rejects(
          new WebhookRepository(plain, new SecretBox("another-secret-entirely")).getSecrets({
            accountId: "acct_a",
            testMode: 0,
          }),
          /VIDRELAY_SECRET differs/,
        );

        // An older version's clear row.
        await plain
          .insertInto("webhook_secrets")
          .values({
            account_id: "acct_old",
            secret: "whsec_old",
            previous_secret: "whsec_older",
            previous_expires_at: Date.now() + 1000,
            created_at: 1,
            rotated_at: 2,
          })
          .execute();
        const legacy = await repo.getSecrets({ accountId: "acct_old", testMode: 0 });
        assert.deepEqual([legacy?.secret, legacy?.previous_secret], ["whsec_old", "whsec_older"]);
        const resealed = await stored("acct_old");
        assert.ok(resealed.secret.startsWith("v2.") && resealed.previous_secret!.startsWith("v2."));
        assert.equal((await repo.getSecrets({ accountId: "acct_old", testMode: 0 }))?.secret, "whsec_old");
      });
    });
  });

  describe(`WebhookRepository.recordAttempt on ${name}`, () => {
    test("attempts recorded together share one transaction, and each delivery gets its own outcome", async () => {
      await withRecordedStore(make, async ({ db, plain, kinds: statements }) => {
        const repo = new WebhookRepository(db, BOX);
        const now = Date.now();
        const n = 150; // more than one multi-row INSERT's worth
        for (let i = 0; i < n; i++) {
          await plain
            .insertInto("webhook_deliveries")
            .values({
              id: `whd_${i}`,
              task_id: `task_${i}`,
              account_id: "acct_a",
              test_mode: 0,
              url: "https://example.com/hook",
              payload: "{}",
              status: "pending",
              attempts: 0,
              next_attempt_at: null,
              last_status_code: null,
              last_error: null,
              created_at: now,
              updated_at: now,
              delivered_at: null,
            })
            .execute();
        }
        const outcome = (i: number): DeliveryStatus =>
          i % 3 === 0 ? "pending" : i % 3 === 1 ? "delivered" : "gone";
        await Promise.all(
          Array.from({ length: n }, (_, i) =>
            repo.recordAttempt(
              {
                id: `wha_${i}`,
                delivery_id: `whd_${i}`,
                attempted_at: now + i,
                status_code: outcome(i) === "delivered" ? 200 : 500,
                latency_ms: i,
                error: outcome(i) === "delivered" ? null : `HTTP 500 #${i}`,
                response_excerpt: null,
              },
              { status: outcome(i), nextAttemptAt: outcome(i) === "pending" ? now + 60_000 : null },
            ),
          ),
        );
        assert.equal(
          statements.filter((kind) => kind === "InsertQueryNode").length,
          3,
          "150 rows in 3 INSERTs",
        );
        assert.equal(statements.filter((kind) => kind === "UpdateQueryNode").length, n);
        const rows = await plain.selectFrom("webhook_deliveries").selectAll().orderBy("id").execute();
        for (const row of rows) {
          const i = Number(row.id.slice(4));
          assert.equal(row.status, outcome(i), row.id);
          assert.equal(row.attempts, 1);
          assert.equal(row.updated_at, now + i);
          assert.equal(row.delivered_at, outcome(i) === "delivered" ? now + i : null);
          assert.equal(row.next_attempt_at, outcome(i) === "pending" ? now + 60_000 : null);
          assert.equal(row.last_error, outcome(i) === "delivered" ? null : `HTTP 500 #${i}`);
        }
        const attempts = await plain.selectFrom("webhook_attempts").select(["id", "delivery_id"]).execute();
        assert.equal(attempts.length, n);
        assert.ok(attempts.every((a) => a.delivery_id === `whd_${a.id.slice(4)}`));
      });
    });

    test("a batch that cannot commit records none of its attempts and tells every caller", async () => {
      await withRecordedStore(make, async ({ plain }) => {
        const repo = new WebhookRepository(plain, BOX);
        const attempt = (id: string) => ({
          id,
          delivery_id: "whd_x",
          attempted_at: Date.now(),
          status_code: 200,
          latency_ms: 1,
          error: null,
          response_excerpt: null,
        });
        // The same attempt id twice in one batch violates the primary key: the whole batch rolls back.
        const results = await Promise.allSettled([
          repo.recordAttempt(attempt("wha_dup"), { status: "delivered", nextAttemptAt: null }),
          repo.recordAttempt(attempt("wha_dup"), { status: "delivered", nextAttemptAt: null }),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ["rejected", "rejected"],
        );
        assert.equal((await plain.selectFrom("webhook_attempts").selectAll().execute()).length, 0);
      });
    });
  });
}
