/**
 * Money is an integer number of micro-units (1 USD = 1 000 000). Nothing here touches a float:
 * decimal strings are parsed digit by digit, products and quotients use BigInt, and every result
 * is checked to be a safe JS integer.
 */
export const MICROS_PER_UNIT = 1_000_000;
const DECIMALS = 6;

export class MoneyError extends Error {
  override name = "MoneyError";
}

/** Throws unless `value` is an integer in the exact range of a JS number. */
export function assertMicros(value: number, what = "amount"): number {
  if (!Number.isSafeInteger(value))
    throw new MoneyError(`${what} is not a safe integer of micro-units: ${value}`);
  return value;
}

function fromBig(value: bigint, what: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
    throw new MoneyError(`${what} is out of range: ${value}`);
  }
  return Number(value);
}

/**
 * "12.34" → 12 340 000. At most 6 decimals; an optional leading "-" when `allowNegative`.
 * Returns undefined for anything else (exponents, spaces, "", ".5", or more than 2^53 micro-units).
 */
export function decimalToMicros(text: string, allowNegative = false): number | undefined {
  const match = /^(-?)(\d{1,13})(?:\.(\d{1,6}))?$/.exec(text);
  if (!match) return undefined;
  const [, sign, whole, frac = ""] = match;
  if (sign && !allowNegative) return undefined;
  const micros = BigInt(whole!) * BigInt(MICROS_PER_UNIT) + BigInt(frac.padEnd(DECIMALS, "0"));
  if (micros > BigInt(Number.MAX_SAFE_INTEGER)) return undefined; // beyond exact range: not an amount
  const value = Number(sign ? -micros : micros);
  return value === 0 ? 0 : value; // never -0
}

/**
 * A money value from an API body: a decimal string ("10.50") or a JSON number whose shortest
 * decimal form has at most 6 decimals (10.5). Undefined when it is neither.
 */
export function moneyFromJson(value: unknown, allowNegative = false): number | undefined {
  if (typeof value === "string") return decimalToMicros(value.trim(), allowNegative);
  if (typeof value === "number" && Number.isFinite(value))
    return decimalToMicros(String(value), allowNegative);
  return undefined;
}

/**
 * 350 000 → "0.3500". Rounded half away from zero to `places` decimals (4 by default, the API's
 * display format; 6 shows the exact amount).
 */
export function formatMoney(micros: number, places = 4): string {
  assertMicros(micros);
  if (places < 0 || places > DECIMALS) throw new MoneyError(`cannot format with ${places} decimals`);
  const negative = micros < 0;
  let abs = BigInt(Math.abs(micros));
  const step = 10n ** BigInt(DECIMALS - places);
  abs = (abs + step / 2n) / step; // half away from zero (step is 1 when places = 6: no rounding)
  const scale = 10n ** BigInt(places);
  const whole = abs / scale;
  const frac = (abs % scale).toString().padStart(places, "0");
  const text = places > 0 ? `${whole}.${frac}` : `${whole}`;
  return negative && abs !== 0n ? `-${text}` : text;
}

/** a × b, exactly (throws past 2^53). */
export function mulMicros(a: number, b: number): number {
  return fromBig(BigInt(assertMicros(a)) * BigInt(assertMicros(b)), "product");
}

/** ⌈a × b / d⌉ for non-negative integers, exactly: a partial micro-unit is charged as a whole one. */
export function mulDivCeil(a: number, b: number, d: number): number {
  if (a < 0 || b < 0 || d <= 0) throw new MoneyError("mulDivCeil takes non-negative operands and d > 0");
  const product = BigInt(assertMicros(a)) * BigInt(assertMicros(b));
  const divisor = BigInt(assertMicros(d));
  return fromBig((product + divisor - 1n) / divisor, "amount");
}

/** Sum of integers, exactly. */
export function sumMicros(values: Iterable<number>): number {
  let total = 0n;
  for (const v of values) total += BigInt(assertMicros(v));
  return fromBig(total, "sum");
}

/**
 * A value from a SQL aggregate: SQLite gives numbers; Postgres gives strings for SUM over bigint
 * (numeric) unless cast, and bigints when the driver is set up so. Null (no rows) is 0.
 */
export function microsFromDb(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === "number") return assertMicros(value);
  if (typeof value === "bigint") return fromBig(value, "stored amount");
  if (typeof value === "string" && /^-?\d+$/.test(value)) return fromBig(BigInt(value), "stored amount");
  throw new MoneyError(`unexpected amount from the store: ${String(value)}`);
}
