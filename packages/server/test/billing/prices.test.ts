import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MoneyError } from "../../src/billing/money.ts";
import {
  charge,
  DEFAULT_PRICES,
  PriceGapError,
  type PriceRule,
  PriceRuleSchema,
  type PriceVersion,
  parsePriceRule,
  priceRuleFromApi,
  priceVersionToApi,
  pricingToApi,
  quote,
  RESOLUTION_KEYS,
  ruleGaps,
} from "../../src/billing/prices.ts";
import { type CatalogModel, DEFAULT_CATALOG } from "../../src/catalog/models.ts";
import { ApiError } from "../../src/domain/errors.ts";

const model = (id: string): CatalogModel => {
  const found = DEFAULT_CATALOG.find((m) => m.id === id);
  assert.ok(found, id);
  return found;
};
/** 480p and 720p, 8 s at 720p by default. */
const GROK = model("grok-imagine-video");
/** 720p and 1080p, 5 s at 1080p by default. */
const HAPPYHORSE = model("happyhorse-1.0-t2v");

/** Per-second only: 3 µ/s at 480p, 5 µ/s at 720p, 100 µ per clip. */
const SIMPLE: PriceRule = {
  perSecond: { "480p": 3, "720p": 5 },
  perClip: 100,
  perMillionTokens: null,
  tokensPerSecond: {},
};
/** Tokens too: 2 µ per token (2 000 000 per million), at most 10 tokens/s at 480p, 20 at 720p. */
const TOKENS: PriceRule = {
  perSecond: { "480p": 3, "720p": 5 },
  perClip: 100,
  perMillionTokens: 2_000_000,
  tokensPerSecond: { "480p": 10, "720p": 20 },
};

function throwsGap(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PriceGapError, `expected a PriceGapError, got ${String(e)}`);
    assert.equal(e.name, "PriceGapError");
    assert.equal(e.message, message);
    return true;
  });
}

/** Asserts a 400 invalid_request_error with exactly this code, message and param. */
function refused(fn: () => unknown, code: string, message: string, param: string | null): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    assert.equal(e.status, 400);
    assert.equal(e.type, "invalid_request_error");
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    assert.equal(e.param, param);
    return true;
  });
}

describe("price rules as stored", () => {
  test("the resolutions, smallest first", () => {
    assert.deepEqual(RESOLUTION_KEYS, ["480p", "720p", "1080p"]);
  });

  test("a stored rule gets its defaults: no clip fee, no token price, no estimates", () => {
    assert.deepEqual(parsePriceRule('{"perSecond": {"720p": 5}}'), {
      perSecond: { "720p": 5 },
      perClip: 0,
      perMillionTokens: null,
      tokensPerSecond: {},
    });
    assert.deepEqual(parsePriceRule(JSON.stringify(TOKENS)), TOKENS);
    assert.deepEqual(parsePriceRule(JSON.stringify({ ...SIMPLE, perMillionTokens: null })), SIMPLE);
    assert.deepEqual(
      parsePriceRule(
        JSON.stringify({ perSecond: {}, perClip: Number.MAX_SAFE_INTEGER, perMillionTokens: 0 }),
      ),
      { perSecond: {}, perClip: Number.MAX_SAFE_INTEGER, perMillionTokens: 0, tokensPerSecond: {} },
    );
  });

  test("a stored rule with a negative, fractional, unsafe or misplaced amount is refused", () => {
    for (const bad of [
      {},
      { perSecond: { "720p": -1 } },
      { perSecond: { "720p": 1.5 } },
      { perSecond: { "720p": "5" } },
      { perSecond: { "720p": Number.MAX_SAFE_INTEGER + 1 } },
      { perSecond: {}, perClip: -1 },
      { perSecond: {}, perClip: 0.5 },
      { perSecond: {}, perMillionTokens: -1 },
      { perSecond: {}, tokensPerSecond: { "480p": -1 } },
    ]) {
      assert.equal(PriceRuleSchema.safeParse(bad).success, false, JSON.stringify(bad));
      assert.throws(() => parsePriceRule(JSON.stringify(bad)), JSON.stringify(bad));
    }
    assert.throws(() => parsePriceRule("{"), SyntaxError);
  });
});

