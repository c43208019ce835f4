import { createHash, randomFillSync } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/**
 * Random bytes are drawn 4 KiB at a time and handed out from that pool: one `randomBytes` call per
 * id cost ~5 µs (most of it the call, not the bytes), and ids are made on every request and
 * delivery. The pool is filled by the same CSPRNG and each byte is used once.
 */
const POOL_SIZE = 4096;
const pool = Buffer.alloc(POOL_SIZE);
let poolOffset = POOL_SIZE;

function nextRandomByte(): number {
  if (poolOffset === POOL_SIZE) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  return pool[poolOffset++]!;
}

/** Uniform random base62 string (rejection sampling: no modulo bias). */
export function randomAlphanumeric(length: number): string {
  let out = "";
  while (out.length < length) {
    const byte = nextRandomByte();
    if (byte < 248) out += ALPHABET[byte % 62];
  }
  return out;
}

let lastStamp = 0;

/**
 * An id that sorts (as text, in any collation: the sortable part is digits) in the order this
 * process made them: 16 digits of microsecond-ish stamp (milliseconds × 1000 plus a counter, never
 * repeating or going back within a process), then randomness. Rows listed "newest first" by
 * (created_at, id) need this: several ledger entries written in the same millisecond must keep the
 * order they were written in, which a random id cannot give.
 */
export function monotonicId(prefix: string, randomLength: number): string {
  lastStamp = Math.max(lastStamp + 1, Date.now() * 1000);
  return `${prefix}${String(lastStamp).padStart(16, "0")}${randomAlphanumeric(randomLength)}`;
}

/** Digits in ASCII order, so that stamps written with them sort as text the way they sort as numbers. */
const SORTED_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const STAMP_LENGTH = 9; // 62^9 ms ≈ 430,000 years

/**
 * `length` base62 characters: the current millisecond (9 characters, sorting as text in time
 * order), then randomness. Rows keyed by these land at the end of their indexes instead of on a
 * random page each: a burst of inserts dirties a few pages per index, not one each, and a commit
 * writes those pages (SQLite writes every dirty page to the WAL). The random part stays large
 * enough that the id is not guessable; ids are never capabilities anyway (access is by key).
 */
export function timeOrderedId(length: number): string {
  let stamp = "";
  for (let ms = Date.now(), i = 0; i < STAMP_LENGTH; i++, ms = Math.floor(ms / 62)) {
    stamp = SORTED_DIGITS[ms % 62] + stamp;
  }
  return stamp + randomAlphanumeric(length - STAMP_LENGTH);
}

/** Task ids: 32 base62 characters, time-ordered then 23 random (≈137 bits). */
export const newTaskId = () => `task_${timeOrderedId(32)}`;
export const newFileId = () => `file_${randomAlphanumeric(24)}`;
export const newAccountId = () => `acct_${randomAlphanumeric(20)}`;
export const newKeyId = () => `key_${randomAlphanumeric(20)}`;
export const newJobId = () => `job_${timeOrderedId(24)}`;
/** Capability tokens in public media URLs: 192 bits. */
export const newCapabilityToken = () => randomAlphanumeric(32);
/** API keys: "sk-" + 48 base62 chars (≈285 bits). */
export const newApiKey = () => `sk-${randomAlphanumeric(48)}`;

export function sha256Hex(value: string | Buffer): string {
  return createHash("sha256").update(value).digest("hex");
}

/** Unix seconds from unix milliseconds (the API's time unit). */
export const unixSeconds = (ms: number | null | undefined): number | null =>
  ms == null ? null : Math.floor(ms / 1000);
