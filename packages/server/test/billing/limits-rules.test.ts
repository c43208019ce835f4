// The rules of src/billing/limits.ts, one at a time, over a private in-memory SQLite store: the
// counter primitives, inheritance and caching of limit settings, and the sliding-window rate limit
// with its Retry-After arithmetic. (limits.test.ts runs the same limits across two connections and
// both dialects, end to end.)
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Kysely } from "kysely";
import { Billing } from "../../src/billing/billing.ts";
import { BillingRefusal } from "../../src/billing/errors.ts";
import {
  assertAllowed,
  DAY_MS,
  dayOf,
  dayToDate,
  decrementCounter,
  ensureCounter,
  incrementCounter,
  inflightKey,
  type LimitSettings,
  Limits,
  limitsRowToApi,
  RATE_WINDOW_MS,
  readCounter,
  spendKey,
  tryIncrement,
  UNLIMITED,
} from "../../src/billing/limits.ts";
import { type BillingDb, billingView, type LimitsRow } from "../../src/billing/tables.ts";
import { Catalog } from "../../src/catalog/models.ts";
import type { Principal } from "../../src/keys/auth.ts";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../src/store/db.ts";
import type { Database } from "../../src/store/schema.ts";
import { freshPostgres, freshSqlite } from "../helpers/databases.ts";

async function memoryStore(): Promise<DatabaseHandle> {
  const handle = openDatabase("sqlite::memory:");
  await migrateToLatest(handle.db, ALL_MIGRATIONS);
  return handle;
}

const principal = (accountId: string, keyId: string) =>
  ({ account: { id: accountId }, key: { id: keyId } }) as unknown as Principal;

/** A window boundary: requests at T + x are x ms into a fresh window. */
const T = 1_000 * RATE_WINDOW_MS;

function assertRefusal(
  error: unknown,
  expected: Pick<BillingRefusal, "reason" | "status" | "type" | "code" | "message" | "param" | "headers">,
): void {
  assert.ok(error instanceof BillingRefusal, `expected a BillingRefusal, got ${String(error)}`);
  assert.equal(error.fault, "client_quota");
  assert.deepEqual(
    {
      reason: error.reason,
      status: error.status,
      type: error.type,
      code: error.code,
      message: error.message,
      param: error.param,
      headers: error.headers,
    },
    expected,
  );
}

describe("limit constants and keys", () => {
  test("unlimited is all null and frozen; the window is a minute, the day 24 h", () => {
    assert.deepEqual(UNLIMITED, {
      requestsPerMinute: null,
      maxConcurrent: null,
      dailySpendCap: null,
      allowedModels: null,
    });
    assert.ok(Object.isFrozen(UNLIMITED));
    assert.equal(RATE_WINDOW_MS, 60_000);
    assert.equal(DAY_MS, 86_400_000);
  });

  test("UTC days: numbered from the epoch, shown as dates", () => {
    const day = dayOf(Date.parse("2026-04-10T00:00:00Z"));
    assert.equal(dayOf(Date.parse("2026-04-10T23:59:59.999Z")), day);
    assert.equal(dayOf(Date.parse("2026-04-09T23:59:59.999Z")), day - 1);
    assert.equal(dayOf(0), 0);
    assert.equal(dayOf(DAY_MS - 1), 0);
    assert.equal(dayOf(DAY_MS), 1);
    assert.equal(dayToDate(day), "2026-04-10");
    assert.equal(dayToDate(0), "1970-01-01");
  });

  test("counter keys", () => {
    assert.equal(inflightKey("key_1"), "inflight:key_1");
    assert.equal(spendKey("key_1", 20_553), "spend:key_1:20553");
  });

  test("allowed models: null allows all; otherwise a 403 naming the model", () => {
    assertAllowed(UNLIMITED, "anything");
    const limits: LimitSettings = { ...UNLIMITED, allowedModels: ["a", "b"] };
    assertAllowed(limits, "b");
    const cases: Array<[LimitSettings, string]> = [
      [limits, "c"],
      [{ ...UNLIMITED, allowedModels: [] }, "a"],
    ];
    for (const [settings, model] of cases) {
      let error: unknown;
      try {
        assertAllowed(settings, model);
      } catch (e) {
        error = e;
      }
      assertRefusal(error, {
        reason: "model_not_allowed",
        status: 403,
        type: "permission_error",
        code: "model_not_allowed",
        message: `this API key may not use ${model}; GET /v1/models lists the models it may use`,
        param: "model",
        headers: {},
      });
    }
  });

  test("the API view of a stored row (strings from a driver become numbers), or of none", () => {
    assert.deepEqual(limitsRowToApi(undefined, "key", "key_1"), {
      object: "limits",
      scope: "key",
      id: "key_1",
      requests_per_minute: null,
      max_concurrent: null,
      daily_spend_cap_micros: null,
      allowed_models: null,
      updated_at: null,
    });
    const row = {
      scope: "account",
      scope_id: "acct_1",
      requests_per_minute: 60,
      max_concurrent: 0,
      daily_spend_cap: "5000000",
      allowed_models_json: '["grok-imagine-video"]',
      updated_at: 1_700_000_000_999,
    } as unknown as LimitsRow;
    assert.deepEqual(limitsRowToApi(row, "account", "acct_1"), {
      object: "limits",
      scope: "account",
      id: "acct_1",
      requests_per_minute: 60,
      max_concurrent: 0,
      daily_spend_cap_micros: 5_000_000,
      allowed_models: ["grok-imagine-video"],
      updated_at: 1_700_000_000,
    });
    const empty = {
      ...row,
      requests_per_minute: null,
      max_concurrent: null,
      daily_spend_cap: null,
      allowed_models_json: null,
    };
    assert.deepEqual(limitsRowToApi(empty, "account", "acct_1"), {
      object: "limits",
      scope: "account",
      id: "acct_1",
      requests_per_minute: null,
      max_concurrent: null,
      daily_spend_cap_micros: null,
      allowed_models: null,
      updated_at: 1_700_000_000,
    });
  });
});