describe("computing prices", () => {
  test("PriceGapError is a named Error", () => {
    const e = new PriceGapError("gap");
    assert.ok(e instanceof Error);
    assert.equal(e.name, "PriceGapError");
    assert.equal(String(e), "PriceGapError: gap");
  });

  test("per-second rule: clip fee plus seconds; reported tokens are ignored", () => {
    assert.equal(charge(SIMPLE, "480p", 4), 100 + 12);
    assert.equal(charge(SIMPLE, "720p", 4), 100 + 20);
    assert.equal(charge(SIMPLE, "720p", 0), 100, "zero seconds: the clip fee");
    assert.equal(charge(SIMPLE, "720p", 4, 1_000_000), 120, "tokens are not priced");
    assert.equal(charge(SIMPLE, "720p", 4, 0), 120);
    assert.equal(quote(SIMPLE, "720p", 4), 120);
  });

  test("token rule: the estimate when nothing is reported, the report (rounded up) otherwise", () => {
    // 100 + 5 × 4 + ⌈20 × 4 tokens × 2⌉
    assert.equal(quote(TOKENS, "720p", 4), 100 + 20 + 160);
    assert.equal(charge(TOKENS, "720p", 4), 280);
    assert.equal(charge(TOKENS, "480p", 4), 100 + 12 + 80);
    assert.equal(charge(TOKENS, "720p", 4, 0), 120, "zero reported tokens: no token cost");
    assert.equal(charge(TOKENS, "720p", 4, 30), 120 + 60);
    assert.equal(charge(TOKENS, "720p", 4, 1_000), 120 + 2_000, "a report above the estimate is charged");
    const fractional: PriceRule = { ...TOKENS, perMillionTokens: 1_500_000 };
    assert.equal(charge(fractional, "720p", 0, 1), 100 + 2, "1.5 µ → 2 µ");
    assert.equal(charge(fractional, "720p", 0, 2), 100 + 3);
    assert.equal(
      charge({ ...TOKENS, perMillionTokens: 0 }, "720p", 4),
      120,
      "free tokens still need no report",
    );
  });

  test("bad seconds are a PriceGapError naming them", () => {
    throwsGap(() => charge(SIMPLE, "720p", -1), "bad seconds: -1");
    throwsGap(() => charge(SIMPLE, "720p", 1.5), "bad seconds: 1.5");
    throwsGap(() => charge(SIMPLE, "720p", Number.NaN), "bad seconds: NaN");
    throwsGap(() => quote(SIMPLE, "720p", Number.POSITIVE_INFINITY), "bad seconds: Infinity");
  });

  test("a gap in the rule is a PriceGapError naming the resolution", () => {
    throwsGap(() => quote(SIMPLE, "1080p", 5), "the price has no per-second amount for 1080p");
    throwsGap(() => charge(SIMPLE, "1080p", 5, 10), "the price has no per-second amount for 1080p");
    const noEstimate: PriceRule = { ...TOKENS, tokensPerSecond: { "480p": 10 } };
    throwsGap(() => quote(noEstimate, "720p", 5), "the price has no token estimate for 720p");
    assert.equal(charge(noEstimate, "720p", 5, 10), 100 + 25 + 20, "a reported count needs no estimate");
  });

  test("amounts past 2^53 are refused, not rounded", () => {
    const huge: PriceRule = { ...SIMPLE, perSecond: { "720p": Number.MAX_SAFE_INTEGER } };
    assert.throws(() => charge(huge, "720p", 2), MoneyError);
    assert.throws(() => charge({ ...SIMPLE, perClip: Number.MAX_SAFE_INTEGER }, "720p", 1), MoneyError);
  });

  test("ruleGaps lists what a model's resolutions need, in resolution order", () => {
    assert.deepEqual(ruleGaps(SIMPLE, GROK), []);
    assert.deepEqual(ruleGaps(TOKENS, GROK), []);
    assert.deepEqual(ruleGaps(SIMPLE, HAPPYHORSE), ["per_second.1080p"]);
    assert.deepEqual(ruleGaps({ ...SIMPLE, perSecond: {} }, GROK), ["per_second.480p", "per_second.720p"]);
    assert.deepEqual(ruleGaps({ ...TOKENS, perSecond: { "480p": 1 }, tokensPerSecond: {} }, GROK), [
      "tokens_per_second.480p",
      "per_second.720p",
      "tokens_per_second.720p",
    ]);
    assert.deepEqual(ruleGaps({ ...SIMPLE, perSecond: {} }, { resolutions: [] }), []);
  });

  test("the defaults: frozen, per second only, in USD micro-units", () => {
    assert.ok(Object.isFrozen(DEFAULT_PRICES));
    assert.deepEqual(Object.keys(DEFAULT_PRICES).sort(), DEFAULT_CATALOG.map((m) => m.id).sort());
    assert.deepEqual(DEFAULT_PRICES["seedance-1-5-pro-no-audio"], {
      perSecond: { "480p": 15_750, "720p": 35_000, "1080p": 78_750 },
      perClip: 0,
      perMillionTokens: null,
      tokensPerSecond: {},
    });
    assert.deepEqual(DEFAULT_PRICES["grok-imagine-video"], {
      perSecond: { "480p": 50_000, "720p": 70_000 },
      perClip: 0,
      perMillionTokens: null,
      tokensPerSecond: {},
    });
  });
});

