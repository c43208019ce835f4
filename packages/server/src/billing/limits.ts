/**
 * Per-key limits, with defaults per account and for the whole gateway, and the store-backed
 * counters that make them hold across several gateway processes sharing one store: their settings
 * (`billing_limits`), the counter primitives the hold and settlement use inside their transactions,
 * and the per-request checks (requests per minute, allowed models).
 *
 * Why our own counters rather than rate-limiter-flexible: its store adapters manage their own
 * tables outside our migrations, need a different adapter (and client library) per dialect, and
 * cannot join the submit transaction; the concurrency and spend counters *must* be changed in the
 * same transaction as the hold so that they never drift from it. One small table and three
 * single-statement primitives (atomic upsert-increment, conditional increment, floored decrement)
 * serve all three limits on SQLite and Postgres with the same code.
 */
import { type Kysely, sql } from "kysely";
import type { Principal } from "../keys/auth.ts";
import type { Database } from "../store/schema.ts";
import { BillingRefusal } from "./errors.ts";
import { type BillingDb, billingView, type LimitScope, type LimitsRow } from "./tables.ts";

export interface LimitSettings {
  /** Requests per minute per key (sliding window); null: unlimited. */
  requestsPerMinute: number | null;
  /** Tasks accepted and not yet finished, per key; null: unlimited. */
  maxConcurrent: number | null;
  /** Micro-units a key may commit (held + charged) per UTC day; null: unlimited. */
  dailySpendCap: number | null;
  /** Model ids the key may use; null: all. */
  allowedModels: string[] | null;
}

export type LimitPatch = Partial<LimitSettings>;

export const UNLIMITED: LimitSettings = Object.freeze({
  requestsPerMinute: null,
  maxConcurrent: null,
  dailySpendCap: null,
  allowedModels: null,
}) as LimitSettings;

export const RATE_WINDOW_MS = 60_000;
export const DAY_MS = 86_400_000;

export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);
export const dayToDate = (day: number): string => new Date(day * DAY_MS).toISOString().slice(0, 10);

export const inflightKey = (keyId: string) => `inflight:${keyId}`;
export const spendKey = (keyId: string, day: number) => `spend:${keyId}:${day}`;
const rateKey = (keyId: string, windowStart: number) => `rpm:${keyId}:${windowStart}`;

// ---------------------------------------------------------------------------------------------
// Counter primitives. Each is one statement (plus an idempotent row-creating insert), atomic on
// both dialects; inside a transaction their row locks are taken in the order the caller uses.

/** Create the counter row if missing (no lock on an existing row). */
export async function ensureCounter(
  db: Kysely<BillingDb>,
  key: string,
  expiresAt: number | null,
): Promise<void> {
  await db
    .insertInto("billing_counters")
    .values({ counter_key: key, value: 0, expires_at: expiresAt })
    .onConflict((oc) => oc.column("counter_key").doNothing())
    .execute();
}

/** value += by, creating the row; returns the new value. */
export async function incrementCounter(
  db: Kysely<BillingDb>,
  key: string,
  by: number,
  expiresAt: number | null,
): Promise<number> {
  const row = await db
    .insertInto("billing_counters")
    .values({ counter_key: key, value: by, expires_at: expiresAt })
    .onConflict((oc) =>
      oc.column("counter_key").doUpdateSet((eb) => ({ value: eb("billing_counters.value", "+", by) })),
    )
    .returning("value")
    .executeTakeFirstOrThrow();
  return Number(row.value);
}

/**
 * value += by only if the result stays ≤ max (no max: always); false when refused. One statement on
 * the submit path: an upsert whose update half carries the limit (`do update … where`), so a new
 * counter starts at `by` and an existing one grows only within `max`.
 */
export async function tryIncrement(
  db: Kysely<BillingDb>,
  key: string,
  by: number,
  max: number | null,
  expiresAt: number | null,
): Promise<boolean> {
  if (max !== null && by > max) {
    // Refused whatever the counter holds; it is still created, as the first use of a key leaves it.
    await ensureCounter(db, key, expiresAt);
    return false;
  }
  const row = await db
    .insertInto("billing_counters")
    .values({ counter_key: key, value: by, expires_at: expiresAt })
    .onConflict((oc) => {
      const grow = oc
        .column("counter_key")
        .doUpdateSet((eb) => ({ value: eb("billing_counters.value", "+", by) }));
      return max === null ? grow : grow.where(sql<boolean>`billing_counters.value + ${by} <= ${max}`);
    })
    .returning("value")
    .executeTakeFirst();
  return row !== undefined;
}

/** value −= by, never below 0 (a missing row, e.g. an expired day, is left alone). */
export async function decrementCounter(db: Kysely<BillingDb>, key: string, by: number): Promise<void> {
  if (by === 0) return;
  await db
    .updateTable("billing_counters")
    .set({ value: sql<number>`case when value > ${by} then value - ${by} else 0 end` })
    .where("counter_key", "=", key)
    .execute();
}