describe("counter primitives", () => {
  let handle: DatabaseHandle;
  let db: Kysely<BillingDb>;
  const row = (key: string) =>
    db.selectFrom("billing_counters").selectAll().where("counter_key", "=", key).executeTakeFirst();

  before(async () => {
    handle = await memoryStore();
    db = billingView(handle.db);
  });
  after(async () => {
    await handle.close();
  });

  test("ensureCounter creates a zero row once and never touches an existing one", async () => {
    await ensureCounter(db, "e", 123);
    assert.deepEqual(await row("e"), { counter_key: "e", value: 0, expires_at: 123 });
    await incrementCounter(db, "e", 4, 123);
    await ensureCounter(db, "e", 999);
    assert.deepEqual(await row("e"), { counter_key: "e", value: 4, expires_at: 123 });
    await ensureCounter(db, "e-forever", null);
    assert.deepEqual(await row("e-forever"), { counter_key: "e-forever", value: 0, expires_at: null });
  });

  test("incrementCounter adds and returns the new value; the first call sets the expiry", async () => {
    assert.equal(await incrementCounter(db, "i", 3, 50), 3);
    assert.equal(await incrementCounter(db, "i", 4, 70), 7);
    assert.equal(await incrementCounter(db, "i", -2, 70), 5);
    assert.deepEqual(await row("i"), { counter_key: "i", value: 5, expires_at: 50 });
    assert.equal(await readCounter(db, "i"), 5);
  });

  test("readCounter: a missing counter is zero", async () => {
    assert.equal(await readCounter(db, "missing"), 0);
    assert.equal(await row("missing"), undefined, "reading creates nothing");
  });

  test("tryIncrement stays within the maximum, inclusive; a refusal changes nothing", async () => {
    assert.equal(await tryIncrement(db, "t", 3, 5, 77), true);
    assert.deepEqual(await row("t"), { counter_key: "t", value: 3, expires_at: 77 });
    assert.equal(await tryIncrement(db, "t", 3, 5, 77), false, "3 + 3 > 5");
    assert.equal(await readCounter(db, "t"), 3);
    assert.equal(await tryIncrement(db, "t", 2, 5, 77), true, "3 + 2 = 5 is within");
    assert.equal(await readCounter(db, "t"), 5);
    assert.equal(await tryIncrement(db, "t", 1, 5, 77), false);
    assert.equal(await tryIncrement(db, "t", 0, 5, 77), true, "adding nothing at the maximum");
    assert.equal(await tryIncrement(db, "t2", 6, 5, null), false, "a fresh counter is refused too");
    assert.deepEqual(await row("t2"), { counter_key: "t2", value: 0, expires_at: null });
  });

  test("tryIncrement without a maximum always succeeds", async () => {
    assert.equal(await tryIncrement(db, "u", 1_000_000, null, null), true);
    assert.equal(await tryIncrement(db, "u", 1_000_000, null, null), true);
    assert.equal(await readCounter(db, "u"), 2_000_000);
  });

  test("decrementCounter subtracts, floored at zero; a missing counter stays missing", async () => {
    await incrementCounter(db, "d", 5, null);
    await decrementCounter(db, "d", 2);
    assert.equal(await readCounter(db, "d"), 3);
    await decrementCounter(db, "d", 0);
    assert.equal(await readCounter(db, "d"), 3);
    await decrementCounter(db, "d", 3);
    assert.equal(await readCounter(db, "d"), 0, "exactly to zero");
    await incrementCounter(db, "d", 2, null);
    await decrementCounter(db, "d", 5);
    assert.equal(await readCounter(db, "d"), 0, "never below zero");
    await decrementCounter(db, "d-missing", 1);
    assert.equal(await row("d-missing"), undefined);
  });
});