const version = (rule: PriceRule, extra: Partial<PriceVersion> = {}): PriceVersion => ({
  id: "price_1",
  model: "grok-imagine-video",
  version: 3,
  currency: "USD",
  rule,
  note: "spring",
  createdBy: "key_admin",
  createdAt: 1_700_000_000_999,
  ...extra,
});

describe("prices in the API", () => {
  test("public pricing: the model's resolutions at 4 places, an example, when it is free", () => {
    const rule: PriceRule = {
      perSecond: { "480p": 50_000, "720p": 70_000, "1080p": 90_000 },
      perClip: 12_345,
      perMillionTokens: null,
      tokensPerSecond: { "480p": 7 },
    };
    assert.deepEqual(pricingToApi(version(rule), GROK, false), {
      currency: "USD",
      version: 3,
      per_second: { "480p": "0.0500", "720p": "0.0700" },
      per_second_micros: { "480p": 50_000, "720p": 70_000 },
      per_clip: "0.0123",
      per_million_tokens: null,
      tokens_per_second: null,
      example: { seconds: 8, resolution: "720p", cost: "0.5723" },
      free_when: ["test_mode"],
      updated_at: 1_700_000_000,
    });
    const local = pricingToApi(version(rule), GROK, true);
    assert.deepEqual(local.free_when, ["test_mode", "local_engine"]);
  });

  test("public pricing of a token rule shows the token price and estimates", () => {
    const rule: PriceRule = {
      perSecond: { "720p": 1_000, "1080p": 2_000 },
      perClip: 0,
      perMillionTokens: 6_400_000,
      tokensPerSecond: { "720p": 100, "1080p": 200 },
    };
    const api = pricingToApi(version(rule), HAPPYHORSE, false);
    assert.equal(api.per_million_tokens, "6.4000");
    assert.deepEqual(api.tokens_per_second, { "720p": 100, "1080p": 200 });
    assert.notEqual(api.tokens_per_second, rule.tokensPerSecond, "a copy");
    // 5 s at 1080p: 2 000 × 5 + ⌈1 000 tokens × 6.4⌉
    assert.deepEqual(api.example, { seconds: 5, resolution: "1080p", cost: "0.0164" });
    assert.deepEqual(api.per_second, { "720p": "0.0010", "1080p": "0.0020" });
  });

  test("public pricing of a rule with a gap: the offered amounts, the example n/a", () => {
    const rule: PriceRule = {
      perSecond: { "480p": 50_000 },
      perClip: 0,
      perMillionTokens: null,
      tokensPerSecond: {},
    };
    const api = pricingToApi(version(rule), GROK, false);
    assert.deepEqual(api.per_second, { "480p": "0.0500" });
    assert.deepEqual(api.per_second_micros, { "480p": 50_000 });
    assert.deepEqual(api.example, { seconds: 8, resolution: "720p", cost: "n/a" });
  });

  test("the admin view: every stored amount at 6 places, plus the rule in micro-units", () => {
    assert.deepEqual(priceVersionToApi(version(TOKENS)), {
      object: "price",
      id: "price_1",
      model: "grok-imagine-video",
      version: 3,
      currency: "USD",
      per_second: { "480p": "0.000003", "720p": "0.000005" },
      per_clip: "0.000100",
      per_million_tokens: "2.000000",
      tokens_per_second: { "480p": 10, "720p": 20 },
      rule_micros: TOKENS,
      note: "spring",
      created_by: "key_admin",
      created_at: 1_700_000_000,
    });
    const simple = priceVersionToApi(version(SIMPLE, { note: null, createdBy: null }));
    assert.equal(simple.per_million_tokens, null);
    assert.deepEqual(simple.tokens_per_second, {});
    assert.equal(simple.note, null);
    assert.equal(simple.created_by, null);
  });
});