export async function readCounter(db: Kysely<BillingDb>, key: string): Promise<number> {
  const row = await db
    .selectFrom("billing_counters")
    .select("value")
    .where("counter_key", "=", key)
    .executeTakeFirst();
  return row ? Number(row.value) : 0;
}

// ---------------------------------------------------------------------------------------------
// Limits: storage, inheritance (key → account → gateway default) and a short cache.

export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window moves on (or, when refused, until a request would be admitted). */
  resetSeconds: number;
  /** When refused: seconds to wait. */
  retryAfterSeconds: number;
}

function rowToPatch(row: LimitsRow | undefined): LimitPatch {
  if (!row) return {};
  const patch: LimitPatch = {};
  if (row.requests_per_minute !== null) patch.requestsPerMinute = Number(row.requests_per_minute);
  if (row.max_concurrent !== null) patch.maxConcurrent = Number(row.max_concurrent);
  if (row.daily_spend_cap !== null) patch.dailySpendCap = Number(row.daily_spend_cap);
  if (row.allowed_models_json !== null) patch.allowedModels = JSON.parse(row.allowed_models_json) as string[];
  return patch;
}

export function limitsRowToApi(row: LimitsRow | undefined, scope: LimitScope, id: string) {
  const p = rowToPatch(row);
  return {
    object: "limits" as const,
    scope,
    id,
    requests_per_minute: p.requestsPerMinute ?? null,
    max_concurrent: p.maxConcurrent ?? null,
    daily_spend_cap_micros: p.dailySpendCap ?? null,
    allowed_models: p.allowedModels ?? null,
    updated_at: row ? Math.floor(row.updated_at / 1000) : null,
  };
}

/** 403 permission_error unless the limits let the key use the model. */
export function assertAllowed(limits: LimitSettings, model: string): void {
  if (limits.allowedModels !== null && !limits.allowedModels.includes(model)) {
    throw new BillingRefusal(
      "model_not_allowed",
      403,
      "permission_error",
      "model_not_allowed",
      `this API key may not use ${model}; GET /v1/models lists the models it may use`,
      "model",
    );
  }
}

export class Limits {
  private readonly cache = new Map<string, { limits: LimitSettings; until: number }>();

  constructor(
    private readonly db: Kysely<Database>,
    private readonly defaults: LimitSettings,
    private readonly cacheMs: number,
    private readonly clock: () => number,
  ) {}

  /**
   * The limits in force for a key: its own setting, else its account's, else the gateway's.
   * Cached for `cacheMs` (a change made elsewhere takes effect within that time). Pass the open
   * transaction when called inside one (SQLite has a single connection).
   */
  async effective(accountId: string, keyId: string, executor?: Kysely<Database>): Promise<LimitSettings> {
    const cacheKey = `${accountId}\n${keyId}`;
    const now = this.clock();
    const hit = this.cache.get(cacheKey);
    if (hit && hit.until > now) return hit.limits;
    const db = billingView(executor ?? this.db);
    const rows = await db
      .selectFrom("billing_limits")
      .selectAll()
      .where((eb) =>
        eb.or([
          eb.and([eb("scope", "=", "key"), eb("scope_id", "=", keyId)]),
          eb.and([eb("scope", "=", "account"), eb("scope_id", "=", accountId)]),
        ]),
      )
      .execute();
    const account = rowToPatch(rows.find((r) => r.scope === "account"));
    const key = rowToPatch(rows.find((r) => r.scope === "key"));
    // The gateway's defaults bound customers' keys; the operator's own (admin) accounts start free.
    const owner = await (executor ?? this.db)
      .selectFrom("accounts")
      .select("is_admin")
      .where("id", "=", accountId)
      .executeTakeFirst();
    const limits: LimitSettings = owner?.is_admin === 1 ? { ...UNLIMITED } : { ...this.defaults };
    for (const layer of [account, key]) {
      for (const [name, value] of Object.entries(layer) as Array<[keyof LimitSettings, never]>) {
        if (value !== undefined) limits[name] = value;
      }
    }
    if (this.cache.size > 10_000) this.cache.clear();
    if (this.cacheMs > 0) this.cache.set(cacheKey, { limits, until: now + this.cacheMs });
    return limits;
  }

  /** `effective` for the caller of a request. */
  effectiveFor(principal: Principal): Promise<LimitSettings> {
    return this.effective(principal.account.id, principal.key.id);
  }

  /**
   * Count one request against the key's per-minute limit. Returns the RateLimit-* headers to send
   * (empty when the key has no limit); throws a 429 `BillingRefusal` carrying them plus Retry-After.
   * Call it outside any transaction.
   */
  async enforceRateLimit(
    principal: Principal,
    options: { now?: number } = {},
  ): Promise<Record<string, string>> {
    const limit = (await this.effectiveFor(principal)).requestsPerMinute;
    if (limit === null) return {};
    const decision = await this.consume(principal.key.id, limit, options.now ?? this.clock());
    const headers: Record<string, string> = {
      "RateLimit-Limit": String(limit),
      "RateLimit-Remaining": String(decision.remaining),
      "RateLimit-Reset": String(decision.resetSeconds),
      "RateLimit-Policy": `${limit};w=60`,
    };
    if (decision.allowed) return headers;
    throw new BillingRefusal(
      "rate_limit",
      429,
      "rate_limit_error",
      "rate_limit_exceeded",
      `this key may make ${limit} requests per minute; retry after ${decision.retryAfterSeconds} s`,
      null,
      { ...headers, "Retry-After": String(decision.retryAfterSeconds) },
    );
  }

