import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Billing } from "../../src/billing/billing.ts";
import { type BillingRefusal, isBillingRefusal } from "../../src/billing/errors.ts";
import { RATE_WINDOW_MS } from "../../src/billing/limits.ts";
import { Catalog } from "../../src/catalog/models.ts";
import {
  DIALECTS,
  type Finisher,
  finisher,
  newCustomer,
  openStore,
  type Store,
  submit,
  taskRow,
} from "./helpers.ts";

async function refusal(promise: Promise<unknown>): Promise<BillingRefusal> {
  const error = await promise.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  );
  assert.ok(isBillingRefusal(error), `expected a BillingRefusal, got ${String(error)}`);
  return error;
}

for (const { name, make } of DIALECTS) {
  describe(`billing limits on ${name}, two gateway connections`, () => {
    let store: Store;
    /** Two "gateway processes": independent connections and services over one store. */
    let a: Billing;
    let b: Billing;
    let tasksA: Finisher;
    let tasksB: Finisher;

    before(async () => {
      store = await openStore(make);
      a = new Billing(store.handle.db, new Catalog(), { limitsCacheMs: 0 });
      b = new Billing(store.other.db, new Catalog(), { limitsCacheMs: 0 });
      await a.prices.ensureDefaultPrices();
      tasksA = finisher(store.handle.db, a);
      tasksB = finisher(store.other.db, b);
    });
    after(async () => {
      await store.close();
    });

    test("requests per minute: exactly the limit is admitted across both, then 429 with Retry-After", async () => {
      const { key, principal } = await newCustomer(store.accounts);
      await a.limits.set("key", key.id, { requestsPerMinute: 10 });
      const windowStart = Math.floor(Date.now() / RATE_WINDOW_MS) * RATE_WINDOW_MS + 10 * RATE_WINDOW_MS;
      const now = windowStart + 5_000;
      // 30 requests at the same instant, alternating between the two processes, all in flight at once.
      const results = await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          (i % 2 ? a : b).limits.enforceRateLimit(principal, { now }).then(
            (headers) => ({ ok: true as const, headers }),
            (error: unknown) => ({ ok: false as const, error }),
          ),
        ),
      );
      const admitted = results.filter((r) => r.ok);
      assert.equal(admitted.length, 10, "exactly the limit");
      const first = admitted[0]!.headers;
      assert.equal(first["RateLimit-Limit"], "10");
      assert.equal(first["RateLimit-Policy"], "10;w=60");
      assert.deepEqual(
        admitted.map((r) => Number(r.headers["RateLimit-Remaining"])).sort((x, y) => x - y),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
      const refused = results.find((r) => !r.ok)!.error as BillingRefusal;
      assert.equal(refused.status, 429);
      assert.equal(refused.type, "rate_limit_error");
      assert.equal(refused.code, "rate_limit_exceeded");
      assert.equal(refused.reason, "rate_limit");
      assert.equal(refused.fault, "client_quota");
      assert.equal(refused.headers["RateLimit-Remaining"], "0");
      const retryAfter = Number(refused.headers["Retry-After"]);
      // 55 s to the next window, plus 6 s for this window's 10 to decay to 9 of the sliding 60 s.
      assert.equal(retryAfter, 61);
      // Refusals did not use up budget: at retry-after, one request more than the remainder fits.
      await refusal(b.limits.enforceRateLimit(principal, { now: now + (retryAfter - 1) * 1000 }));
      const later = now + retryAfter * 1000;
      const next = await a.limits.enforceRateLimit(principal, { now: later });
      assert.equal(next["RateLimit-Limit"], "10");
      // Sliding window: 6 s into the next window, 10 × 54/60 of the last one still counts.
      assert.equal(next["RateLimit-Remaining"], "0", "10 − (9 + 1)");
      // Two windows later everything is forgotten.
      const fresh = await b.limits.enforceRateLimit(principal, { now: windowStart + 3 * RATE_WINDOW_MS });
      assert.equal(fresh["RateLimit-Remaining"], "9");
      assert.ok(
        (await a.repository.purgeExpiredCounters(windowStart + 10 * RATE_WINDOW_MS)) >= 1,
        "old windows are swept",
      );
    });

    test("Retry-After is honest: a refused client retrying after it is admitted", async () => {
      const { key, principal } = await newCustomer(store.accounts);
      await a.limits.set("key", key.id, { requestsPerMinute: 3 });
      let now = Math.floor(Date.now() / RATE_WINDOW_MS) * RATE_WINDOW_MS + 20 * RATE_WINDOW_MS + 40_000;
      let admitted = 0;
      for (let i = 0; i < 40; i++) {
        try {
          await (i % 2 ? a : b).limits.enforceRateLimit(principal, { now });
          admitted++;
          now += 1_000;
        } catch (error) {
          const wait = Number((error as BillingRefusal).headers["Retry-After"]);
          assert.ok(wait >= 1 && wait <= 120, `Retry-After ${wait}`);
          now += wait * 1000;
          await (i % 2 ? b : a).limits.enforceRateLimit(principal, { now }); // must be admitted now
          admitted++;
          now += 1_000;
        }
      }
      assert.ok(admitted >= 40);
    });

    test("no limit, no headers; account defaults apply to keys; a key's own setting wins", async () => {
      const { account, key, principal } = await newCustomer(store.accounts);
      assert.deepEqual(await a.limits.enforceRateLimit(principal), {});
      await a.limits.set("account", account.id, { requestsPerMinute: 2, maxConcurrent: 1 });
      assert.equal(
        (await b.limits.effectiveFor(principal)).requestsPerMinute,
        2,
        "visible from the other process",
      );
      await b.limits.set("key", key.id, { requestsPerMinute: 5 });
      const limits = await a.limits.effectiveFor(principal);
      assert.equal(limits.requestsPerMinute, 5);
      assert.equal(limits.maxConcurrent, 1, "inherited from the account");
      await a.limits.set("key", key.id, { requestsPerMinute: null });
      assert.equal((await a.limits.effectiveFor(principal)).requestsPerMinute, 2, "null inherits again");
    });

    test("concurrent in-flight tasks: the limit holds across both connections; a finish frees a slot", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await a.ledger.topup(account.id, 100_000_000, "seed");
      await b.limits.set("key", key.id, { maxConcurrent: 3 });
      const accepted = [];
      for (let i = 0; i < 3; i++) {
        accepted.push(
          await submit((i % 2 ? store.other : store.handle).db, i % 2 ? b : a, taskRow(account.id, key.id)),
        );
      }
      const refused = await refusal(submit(store.other.db, b, taskRow(account.id, key.id)));
      assert.equal(refused.status, 429);
      assert.equal(refused.type, "rate_limit_error");
      assert.equal(refused.code, "concurrency_limit_exceeded");
      assert.equal(refused.headers["Retry-After"], "10");
      await refusal(submit(store.handle.db, a, taskRow(account.id, key.id)));
      assert.equal(
        (await a.ledger.balance(account.id)).held_micros,
        3 * 350_000,
        "a refused task holds nothing",
      );
      // Finished through the other process: the slot is free for this one.
      await tasksB.finish(accepted[0]!.id, "failed");
      await submit(store.handle.db, a, taskRow(account.id, key.id));
      await refusal(submit(store.other.db, b, taskRow(account.id, key.id)));
      // Another key of the same account has its own slots.
      const key2 = (await store.accounts.createKey(account.id)).key;
      await submit(store.other.db, b, taskRow(account.id, key2.id));
      assert.deepEqual(await a.ledger.checkBalances(), []);
    });

    if (name === "postgres") {
      test("concurrent in-flight tasks under truly concurrent submits from both pools", async () => {
        const { account, key } = await newCustomer(store.accounts);
        await a.ledger.topup(account.id, 100_000_000, "seed");
        await a.limits.set("key", key.id, { maxConcurrent: 4 });
        const outcomes = await Promise.all(
          Array.from({ length: 16 }, (_, i) =>
            submit((i % 2 ? store.other : store.handle).db, i % 2 ? b : a, taskRow(account.id, key.id)).then(
              () => "accepted",
              (e: BillingRefusal) => e.code,
            ),
          ),
        );
        assert.equal(outcomes.filter((o) => o === "accepted").length, 4);
        assert.equal(outcomes.filter((o) => o === "concurrency_limit_exceeded").length, 12);
        assert.deepEqual(await a.ledger.checkBalances(), []);
      });
    }

    test("allowed models: 403 permission_error, and the model filter for GET /v1/models", async () => {
      const { account, key, principal } = await newCustomer(store.accounts);
      await a.ledger.topup(account.id, 10_000_000, "seed");
      await a.limits.set("account", account.id, { allowedModels: ["grok-imagine-video"] });
      const refused = await refusal(submit(store.other.db, b, taskRow(account.id, key.id)));
      assert.equal(refused.status, 403);
      assert.equal(refused.type, "permission_error");
      assert.equal(refused.code, "model_not_allowed");
      assert.equal(refused.param, "model");
      await refusal(b.limits.assertModelAllowed(principal, "seedance-1-5-pro-with-audio"));
      await b.limits.assertModelAllowed(principal, "grok-imagine-video");
      await submit(
        store.other.db,
        b,
        taskRow(account.id, key.id, { model: "grok-imagine-video", resolution: "480p" }),
      );
      const allowed = await a.limits.modelFilter(principal);
      assert.deepEqual(new Catalog().ids().filter(allowed), ["grok-imagine-video"]);
    });

    test("daily spend cap: committed (held + charged) per key per UTC day, released on failure", async () => {
      const { account, key } = await newCustomer(store.accounts);
      await a.ledger.topup(account.id, 100_000_000, "seed");
      await a.limits.set("key", key.id, { dailySpendCap: 1_000_000 });
      const today = Date.parse("2026-04-10T08:00:00Z");
      const t1 = await submit(store.handle.db, a, taskRow(account.id, key.id, { createdAt: today }));
      const t2 = await submit(store.other.db, b, taskRow(account.id, key.id, { createdAt: today }));
      const refused = await refusal(
        submit(store.handle.db, a, taskRow(account.id, key.id, { createdAt: today })),
      );
      assert.equal(refused.status, 403);
      assert.equal(refused.type, "insufficient_quota");
      assert.equal(refused.code, "daily_spend_cap_exceeded");
      assert.equal(refused.headers["Retry-After"], String(16 * 3600));
      await tasksA.finish(t1.id, "failed"); // released: no longer committed
      await tasksB.finish(t2.id, "succeeded"); // charged: still committed
      await submit(store.other.db, b, taskRow(account.id, key.id, { createdAt: today + 1000 }));
      await refusal(submit(store.handle.db, a, taskRow(account.id, key.id, { createdAt: today + 2000 })));
      // A new UTC day starts from zero.
      await submit(store.handle.db, a, taskRow(account.id, key.id, { createdAt: today + 24 * 3600_000 }));
    });
  });
}
