import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  decimalToMicros,
  formatMoney,
  MoneyError,
  microsFromDb,
  moneyFromJson,
  mulDivCeil,
  sumMicros,
} from "../../src/billing/money.ts";
import {
  charge,
  DEFAULT_PRICES,
  type PriceRule,
  priceRuleFromApi,
  quote,
  ruleGaps,
} from "../../src/billing/prices.ts";
import { Catalog, DEFAULT_CATALOG } from "../../src/catalog/models.ts";
import type { ApiError } from "../../src/domain/errors.ts";

describe("money", () => {
  test("decimal strings parse exactly to micro-units", () => {
    assert.equal(decimalToMicros("0.07"), 70_000);
    assert.equal(decimalToMicros("12.345678"), 12_345_678);
    assert.equal(decimalToMicros("1"), 1_000_000);
    assert.equal(decimalToMicros("0.000001"), 1);
    assert.equal(decimalToMicros("-2.5", true), -2_500_000);
    assert.equal(decimalToMicros("-0", true), 0);
    assert.equal(decimalToMicros("9007199254.740991"), Number.MAX_SAFE_INTEGER);
    for (const bad of ["", ".5", "1.", "1.1234567", "1e3", " 1", "-1", "0x10", "1,5", "9999999999999.0"]) {
      assert.equal(decimalToMicros(bad), undefined, bad);
    }
    assert.equal(moneyFromJson(0.1), 100_000, "0.1 as a JSON number is exactly 0.1 in decimal");
    assert.equal(moneyFromJson(1e-7), undefined);
    assert.equal(moneyFromJson(" 3.5 "), 3_500_000);
    assert.equal(moneyFromJson(true), undefined);
  });

  test("format: 4 places, half away from zero; 6 places exact", () => {
    assert.equal(formatMoney(350_000), "0.3500");
    assert.equal(formatMoney(0), "0.0000");
    assert.equal(formatMoney(78_750), "0.0788");
    assert.equal(formatMoney(78_749), "0.0787");
    assert.equal(formatMoney(-78_750), "-0.0788");
    assert.equal(formatMoney(-49), "0.0000", "no negative zero");
    assert.equal(formatMoney(12_345_678, 6), "12.345678");
    assert.equal(formatMoney(Number.MAX_SAFE_INTEGER, 6), "9007199254.740991");
    assert.throws(() => formatMoney(0.5), MoneyError);
  });

  test("parse ∘ format is the identity at 6 places (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e15, max: 1e15 }), (micros) => {
        assert.equal(decimalToMicros(formatMoney(micros, 6), true), micros);
      }),
      { numRuns: 2_000 },
    );
  });

  test("exact products, ceilings and sums; no silent overflow", () => {
    assert.equal(mulDivCeil(48_601, 6_400_000, 1_000_000), 311_047);
    assert.equal(mulDivCeil(50_000, 6_400_000, 1_000_000), 320_000);
    assert.equal(mulDivCeil(0, 5, 7), 0);
    assert.equal(sumMicros([1, 2, 3]), 6);
    assert.throws(() => sumMicros([Number.MAX_SAFE_INTEGER, 1]), MoneyError);
    assert.throws(() => mulDivCeil(-1, 1, 1), MoneyError);
    fc.assert(
      fc.property(
        fc.nat(10_000_000),
        fc.nat(100_000_000),
        fc.integer({ min: 1, max: 10_000_000 }),
        (a, b, d) => {
          const exact = (BigInt(a) * BigInt(b) + BigInt(d) - 1n) / BigInt(d);
          assert.equal(BigInt(mulDivCeil(a, b, d)), exact);
        },
      ),
      { numRuns: 1_000 },
    );
  });

  test("amounts read back from either driver", () => {
    assert.equal(microsFromDb("123"), 123);
    assert.equal(microsFromDb(-5), -5);
    assert.equal(microsFromDb(7n), 7);
    assert.equal(microsFromDb(null), 0);
    assert.throws(() => microsFromDb("1.5"), MoneyError);
    assert.throws(() => microsFromDb("99999999999999999999"), MoneyError);
  });
});

describe("prices", () => {
  const rule: PriceRule = {
    perSecond: { "480p": 3 },
    perClip: 5_000,
    perMillionTokens: 6_400_000,
    tokensPerSecond: { "480p": 9_721 },
  };

  test("quote is the worst case; charge uses actual seconds and reported tokens", () => {
    // 5 000 + 3 × 5 + ⌈48 605 × 6.4⌉ = 5 015 + 311 072
    assert.equal(quote(rule, "480p", 5), 5_015 + 311_072);
    assert.equal(charge(rule, "480p", 5), quote(rule, "480p", 5));
    assert.equal(charge(rule, "480p", 5, 0), 5_015);
    assert.equal(charge(rule, "480p", 4, 1), 5_012 + 7);
    assert.throws(() => quote(rule, "720p", 5), /no per-second amount for 720p/);
  });

  test("every default catalog model has a complete default price", () => {
    const catalog = new Catalog();
    for (const model of catalog.list()) {
      const price = DEFAULT_PRICES[model.id];
      assert.ok(price, `${model.id} has a default price`);
      assert.deepEqual(ruleGaps(price, model), [], model.id);
    }
    const cost = (id: string, res: "480p" | "720p" | "1080p", s = 1) =>
      formatMoney(quote(DEFAULT_PRICES[id]!, res, s));
    assert.equal(cost("seedance-1-5-pro-with-audio", "720p", 5), "0.3500");
    assert.equal(cost("seedance-1-5-pro-no-audio", "720p", 5), "0.1750", "half the voiced price");
    assert.equal(cost("happyhorse-1.0-i2v", "720p"), "0.1400");
    assert.equal(cost("happyhorse-1.0-t2v", "1080p"), "0.1800");
    assert.equal(cost("grok-imagine-video", "480p"), "0.0500");
    assert.equal(cost("grok-imagine-video", "720p"), "0.0700");
    assert.equal(cost("doubao-seedance-2-0-1080p", "1080p"), "0.3150");
  });

  test("the admin body is validated against the model", () => {
    const grok = DEFAULT_CATALOG.find((m) => m.id === "grok-imagine-video")!;
    const parsed = priceRuleFromApi(
      { per_second: { "480p": "0.05", "720p": 0.07 }, per_clip: "0.01", note: "n" },
      grok,
      "USD",
    );
    assert.deepEqual(parsed.rule, {
      perSecond: { "480p": 50_000, "720p": 70_000 },
      perClip: 10_000,
      perMillionTokens: null,
      tokensPerSecond: {},
    });
    const refuse = (body: unknown, param: string) =>
      assert.throws(
        () => priceRuleFromApi(body, grok, "USD"),
        (e: ApiError) => e.status === 400 && e.param === param,
      );
    refuse({ per_second: { "480p": "0.05" } }, "per_second.720p");
    refuse({ per_second: { "480p": "-0.05", "720p": "1" } }, "per_second.480p");
    refuse({ per_second: { "480p": "0.05", "720p": "1", "4k": "2" } }, "per_second.4k");
    refuse(
      { per_second: { "480p": "0.05", "720p": "1" }, per_million_tokens: "6.4" },
      "tokens_per_second.480p",
    );
    refuse(
      { per_second: { "480p": "0.05", "720p": "1" }, tokens_per_second: { "480p": -1 } },
      "tokens_per_second.480p",
    );
    refuse({ currency: "EUR", per_second: {} }, "currency");
    refuse([], null as unknown as string);
  });
});