describe("limit settings", () => {
  let handle: DatabaseHandle;
  let other: DatabaseHandle;
  let now = 1_000_000;
  const clock = () => now;
  const DEFAULTS: LimitSettings = Object.freeze({
    requestsPerMinute: 100,
    maxConcurrent: 10,
    dailySpendCap: 50_000_000,
    allowedModels: ["m1", "m2", "m3"],
  }) as LimitSettings;

  before(async () => {
    handle = await memoryStore();
    other = await memoryStore();
  });
  after(async () => {
    await handle.close();
    await other.close();
  });

  test("with nothing stored, the gateway's defaults (a copy)", async () => {
    const limits = new Limits(handle.db, DEFAULTS, 0, clock);
    const effective = await limits.effective("acct_none", "key_none");
    assert.deepEqual(effective, DEFAULTS);
    assert.notEqual(effective, DEFAULTS);
  });

  test("key over account over gateway, field by field; a null field inherits", async () => {
    const limits = new Limits(handle.db, DEFAULTS, 0, clock);
    // Other keys and accounts, written first so that a query that picked them would see them first.
    await limits.set("key", "key_a", {
      requestsPerMinute: 1,
      maxConcurrent: 1,
      dailySpendCap: 1,
      allowedModels: ["x"],
    });
    await limits.set("account", "acct_a", {
      requestsPerMinute: 2,
      maxConcurrent: 2,
      dailySpendCap: 2,
      allowedModels: ["y"],
    });
    // The same ids under the other scope.
    await limits.set("key", "acct_z", {
      requestsPerMinute: 3,
      maxConcurrent: 3,
      dailySpendCap: 3,
      allowedModels: ["z"],
    });
    await limits.set("account", "key_z", {
      requestsPerMinute: 4,
      maxConcurrent: 4,
      dailySpendCap: 4,
      allowedModels: ["w"],
    });

    assert.deepEqual(await limits.effective("acct_z", "key_z"), DEFAULTS, "nothing of its own yet");
    await limits.set("account", "acct_z", {
      requestsPerMinute: 20,
      dailySpendCap: 7_000,
      allowedModels: ["m1"],
    });
    assert.deepEqual(await limits.effective("acct_z", "key_z"), {
      requestsPerMinute: 20,
      maxConcurrent: 10,
      dailySpendCap: 7_000,
      allowedModels: ["m1"],
    });
    await limits.set("key", "key_z", { requestsPerMinute: 30, maxConcurrent: 5 });
    assert.deepEqual(await limits.effective("acct_z", "key_z"), {
      requestsPerMinute: 30,
      maxConcurrent: 5,
      dailySpendCap: 7_000,
      allowedModels: ["m1"],
    });
    await limits.set("key", "key_z", { dailySpendCap: 9_000, allowedModels: ["m2", "m3"] });
    assert.deepEqual(await limits.effective("acct_z", "key_z"), {
      requestsPerMinute: 30,
      maxConcurrent: 5,
      dailySpendCap: 9_000,
      allowedModels: ["m2", "m3"],
    });
    await limits.set("key", "key_z", {
      requestsPerMinute: null,
      maxConcurrent: null,
      dailySpendCap: null,
      allowedModels: null,
    });
    assert.deepEqual(await limits.effective("acct_z", "key_z"), {
      requestsPerMinute: 20,
      maxConcurrent: 10,
      dailySpendCap: 7_000,
      allowedModels: ["m1"],
    });
    await limits.set("key", "key_z", { allowedModels: [] });
    assert.deepEqual((await limits.effective("acct_z", "key_z")).allowedModels, [], "no model at all");
    // Another key of the account gets the account's settings only.
    assert.deepEqual(await limits.effective("acct_z", "key_y"), {
      requestsPerMinute: 20,
      maxConcurrent: 10,
      dailySpendCap: 7_000,
      allowedModels: ["m1"],
    });
  });

  test("set merges into the stored row and stamps it; get reads it back", async () => {
    now = 2_000_000;
    const limits = new Limits(handle.db, DEFAULTS, 0, clock);
    assert.equal(await limits.get("key", "key_set"), undefined);
    const first = await limits.set("key", "key_set", { requestsPerMinute: 7 });
    assert.deepEqual(first, {
      scope: "key",
      scope_id: "key_set",
      requests_per_minute: 7,
      max_concurrent: null,
      daily_spend_cap: null,
      allowed_models_json: null,
      updated_at: 2_000_000,
    });
    now = 3_000_000;
    const second = await limits.set("key", "key_set", { maxConcurrent: 2, allowedModels: ["m1"] });
    assert.deepEqual(second, {
      scope: "key",
      scope_id: "key_set",
      requests_per_minute: 7,
      max_concurrent: 2,
      daily_spend_cap: null,
      allowed_models_json: '["m1"]',
      updated_at: 3_000_000,
    });
    now = 4_000_000;
    const third = await limits.set("key", "key_set", { dailySpendCap: 1, requestsPerMinute: null });
    assert.deepEqual(third, {
      ...second,
      requests_per_minute: null,
      daily_spend_cap: 1,
      updated_at: 4_000_000,
    });
    assert.deepEqual(await limits.get("key", "key_set"), third);
    assert.equal(await limits.get("account", "key_set"), undefined, "scopes are apart");
    now = 5_000_000;
    assert.deepEqual(await limits.set("key", "key_set", {}), { ...third, updated_at: 5_000_000 });
  });

  test("a cache for cacheMs, refreshed when it runs out and dropped by set or forget", async () => {
    now = 10_000_000;
    const cached = new Limits(handle.db, DEFAULTS, 1_000, clock);
    const writer = new Limits(handle.db, DEFAULTS, 0, clock);
    await writer.set("key", "key_c", { requestsPerMinute: 1 });
    assert.equal((await cached.effective("acct_c", "key_c")).requestsPerMinute, 1);
    await writer.set("key", "key_c", { requestsPerMinute: 2 });
    now += 999;
    assert.equal((await cached.effective("acct_c", "key_c")).requestsPerMinute, 1, "still cached");
    now += 1;
    assert.equal(
      (await cached.effective("acct_c", "key_c")).requestsPerMinute,
      2,
      "cacheMs later: read again",
    );
    await writer.set("key", "key_c", { requestsPerMinute: 3 });
    assert.equal(
      (await cached.effective("acct_c", "key_c")).requestsPerMinute,
      2,
      "cached anew from the read",
    );
    cached.forget();
    assert.equal((await cached.effective("acct_c", "key_c")).requestsPerMinute, 3, "forgotten");
    await writer.set("key", "key_c", { requestsPerMinute: 4 });
    assert.equal(
      (await cached.effective("acct_c", "key_c2")).requestsPerMinute,
      100,
      "another key: its own entry",
    );
    assert.equal(
      (await cached.effective("acct_c2", "key_c")).requestsPerMinute,
      4,
      "keyed by account and key",
    );
    await cached.set("key", "key_c", { requestsPerMinute: 5 });
    assert.equal((await cached.effective("acct_c", "key_c")).requestsPerMinute, 5, "its own set forgets");
  });

  test("Billing caches a key's limits for its limitsCacheMs, 5 s when not told", async () => {
    now = 20_000_000;
    const writer = new Limits(handle.db, DEFAULTS, 0, clock);
    const byDefault = new Billing(handle.db, new Catalog(), { clock }).limits;
    const minute = new Billing(handle.db, new Catalog(), { clock, limitsCacheMs: 60_000 }).limits;
    const rpm = async (limits: Limits) => (await limits.effective("acct_w", "key_w")).requestsPerMinute;
    await writer.set("key", "key_w", { requestsPerMinute: 1 });
    assert.deepEqual([await rpm(byDefault), await rpm(minute)], [1, 1]);
    await writer.set("key", "key_w", { requestsPerMinute: 2 });
    now += 4_999;
    assert.deepEqual([await rpm(byDefault), await rpm(minute)], [1, 1], "both still cached");
    now += 1;
    assert.deepEqual([await rpm(byDefault), await rpm(minute)], [2, 1], "5 s: the default runs out");
    now += 55_000;
    assert.deepEqual([await rpm(byDefault), await rpm(minute)], [2, 2], "60 s: the given one too");
  });

  test("without a cache every call reads the store", async () => {
    const uncached = new Limits(handle.db, DEFAULTS, 0, clock);
    const writer = new Limits(handle.db, DEFAULTS, 0, clock);
    await writer.set("key", "key_n", { maxConcurrent: 1 });
    assert.equal((await uncached.effective("acct_n", "key_n")).maxConcurrent, 1);
    await writer.set("key", "key_n", { maxConcurrent: 2 });
    assert.equal((await uncached.effective("acct_n", "key_n")).maxConcurrent, 2);
    assert.equal((uncached as unknown as { cache: Map<string, unknown> }).cache.size, 0, "nothing kept");
  });

  test("the cache is bounded: past 10 000 entries it starts over", async () => {
    const limits = new Limits(handle.db, DEFAULTS, 60_000, clock);
    const cache = (limits as unknown as { cache: Map<string, unknown> }).cache;
    const fill = (n: number) => {
      cache.clear();
      for (let i = 0; i < n; i++)
        cache.set(`filler${i}`, { limits: DEFAULTS, until: Number.POSITIVE_INFINITY });
    };
    fill(10_000);
    await limits.effective("acct_b", "key_b");
    assert.equal(cache.size, 10_001, "10 000 entries are kept");
    fill(10_001);
    await limits.effective("acct_b", "key_b");
    assert.equal(cache.size, 1, "cleared, then the new entry");
  });

  test("inside a transaction, the given executor is read", async () => {
    const limits = new Limits(handle.db, DEFAULTS, 0, clock);
    await new Limits(other.db, DEFAULTS, 0, clock).set("key", "key_x", { requestsPerMinute: 77 });
    assert.equal((await limits.effective("acct_x", "key_x")).requestsPerMinute, 100);
    assert.equal(
      (await limits.effective("acct_x", "key_x", other.db as Kysely<Database>)).requestsPerMinute,
      77,
    );
  });

  test("per principal: model checks and the model filter", async () => {
    const limits = new Limits(handle.db, UNLIMITED, 0, clock);
    const p = principal("acct_p", "key_p");
    await limits.assertModelAllowed(p, "anything");
    const all = await limits.modelFilter(p);
    assert.equal(all("anything"), true);
    await limits.set("account", "acct_p", { allowedModels: ["m1", "m2"] });
    await limits.set("key", "key_other", { allowedModels: ["m3"] });
    assert.deepEqual((await limits.effectiveFor(p)).allowedModels, ["m1", "m2"]);
    await limits.assertModelAllowed(p, "m2");
    let error: unknown;
    await limits.assertModelAllowed(p, "m3").catch((e: unknown) => {
      error = e;
    });
    assert.ok(error instanceof BillingRefusal);
    assert.equal(error.code, "model_not_allowed");
    const some = await limits.modelFilter(p);
    assert.deepEqual(["m1", "m2", "m3", "anything"].filter(some), ["m1", "m2"]);
    await limits.set("key", "key_p", { allowedModels: [] });
    assert.deepEqual(["m1", "m2"].filter(await limits.modelFilter(p)), []);
  });
});

