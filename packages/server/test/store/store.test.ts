import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { FileRepository } from "../../src/files/repository.ts";
import { StoreJobQueue } from "../../src/jobs/store-queue.ts";
import { AccountRepository } from "../../src/keys/repository.ts";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../src/store/db.ts";
import { decodeCursor } from "../../src/store/pagination.ts";
import type { TaskPatch, TaskRow } from "../../src/store/schema.ts";
import { IdempotencyRepository } from "../../src/tasks/idempotency-repository.ts";
import { TaskRepository } from "../../src/tasks/repository.ts";
import { newCapabilityToken, sha256Hex } from "../../src/util/ids.ts";
import { taskRow as billingTaskRow } from "../billing/helpers.ts";

/** A live-mode owner (domain/owner.ts). */
const live = (accountId: string) => ({ accountId, testMode: 0 as const });

import { freshPostgres, freshSqlite, type TestDatabase } from "../helpers/databases.ts";

/** One task row literal for all store-level tests (the billing helper's), with overrides. */
function taskRow(accountId: string, overrides: Partial<TaskRow> = {}): TaskRow {
  return { ...billingTaskRow(accountId, "key_x", { provider: "local" }), ...overrides };
}

/** The same suite, run against each dialect: the store must behave identically on both. */
for (const make of [freshSqlite, freshPostgres]) {
  describe(`store on ${make === freshSqlite ? "sqlite" : "postgres"}`, () => {
    let database: TestDatabase;
    let handle: DatabaseHandle;
    let accounts: AccountRepository;
    let tasks: TaskRepository;
    let files: FileRepository;
    let idem: IdempotencyRepository;
    let queue: StoreJobQueue;

    before(async () => {
      database = await make();
      handle = openDatabase(database.url);
      await migrateToLatest(handle.db, ALL_MIGRATIONS);
      await migrateToLatest(handle.db, ALL_MIGRATIONS); // idempotent
      accounts = new AccountRepository(handle.db);
      tasks = new TaskRepository(handle.db);
      files = new FileRepository(handle.db);
      idem = new IdempotencyRepository(handle.db);
      queue = new StoreJobQueue(handle.db);
    });
    after(async () => {
      await handle.close();
      await database.drop();
    });

    test("fractional delays reach bigint columns whole (a poll back-off of 5000 × 1.5^4 ms)", async () => {
      const account = await accounts.createAccount("poll", false);
      const row = taskRow(account.id, { channel_id: "ch_x", upstream_id: "up_x" });
      await tasks.insert(row);
      await tasks.recordUpstream(row.id, { id: "up_x", ref: null, firstPollAt: Date.now() + 12.75 });
      await tasks.reschedulePoll(row, 5000 * 1.5 ** 4);
      const after = await tasks.getById(row.id);
      assert.ok(Number.isInteger(after!.next_poll_at));
      // Due already (a fractional time in the past): a job due half a millisecond ahead could be
      // claimed within that same millisecond and not be due yet (seen once on Node 24).
      const jobId = await queue.enqueue({ kind: "deliver", runAt: Date.now() - 0.5 });
      const [claimed] = await queue.claim(["deliver"], "w", 1000, 1);
      assert.equal(claimed?.id, jobId);
      await queue.release(jobId, "w", Date.now() + 1234.5);
      await queue.fail(jobId, "w", "x", Date.now() + 0.25);
    });

    test("keys are stored hashed, authenticate, and stop working when revoked", async () => {
      const account = await accounts.createAccount("acme", false);
      const { key, secret } = await accounts.createKey(account.id, { name: "ci" });
      assert.match(secret, /^sk-[A-Za-z0-9]{48}$/);
      assert.equal(key.key_hash, sha256Hex(secret));
      const rows = await accounts.listKeys(account.id);
      assert.equal(rows.length, 1);
      assert.ok(!JSON.stringify(rows).includes(secret), "the secret itself is never stored");
      const found = await accounts.authenticate(secret);
      assert.equal(found?.account.id, account.id);
      assert.equal(found?.account.name, "acme");
      assert.equal(await accounts.authenticate(`${secret}x`), undefined);
      assert.equal(await accounts.revokeKey(key.id), true);
      assert.equal(await accounts.revokeKey(key.id), false);
      assert.equal(await accounts.authenticate(secret), undefined);
    });

    test("tasks are scoped to their account and paginate by cursor", async () => {
      const a = await accounts.createAccount("a", false);
      const b = await accounts.createAccount("b", false);
      const base = Date.now();
      const mine: string[] = [];
      for (let i = 0; i < 5; i++) {
        const row = taskRow(a.id, { created_at: base + i * 10, status: i % 2 ? "succeeded" : "submitted" });
        await tasks.insert(row);
        mine.push(row.id);
      }
      const theirs = taskRow(b.id);
      await tasks.insert(theirs);
      assert.equal(await tasks.get(live(a.id), theirs.id), undefined, "another account's task is invisible");
      assert.equal((await tasks.get(live(b.id), theirs.id))?.id, theirs.id);

      const page1 = await tasks.list(live(a.id), {}, 2);
      assert.deepEqual(
        page1.items.map((t) => t.id),
        [mine[4], mine[3]],
      );
      assert.ok(page1.nextCursor);
      const page2 = await tasks.list(live(a.id), {}, 2, decodeCursor(page1.nextCursor));
      assert.deepEqual(
        page2.items.map((t) => t.id),
        [mine[2], mine[1]],
      );
      const page3 = await tasks.list(live(a.id), {}, 2, decodeCursor(page2.nextCursor!));
      assert.deepEqual(
        page3.items.map((t) => t.id),
        [mine[0]],
      );
      assert.equal(page3.nextCursor, null);
      const succeeded = await tasks.list(live(a.id), { status: "succeeded" }, 10);
      assert.equal(succeeded.items.length, 2);
    });

    test("the terminal transition happens exactly once, even under concurrent finishers", async () => {
      const account = await accounts.createAccount("race", false);
      const row = taskRow(account.id);
      await tasks.insert(row);
      assert.equal(await tasks.markRunning(row.id), true);
      assert.equal(await tasks.markRunning(row.id), false, "only from submitted");
      assert.equal(await tasks.setProgress(row.id, 40), true);
      await tasks.setProgress(row.id, 20);
      assert.equal((await tasks.getById(row.id))?.progress, 40, "progress never goes backwards");

      const finish = (status: "succeeded" | "failed", patch: TaskPatch) =>
        handle.db
          .transaction()
          .execute((trx) => tasks.finishIfActive(trx, row.id, status, patch, Date.now()));
      const results = await Promise.all([
        finish("succeeded", { output_key: "videos/x.mp4" }),
        finish("failed", { error_code: "cancelled" }),
        finish("succeeded", {}),
      ]);
      assert.equal(results.filter(Boolean).length, 1, "one finisher wins");
      const final = await tasks.getById(row.id);
      assert.ok(final?.status === "succeeded" || final?.status === "failed");
      assert.equal(await tasks.setProgress(row.id, 50), false, "a finished task takes no progress");
      assert.equal(await finish("failed", {}), undefined, "terminal states are sticky");
    });

    test("idempotency records are unique per account and key", async () => {
      const account = await accounts.createAccount("idem", false);
      const now = Date.now();
      await handle.db.transaction().execute((trx) =>
        idem.record(trx, {
          account_id: account.id,
          test_mode: 0,
          idem_key: "k1",
          request_hash: "h1",
          task_id: "t1",
          created_at: now,
        }),
      );
      assert.equal((await idem.find(live(account.id), "k1"))?.task_id, "t1");
      await assert.rejects(
        handle.db.transaction().execute((trx) =>
          idem.record(trx, {
            account_id: account.id,
            test_mode: 0,
            idem_key: "k1",
            request_hash: "h2",
            task_id: "t2",
            created_at: now,
          }),
        ),
      );
      const other = await accounts.createAccount("idem2", false);
      assert.equal(await idem.find(live(other.id), "k1"), undefined);
      // An expired record may be replaced.
      const old = now - 25 * 3600 * 1000;
      await handle.db.transaction().execute((trx) =>
        idem.record(trx, {
          account_id: other.id,
          test_mode: 0,
          idem_key: "k9",
          request_hash: "h",
          task_id: "t",
          created_at: old,
        }),
      );
      assert.equal(await idem.find(live(other.id), "k9"), undefined, "older than 24 h does not match");
      await handle.db.transaction().execute((trx) =>
        idem.record(trx, {
          account_id: other.id,
          test_mode: 0,
          idem_key: "k9",
          request_hash: "h3",
          task_id: "t3",
          created_at: now,
        }),
      );
      assert.equal((await idem.find(live(other.id), "k9"))?.task_id, "t3");
    });

    test("files: owner scoping, capability lookup, expiry listing", async () => {
      const account = await accounts.createAccount("files", false);
      const now = Date.now();
      const base = {
        account_id: account.id,
        test_mode: 0,
        storage_key: "files/x",
        filename: "a.jpg",
        bytes: 10,
        content_type: "image/jpeg",
        kind: "image" as const,
        width: 1,
        height: 1,
        duration: 1.5,
        sha256: "0".repeat(64),
        created_at: now,
      };
      await files.insert({ ...base, id: "file_live", token: newCapabilityToken(), expires_at: now + 60_000 });
      const expiredToken = newCapabilityToken();
      await files.insert({ ...base, id: "file_old", token: expiredToken, expires_at: now - 1 });
      assert.equal((await files.get(live(account.id), "file_live"))?.duration, 1.5);
      assert.equal(await files.get(live("acct_other"), "file_live"), undefined);
      assert.equal((await files.getByToken(expiredToken))?.id, "file_old");
      const expired = await files.listExpired(now, 10);
      assert.deepEqual(
        expired.map((f) => f.id),
        ["file_old"],
      );
      await files.deleteById("file_old");
      assert.equal(await files.getByToken(expiredToken), undefined);
    });

    test("job queue: each job is claimed by exactly one worker; leases expire and are renewed", async () => {
      const ids = await Promise.all(Array.from({ length: 12 }, () => queue.enqueue({ kind: "render" })));
      // Four workers race for the same jobs; losers of a race simply claim others next round.
      const owners = new Map<string, string>();
      for (let round = 0; round < 10 && owners.size < 12; round++) {
        const claims = await Promise.all(
          ["w1", "w2", "w3", "w4"].map(async (owner) => ({
            owner,
            jobs: await queue.claim(["render"], owner, 60_000, 5),
          })),
        );
        for (const { owner, jobs } of claims) {
          for (const job of jobs) {
            assert.equal(owners.has(job.id), false, `job ${job.id} claimed twice`);
            owners.set(job.id, owner);
          }
        }
      }
      assert.deepEqual([...owners.keys()].sort(), [...ids].sort(), "all twelve claimed, each once");
      // A short lease that is not renewed becomes claimable by someone else.
      const [short] = await Promise.all([queue.enqueue({ kind: "render", maxAttempts: 5 })]);
      const first = await queue.claim(["render"], "dead-worker", 50, 1);
      assert.equal(first[0]?.id, short);
      assert.equal(first[0]?.attempt, 1);
      await new Promise((r) => setTimeout(r, 80));
      const second = await queue.claim(["render"], "live-worker", 60_000, 1);
      assert.equal(second[0]?.id, short);
      assert.equal(second[0]?.attempt, 2);
      assert.equal(await queue.renew(short, "dead-worker", 60_000), false, "the old owner lost the lease");
      assert.equal(await queue.renew(short, "live-worker", 60_000), true);

      await queue.fail(short, "live-worker", "boom", Date.now() + 60_000);
      assert.deepEqual(await queue.claim(["render"], "w", 1000, 1), [], "a retry waits for its run_at");
      const depth = await queue.depth();
      assert.ok(depth.some((d) => d.status === "queued" && d.n >= 1));
      for (const [id, owner] of owners) await queue.complete(id, owner);
      await queue.complete(short, "live-worker"); // not the owner's lease any more: no effect
      const after = await queue.depth();
      assert.equal(after.find((d) => d.status === "running")?.n ?? 0, 0);
    });
  });
}
