import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  assertMicros,
  decimalToMicros,
  formatMoney,
  MICROS_PER_UNIT,
  MoneyError,
  microsFromDb,
  moneyFromJson,
  mulDivCeil,
  mulMicros,
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

/** Asserts that `fn` throws a MoneyError with exactly `message`. */
function throwsMoney(fn: () => unknown, message: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MoneyError, `expected a MoneyError, got ${String(e)}`);
    assert.equal(e.name, "MoneyError");
    assert.equal(e.message, message);
    return true;
  });
}

const MAX = Number.MAX_SAFE_INTEGER;
const MIN = Number.MIN_SAFE_INTEGER;

describe("money: the edges", () => {
  test("a micro-unit is a millionth; MoneyError is named", () => {
    assert.equal(MICROS_PER_UNIT, 1_000_000);
    const error = new MoneyError("x");
    assert.ok(error instanceof Error);
    assert.equal(error.name, "MoneyError");
    assert.equal(String(error), "MoneyError: x");
  });

  test("assertMicros passes safe integers through and names what is wrong", () => {
    assert.equal(assertMicros(0), 0);
    assert.equal(assertMicros(-7), -7);
    assert.equal(assertMicros(MAX), MAX);
    assert.equal(assertMicros(MIN), MIN);
    throwsMoney(() => assertMicros(0.5), "amount is not a safe integer of micro-units: 0.5");
    throwsMoney(() => assertMicros(MAX + 1), "amount is not a safe integer of micro-units: 9007199254740992");
    throwsMoney(() => assertMicros(Number.NaN, "fee"), "fee is not a safe integer of micro-units: NaN");
    throwsMoney(
      () => assertMicros(Number.POSITIVE_INFINITY, "fee"),
      "fee is not a safe integer of micro-units: Infinity",
    );
  });

  test("negatives are refused unless asked for, in both parsers", () => {
    assert.equal(decimalToMicros("-1"), undefined);
    assert.equal(decimalToMicros("-0.5"), undefined);
    assert.equal(decimalToMicros("-1", false), undefined);
    assert.equal(decimalToMicros("-1", true), -1_000_000);
    assert.equal(moneyFromJson("-1"), undefined, "the default refuses a negative string");
    assert.equal(moneyFromJson(-1), undefined, "the default refuses a negative number");
    assert.equal(moneyFromJson(" -2.25 ", true), -2_250_000);
    assert.equal(moneyFromJson(-2.25, true), -2_250_000);
    assert.equal(moneyFromJson("-0", true), 0);
    assert.ok(Object.is(decimalToMicros("-0.000000", true), 0), "never -0");
    assert.ok(Object.is(decimalToMicros("-0", true), 0), "never -0");
  });

  test("decimal grammar: digits, at most 13 of them before the point, at most 6 after", () => {
    assert.equal(decimalToMicros("0"), 0);
    assert.equal(decimalToMicros("7"), 7_000_000, "no fraction: whole units");
    assert.equal(decimalToMicros("10.5"), 10_500_000, "a short fraction is padded, not shifted");
    assert.equal(decimalToMicros("3.000001"), 3_000_001);
    assert.equal(decimalToMicros("0000000000001"), 1_000_000, "13 digits");
    assert.equal(decimalToMicros("00000000000001"), undefined, "14 digits, even as leading zeros");
    for (const bad of [
      "--1",
      "+1",
      "1-",
      "a1",
      "1a",
      "1.a",
      "1.5a",
      "x1.5",
      "1.5.5",
      "1..5",
      "-",
      "-.5",
      ".",
      "1 ",
      "1.0000000",
      "١",
    ]) {
      assert.equal(decimalToMicros(bad, true), undefined, JSON.stringify(bad));
    }
  });

  test("the safe-integer range bounds parsing on both sides", () => {
    assert.equal(decimalToMicros("9007199254.740991"), MAX);
    assert.equal(decimalToMicros("9007199254.740992"), undefined);
    assert.equal(decimalToMicros("9999999999999.999999"), undefined);
    assert.equal(decimalToMicros("-9007199254.740991", true), MIN);
    assert.equal(decimalToMicros("-9007199254.740992", true), undefined, "negative overflow");
    assert.equal(decimalToMicros("-9999999999999", true), undefined);
  });

  test("moneyFromJson: strings are trimmed, numbers go through their decimal form, the rest is refused", () => {
    assert.equal(moneyFromJson("1.25"), 1_250_000);
    assert.equal(moneyFromJson("\t7\n"), 7_000_000);
    assert.equal(moneyFromJson(7), 7_000_000);
    assert.equal(moneyFromJson(10.5), 10_500_000);
    assert.equal(moneyFromJson(0), 0);
    assert.equal(moneyFromJson(1e21), undefined, "1e+21 is not a decimal");
    assert.equal(moneyFromJson(Number.NaN), undefined);
    assert.equal(moneyFromJson(Number.POSITIVE_INFINITY), undefined);
    assert.equal(moneyFromJson(Number.NEGATIVE_INFINITY, true), undefined);
    for (const bad of [null, undefined, {}, [], [1], ["1"], 1n, false]) {
      assert.equal(moneyFromJson(bad), undefined, String(bad));
      assert.equal(moneyFromJson(bad, true), undefined, String(bad));
    }
  });

  test("formatMoney: every number of places from 0 to 6, rounding half away from zero", () => {
    assert.equal(formatMoney(12_345_678, 0), "12");
    assert.equal(formatMoney(12_500_000, 0), "13");
    assert.equal(formatMoney(12_499_999, 0), "12");
    assert.equal(formatMoney(-12_500_000, 0), "-13");
    assert.equal(formatMoney(12_345_678, 1), "12.3");
    assert.equal(formatMoney(12_345_678, 2), "12.35");
    assert.equal(formatMoney(12_345_678, 3), "12.346");
    assert.equal(formatMoney(12_345_678), "12.3457");
    assert.equal(formatMoney(12_345_678, 5), "12.34568");
    assert.equal(formatMoney(1_200, 4), "0.0012", "leading zeros of the fraction are kept");
    assert.equal(formatMoney(7, 6), "0.000007");
    assert.equal(formatMoney(-7, 6), "-0.000007");
    assert.equal(formatMoney(-1_000_000, 6), "-1.000000");
    assert.equal(formatMoney(1_000_000, 6), "1.000000");
    assert.equal(formatMoney(50), "0.0001", "exactly half a step rounds up");
    assert.equal(formatMoney(49), "0.0000");
    assert.equal(formatMoney(-50), "-0.0001", "and away from zero for a negative");
    assert.equal(formatMoney(MIN, 6), "-9007199254.740991");
    assert.equal(formatMoney(0, 0), "0");
    assert.equal(formatMoney(-1, 0), "0", "no negative zero");
    throwsMoney(() => formatMoney(1, -1), "cannot format with -1 decimals");
    throwsMoney(() => formatMoney(1, 7), "cannot format with 7 decimals");
    throwsMoney(() => formatMoney(1.5), "amount is not a safe integer of micro-units: 1.5");
  });

  test("mulMicros: exact signed products, refused past 2^53", () => {
    assert.equal(mulMicros(3, 5), 15);
    assert.equal(mulMicros(-3, 5), -15);
    assert.equal(mulMicros(-3, -5), 15);
    assert.equal(mulMicros(0, MAX), 0);
    assert.equal(mulMicros(MAX, 1), MAX);
    assert.equal(mulMicros(MIN, 1), MIN);
    // 94 906 267² = 9 007 199 515 875 289 > 2^53 − 1: an exact product, refused rather than rounded.
    throwsMoney(() => mulMicros(94_906_267, 94_906_267), "product is out of range: 9007199515875289");
    throwsMoney(() => mulMicros(MAX, -2), "product is out of range: -18014398509481982");
    throwsMoney(() => mulMicros(1.5, 2), "amount is not a safe integer of micro-units: 1.5");
    throwsMoney(() => mulMicros(2, 1.5), "amount is not a safe integer of micro-units: 1.5");
  });

  test("mulDivCeil: rounds a partial micro-unit up, never down, and refuses negative operands", () => {
    assert.equal(mulDivCeil(2, 3, 3), 2, "exact quotient: no extra micro-unit");
    assert.equal(mulDivCeil(2, 3, 4), 2, "1.5 → 2");
    assert.equal(mulDivCeil(1, 1, 3), 1, "⅓ → 1");
    assert.equal(mulDivCeil(7, 1, 1), 7);
    assert.equal(mulDivCeil(MAX, 1, 1), MAX);
    const refusal = "mulDivCeil takes non-negative operands and d > 0";
    throwsMoney(() => mulDivCeil(-1, 1, 1), refusal);
    throwsMoney(() => mulDivCeil(1, -1, 1), refusal);
    throwsMoney(() => mulDivCeil(1_000, -6_400_000, 1_000_000), refusal);
    throwsMoney(() => mulDivCeil(1, 1, 0), refusal);
    throwsMoney(() => mulDivCeil(1, 1, -1), refusal);
    throwsMoney(() => mulDivCeil(MAX, 2, 1), "amount is out of range: 18014398509481982");
    throwsMoney(() => mulDivCeil(0.5, 2, 1), "amount is not a safe integer of micro-units: 0.5");
    throwsMoney(() => mulDivCeil(2, 0.5, 1), "amount is not a safe integer of micro-units: 0.5");
    throwsMoney(() => mulDivCeil(2, 2, 1.5), "amount is not a safe integer of micro-units: 1.5");
  });

  test("sumMicros: exact signed sums, refused past either end of the safe range", () => {
    assert.equal(sumMicros([]), 0);
    assert.equal(sumMicros([5]), 5);
    assert.equal(sumMicros([5, -8]), -3);
    assert.equal(sumMicros(new Set([1, 2])), 3, "any iterable");
    assert.equal(sumMicros([MAX, 0]), MAX);
    assert.equal(sumMicros([MIN, 0]), MIN);
    assert.equal(sumMicros([MAX, 1, -1]), MAX, "the total is exact even past 2^53 midway");
    throwsMoney(() => sumMicros([MAX, 1]), "sum is out of range: 9007199254740992");
    throwsMoney(() => sumMicros([MIN, -1]), "sum is out of range: -9007199254740992");
    throwsMoney(() => sumMicros([1, 0.5]), "amount is not a safe integer of micro-units: 0.5");
  });

  test("microsFromDb: numbers, bigints and integer strings, exactly; anything else is an error", () => {
    assert.equal(microsFromDb(null), 0);
    assert.equal(microsFromDb(undefined), 0);
    assert.equal(microsFromDb(0), 0);
    assert.equal(microsFromDb(42), 42);
    assert.equal(microsFromDb(-42), -42);
    assert.equal(microsFromDb(MAX), MAX);
    assert.equal(microsFromDb(42n), 42);
    assert.equal(microsFromDb(-42n), -42);
    assert.equal(microsFromDb(BigInt(MAX)), MAX);
    assert.equal(microsFromDb(BigInt(MIN)), MIN);
    assert.equal(microsFromDb("0"), 0);
    assert.equal(microsFromDb("-42"), -42);
    assert.equal(microsFromDb("9007199254740991"), MAX);
    assert.equal(microsFromDb("-9007199254740991"), MIN);
    throwsMoney(() => microsFromDb(1.5), "amount is not a safe integer of micro-units: 1.5");
    throwsMoney(() => microsFromDb(MAX + 1), "amount is not a safe integer of micro-units: 9007199254740992");
    throwsMoney(() => microsFromDb(BigInt(MAX) + 1n), "stored amount is out of range: 9007199254740992");
    throwsMoney(() => microsFromDb(BigInt(MIN) - 1n), "stored amount is out of range: -9007199254740992");
    throwsMoney(() => microsFromDb("9007199254740992"), "stored amount is out of range: 9007199254740992");
    throwsMoney(() => microsFromDb("-9007199254740992"), "stored amount is out of range: -9007199254740992");
    for (const bad of [
      "",
      "-",
      "1.5",
      "1.0",
      "12a",
      "a12",
      "1 2",
      " 12",
      "12 ",
      "+12",
      "--1",
      "1e3",
      "0x10",
    ]) {
      throwsMoney(() => microsFromDb(bad), `unexpected amount from the store: ${bad}`);
    }
    throwsMoney(() => microsFromDb([12]), "unexpected amount from the store: 12");
    throwsMoney(() => microsFromDb(true), "unexpected amount from the store: true");
    throwsMoney(() => microsFromDb({}), "unexpected amount from the store: [object Object]");
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