describe("requests per minute", () => {
  let handle: DatabaseHandle;
  let db: Kysely<BillingDb>;
  let limits: Limits;
  let now = T;
  const rpm = (key: string, windowStart: number) => `rpm:${key}:${windowStart}`;

  before(async () => {
    handle = await memoryStore();
    db = billingView(handle.db);
    limits = new Limits(handle.db, UNLIMITED, 0, () => now);
  });
  after(async () => {
    await handle.close();
  });

  test("a fresh window: the limit is admitted, counting down; one more waits for the count to decay", async () => {
    const at = T + 15_500;
    for (let i = 1; i <= 10; i++) {
      assert.deepEqual(await limits.consume("key_a", 10, at), {
        allowed: true,
        limit: 10,
        remaining: 10 - i,
        resetSeconds: 45, // 44.5 s left in the window, rounded up
        retryAfterSeconds: 0,
      });
    }
    // 44.5 s to the next window, then 6 s for this window's 10 to decay to 9 of the sliding minute.
    assert.deepEqual(await limits.consume("key_a", 10, at), {
      allowed: false,
      limit: 10,
      remaining: 0,
      resetSeconds: 51,
      retryAfterSeconds: 51,
    });
    assert.equal(await readCounter(db, rpm("key_a", T)), 10, "the refusal took its increment back");
    const stored = await db
      .selectFrom("billing_counters")
      .selectAll()
      .where("counter_key", "like", "rpm:key_a:%")
      .execute();
    assert.deepEqual(stored, [
      { counter_key: `rpm:key_a:${T}`, value: 10, expires_at: T + 3 * RATE_WINDOW_MS },
    ]);
  });

  test("the previous window counts by how much of it still overlaps the last minute", async () => {
    await incrementCounter(db, rpm("key_b", T - RATE_WINDOW_MS), 6, null);
    const at = T + 30_700; // 29.3 s of the previous window overlap: 6 × 0.48833 = 2.93
    const remaining = [];
    for (let i = 0; i < 7; i++) {
      const decision = await limits.consume("key_b", 10, at);
      assert.equal(decision.allowed, true);
      assert.equal(decision.resetSeconds, 30);
      remaining.push(decision.remaining);
    }
    assert.deepEqual(remaining, [6, 5, 4, 3, 2, 1, 0], "⌊10 − 2.93 − n⌋");
    // 7 + 1 would make 10.93. It fits once the 6 decay to 2: 60 × (1 − 2/6) = 40 s into the
    // window, 9.3 s from now.
    assert.deepEqual(await limits.consume("key_b", 10, at), {
      allowed: false,
      limit: 10,
      remaining: 0,
      resetSeconds: 10,
      retryAfterSeconds: 10,
    });
    assert.equal(await readCounter(db, rpm("key_b", T)), 7);
    assert.equal((await limits.consume("key_b", 10, T + 40_000)).allowed, true, "and it does");
  });

  test("two windows later, the older one is forgotten", async () => {
    await incrementCounter(db, rpm("key_c", T - 2 * RATE_WINDOW_MS), 10, null);
    assert.deepEqual(await limits.consume("key_c", 10, T + 1), {
      allowed: true,
      limit: 10,
      remaining: 9,
      resetSeconds: 60,
      retryAfterSeconds: 0,
    });
  });

  test("counts above the limit are refusals in flight: they do not push the retry further", async () => {
    await incrementCounter(db, rpm("key_d", T), 15, null);
    // Wait for the next window, then for 10 admitted ones to decay to 9: 60 − 12.345 + 6 s.
    assert.deepEqual(await limits.consume("key_d", 10, T + 12_345), {
      allowed: false,
      limit: 10,
      remaining: 0,
      resetSeconds: 54,
      retryAfterSeconds: 54,
    });
    assert.equal(await readCounter(db, rpm("key_d", T)), 15);
  });

  test("a full window with a previous share waits for the next window, even with a refusal in flight", async () => {
    await incrementCounter(db, rpm("key_full", T - RATE_WINDOW_MS), 1, null);
    const at = T + 30_000; // half of the previous window still overlaps: 1 × 0.5
    assert.equal((await limits.consume("key_full", 2, at)).allowed, true, "0.5 + 1 fits in 2");
    // Another process's request, counted and not yet taken back: this window now reads as full (2).
    await incrementCounter(db, rpm("key_full", T), 1, null);
    // Not the previous share's decay (it can never make room in a full window) but the next window,
    // where these 2 must decay to 1: 30 s + 60 × (1 − 1/2) = 60 s.
    assert.deepEqual(await limits.consume("key_full", 2, at), {
      allowed: false,
      limit: 2,
      remaining: 0,
      resetSeconds: 60,
      retryAfterSeconds: 60,
    });
    assert.equal(await readCounter(db, rpm("key_full", T)), 2, "the refusal took its increment back");
  });

  test("a previous window over the limit counts as the limit; the retry is at least a second", async () => {
    await incrementCounter(db, rpm("key_e", T - RATE_WINDOW_MS), 20, null);
    assert.deepEqual(await limits.consume("key_e", 10, T + 20_000), {
      allowed: false,
      limit: 10,
      remaining: 0,
      resetSeconds: 1,
      retryAfterSeconds: 1,
    });
  });

  test("a limit of zero refuses everything until the next window", async () => {
    assert.deepEqual(await limits.consume("key_f", 0, T + 15_500), {
      allowed: false,
      limit: 0,
      remaining: 0,
      resetSeconds: 45,
      retryAfterSeconds: 45,
    });
    assert.equal(await readCounter(db, rpm("key_f", T)), 0);
  });

  test("enforceRateLimit: no limit, no headers and no counting", async () => {
    const p = principal("acct_g", "key_g");
    assert.deepEqual(await limits.enforceRateLimit(p, { now: T + 1_000 }), {});
    assert.equal(await readCounter(db, rpm("key_g", T)), 0);
  });

  test("enforceRateLimit: RateLimit headers, then a 429 refusal carrying them and Retry-After", async () => {
    const p = principal("acct_h", "key_h");
    await limits.set("key", "key_h", { requestsPerMinute: 2 });
    now = T + 15_500; // the clock, when no time is given
    assert.deepEqual(await limits.enforceRateLimit(p), {
      "RateLimit-Limit": "2",
      "RateLimit-Remaining": "1",
      "RateLimit-Reset": "45",
      "RateLimit-Policy": "2;w=60",
    });
    assert.deepEqual(await limits.enforceRateLimit(p, { now: T + 20_000 }), {
      "RateLimit-Limit": "2",
      "RateLimit-Remaining": "0",
      "RateLimit-Reset": "40",
      "RateLimit-Policy": "2;w=60",
    });
    let error: unknown;
    await limits.enforceRateLimit(p, { now: T + 20_000 }).catch((e: unknown) => {
      error = e;
    });
    // 40 s to the next window, then 30 s for the 2 to decay to 1.
    assertRefusal(error, {
      reason: "rate_limit",
      status: 429,
      type: "rate_limit_error",
      code: "rate_limit_exceeded",
      message: "this key may make 2 requests per minute; retry after 70 s",
      param: null,
      headers: {
        "RateLimit-Limit": "2",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "70",
        "RateLimit-Policy": "2;w=60",
        "Retry-After": "70",
      },
    });
  });
});

for (const { name, make } of [
  { name: "SQLite", make: freshSqlite },
  { name: "Postgres", make: freshPostgres },
] as const) {
  describe(`tryIncrement under contention on ${name}`, () => {
    test("40 increments at once against a maximum of 7: exactly 7 succeed, the counter ends at 7", async () => {
      const database = await make();
      const handle = openDatabase(database.url, { poolSize: 8 });
      try {
        await migrateToLatest(handle.db, ALL_MIGRATIONS);
        const db = handle.db as unknown as Kysely<BillingDb>;
        const results = await Promise.all(
          Array.from({ length: 40 }, () => tryIncrement(db, "contended", 1, 7, null)),
        );
        assert.equal(results.filter(Boolean).length, 7);
        assert.equal(await readCounter(db, "contended"), 7);
      } finally {
        await handle.close();
        await database.drop();
      }
    });
  });
}