  /** 403 permission_error unless the key may use the model (checked again by the hold). */
  async assertModelAllowed(principal: Principal, model: string): Promise<void> {
    assertAllowed(await this.effectiveFor(principal), model);
  }

  /** For GET /v1/models: a predicate over model ids. */
  async modelFilter(principal: Principal): Promise<(modelId: string) => boolean> {
    const allowed = (await this.effectiveFor(principal)).allowedModels;
    if (allowed === null) return () => true;
    const set = new Set(allowed);
    return (id) => set.has(id);
  }

  forget(): void {
    this.cache.clear();
  }

  get(scope: LimitScope, id: string): Promise<LimitsRow | undefined> {
    return billingView(this.db)
      .selectFrom("billing_limits")
      .selectAll()
      .where("scope", "=", scope)
      .where("scope_id", "=", id)
      .executeTakeFirst();
  }

  /** Merge `patch` into the stored row (a field set to null goes back to inheriting). */
  async set(scope: LimitScope, id: string, patch: LimitPatch): Promise<LimitsRow> {
    const now = this.clock();
    const columns: Partial<Omit<LimitsRow, "scope" | "scope_id">> = { updated_at: now };
    if ("requestsPerMinute" in patch) columns.requests_per_minute = patch.requestsPerMinute ?? null;
    if ("maxConcurrent" in patch) columns.max_concurrent = patch.maxConcurrent ?? null;
    if ("dailySpendCap" in patch) columns.daily_spend_cap = patch.dailySpendCap ?? null;
    if ("allowedModels" in patch) {
      columns.allowed_models_json = patch.allowedModels ? JSON.stringify(patch.allowedModels) : null;
    }
    const db = billingView(this.db);
    await db
      .insertInto("billing_limits")
      .values({
        scope,
        scope_id: id,
        requests_per_minute: null,
        max_concurrent: null,
        daily_spend_cap: null,
        allowed_models_json: null,
        ...columns,
        updated_at: now,
      })
      .onConflict((oc) => oc.columns(["scope", "scope_id"]).doUpdateSet(columns))
      .execute();
    this.forget();
    return (await this.get(scope, id))!;
  }

  /**
   * One request against a per-minute budget, as a sliding-window counter: the previous fixed
   * window's count, weighted by how much of it still overlaps the last 60 s, plus the current
   * window's. The increment is one atomic upsert; a refused request takes its increment back, so
   * refusals never use up budget and no more than `limit` requests are admitted per window,
   * whatever the number of processes.
   */
  async consume(keyId: string, limit: number, now: number): Promise<RateDecision> {
    const db = billingView(this.db);
    const windowStart = now - (now % RATE_WINDOW_MS);
    const elapsed = now - windowStart;
    const currentKey = rateKey(keyId, windowStart);
    const current = await incrementCounter(db, currentKey, 1, windowStart + 3 * RATE_WINDOW_MS);
    const previous = await readCounter(db, rateKey(keyId, windowStart - RATE_WINDOW_MS));
    const weight = (RATE_WINDOW_MS - elapsed) / RATE_WINDOW_MS;
    const estimate = previous * weight + current;
    const windowLeft = Math.ceil((RATE_WINDOW_MS - elapsed) / 1000);
    if (estimate <= limit) {
      return {
        allowed: true,
        limit,
        remaining: Math.max(0, Math.floor(limit - estimate)),
        resetSeconds: windowLeft,
        retryAfterSeconds: 0,
      };
    }
    await decrementCounter(db, currentKey, 1);
    // Admitted requests never exceed the limit in a window; counts above it are other refusals
    // still in flight (about to be taken back), so they do not delay the retry.
    const before = Math.min(current - 1, limit);
    const previousAdmitted = Math.min(previous, limit);
    let waitMs: number;
    if (before + 1 <= limit && previousAdmitted > 0) {
      // The previous window's share has to decay enough: previous × (1 − t/W) ≤ limit − 1 − before.
      waitMs = RATE_WINDOW_MS * (1 - (limit - 1 - before) / previousAdmitted) - elapsed;
    } else {
      // Wait for the next window, where this window's count becomes the decaying share.
      const share = before > 0 ? RATE_WINDOW_MS * Math.max(0, 1 - (limit - 1) / before) : 0;
      waitMs = RATE_WINDOW_MS - elapsed + share;
    }
    const retryAfter = Math.max(1, Math.ceil(waitMs / 1000));
    return { allowed: false, limit, remaining: 0, resetSeconds: retryAfter, retryAfterSeconds: retryAfter };
  }
}
