import { createHash, randomBytes } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Uniform random base62 string (rejection sampling: no modulo bias). */
export function randomAlphanumeric(length: number): string {
  let out = "";
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 248) out += ALPHABET[byte % 62];
      if (out.length === length) break;
    }
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

export const newTaskId = () => `task_${randomAlphanumeric(32)}`;
export const newFileId = () => `file_${randomAlphanumeric(24)}`;
export const newAccountId = () => `acct_${randomAlphanumeric(20)}`;
export const newKeyId = () => `key_${randomAlphanumeric(20)}`;
export const newJobId = () => `job_${randomAlphanumeric(24)}`;
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
