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