describe("the admin body", () => {
  const ok = (body: unknown, m: CatalogModel = GROK) => priceRuleFromApi(body, m, "USD");
  const both = { "480p": "0.05", "720p": "0.07" };

  test("amounts as decimal strings (trimmed) or JSON numbers; optional fields default", () => {
    assert.deepEqual(ok({ per_second: { "480p": " 0.05 ", "720p": 0.07 } }), {
      rule: {
        perSecond: { "480p": 50_000, "720p": 70_000 },
        perClip: 0,
        perMillionTokens: null,
        tokensPerSecond: {},
      },
      note: null,
    });
    assert.deepEqual(
      ok({
        currency: "USD",
        per_second: both,
        per_clip: "0.01",
        per_million_tokens: 6.4,
        tokens_per_second: { "480p": 0, "720p": 9_721 },
        note: "spring",
      }),
      {
        rule: {
          perSecond: { "480p": 50_000, "720p": 70_000 },
          perClip: 10_000,
          perMillionTokens: 6_400_000,
          tokensPerSecond: { "480p": 0, "720p": 9_721 },
        },
        note: "spring",
      },
    );
    assert.deepEqual(
      ok({ per_second: both, per_clip: null, per_million_tokens: null, tokens_per_second: null, note: null })
        .rule,
      {
        perSecond: { "480p": 50_000, "720p": 70_000 },
        perClip: 0,
        perMillionTokens: null,
        tokensPerSecond: {},
      },
    );
    assert.equal(
      ok({ per_second: both, note: "x".repeat(600) }).note,
      "x".repeat(500),
      "notes are cut at 500",
    );
    assert.equal(ok({ per_second: both, note: "" }).note, "");
  });

  test("not an object", () => {
    const message = 'send a JSON object such as {"per_second": {"720p": "0.07"}}';
    for (const body of [null, undefined, "x", 5, true, [], [both]]) {
      refused(() => ok(body), "invalid_body", message, null);
    }
  });

  test("another currency", () => {
    refused(
      () => ok({ currency: "EUR", per_second: both }),
      "currency_mismatch",
      "this gateway bills in USD; prices must be in USD",
      "currency",
    );
    refused(
      () => priceRuleFromApi({ currency: "USD", per_second: both }, GROK, "CNY"),
      "currency_mismatch",
      "this gateway bills in CNY; prices must be in CNY",
      "currency",
    );
    assert.equal(priceRuleFromApi({ currency: "CNY", per_second: both }, GROK, "CNY").rule.perClip, 0);
  });

  test("an amount that is not a non-negative decimal", () => {
    const bad = (param: string) =>
      `${param} must be a non-negative decimal such as "0.07" (at most 6 decimals)`;
    for (const value of ["-0.05", -0.05, "0.0000001", "1e3", "", "abc", true, null, {}, ["0.05"]]) {
      refused(
        () => ok({ per_second: { "480p": value, "720p": "0.07" } }),
        "invalid_amount",
        bad("per_second.480p"),
        "per_second.480p",
      );
    }
    refused(() => ok({ per_second: both, per_clip: "-1" }), "invalid_amount", bad("per_clip"), "per_clip");
    refused(() => ok({ per_second: both, per_clip: false }), "invalid_amount", bad("per_clip"), "per_clip");
    refused(
      () => ok({ per_second: both, per_million_tokens: "x" }),
      "invalid_amount",
      bad("per_million_tokens"),
      "per_million_tokens",
    );
  });

  test("by-resolution fields must be objects keyed by a resolution the model offers", () => {
    for (const value of ["0.05", 5, [], ["0.05"], true]) {
      refused(
        () => ok({ per_second: value }),
        "invalid_type",
        'per_second must be an object keyed by resolution, e.g. {"720p": …}',
        "per_second",
      );
    }
    refused(
      () => ok({ per_second: both, per_million_tokens: "1", tokens_per_second: [1, 2] }),
      "invalid_type",
      'tokens_per_second must be an object keyed by resolution, e.g. {"720p": …}',
      "tokens_per_second",
    );
    refused(
      () => ok({ per_second: { ...both, "4k": "1" } }),
      "invalid_resolution",
      "4k is not a resolution (480p, 720p, 1080p)",
      "per_second.4k",
    );
    refused(
      () => ok({ per_second: { ...both, "1080p": "1" } }),
      "invalid_resolution",
      "grok-imagine-video does not offer 1080p",
      "per_second.1080p",
    );
    refused(
      () => ok({ per_second: both, tokens_per_second: { "1080p": 1 } }),
      "invalid_resolution",
      "grok-imagine-video does not offer 1080p",
      "tokens_per_second.1080p",
    );
  });

  test("token estimates are non-negative integers", () => {
    for (const value of ["5", 1.5, -1, Number.MAX_SAFE_INTEGER + 1, null, true]) {
      refused(
        () =>
          ok({ per_second: both, per_million_tokens: "1", tokens_per_second: { "480p": value, "720p": 1 } }),
        "invalid_type",
        "tokens_per_second.480p must be a non-negative integer",
        "tokens_per_second.480p",
      );
    }
  });

  test("the price must cover every resolution the model offers", () => {
    refused(
      () =>
        ok({ per_second: { "480p": "0.05" }, per_million_tokens: "6.4", tokens_per_second: { "480p": 1 } }),
      "incomplete_price",
      "the price must cover every resolution grok-imagine-video offers (480p, 720p); missing per_second.720p, tokens_per_second.720p",
      "per_second.720p",
    );
    refused(
      () => ok({ per_second: null }),
      "incomplete_price",
      "the price must cover every resolution grok-imagine-video offers (480p, 720p); missing per_second.480p, per_second.720p",
      "per_second.480p",
    );
    refused(
      () => ok({ per_second: { "720p": "1", "1080p": "2" }, per_million_tokens: 0 }, HAPPYHORSE),
      "incomplete_price",
      "the price must cover every resolution happyhorse-1.0-t2v offers (720p, 1080p); missing tokens_per_second.720p, tokens_per_second.1080p",
      "tokens_per_second.720p",
    );
  });

  test("a note must be a string", () => {
    for (const note of [5, {}, ["a"], false]) {
      refused(() => ok({ per_second: both, note }), "invalid_type", "note must be a string", "note");
    }
  });
});
