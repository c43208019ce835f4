/**
 * Standard Webhooks v1 (standardwebhooks.com): `webhook-id`, `webhook-timestamp` and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, secret `whsec_<base64>`.
 * WebCrypto only, so it runs on Node ≥ 20, Bun, Deno, browsers and edge runtimes.
 */
import { WebhookVerificationError } from "./errors.ts";
import type { Task } from "./types.ts";

export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 300;

export type WebhookHeaders =
  | Headers
  | Record<string, string | string[] | undefined>
  | { get(name: string): string | null };

export interface VerifyWebhookOptions {
  /** How far `webhook-timestamp` may be from now, either way. Default 300 s (5 minutes). */
  toleranceSeconds?: number;
  /** "Now" in Unix seconds (for tests). */
  now?: number;
}

const encoder = new TextEncoder();

/**
 * Check a webhook delivery and return its parsed JSON body (the task object, docs/api.md §5).
 * Pass the raw body exactly as received (string or bytes) — not a re-serialised object.
 * Throws `WebhookVerificationError` when headers are missing, the timestamp is outside the
 * tolerance, or no `v1` signature in the (space-separated) header matches.
 */
export async function verifyWebhook<T = Task>(
  rawBody: string | Uint8Array | ArrayBuffer,
  headers: WebhookHeaders,
  secret: string,
  options: VerifyWebhookOptions = {},
): Promise<T> {
  const id = header(headers, "webhook-id");
  const timestamp = header(headers, "webhook-timestamp");
  const signatures = header(headers, "webhook-signature");
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header", {
      code: "missing_headers",
    });
  }
  if (!/^\d{1,15}$/.test(timestamp.trim())) {
    throw new WebhookVerificationError("webhook-timestamp is not a Unix time in seconds", {
      code: "invalid_timestamp",
    });
  }
  const sent = Number(timestamp.trim());
  const now = options.now ?? Math.floor(Date.now() / 1000);
  const tolerance = options.toleranceSeconds ?? DEFAULT_WEBHOOK_TOLERANCE_SECONDS;
  if (sent < now - tolerance) {
    throw new WebhookVerificationError(`webhook timestamp is too old (${now - sent} s ago)`, {
      code: "timestamp_too_old",
    });
  }
  if (sent > now + tolerance) {
    throw new WebhookVerificationError(`webhook timestamp is too far in the future (${sent - now} s)`, {
      code: "timestamp_too_new",
    });
  }

  const body = toBytes(rawBody);
  const expected = await hmac(
    secretBytes(secret),
    concat(encoder.encode(`${id}.${timestamp.trim()}.`), body),
  );
  let matched = false;
  for (const entry of signatures.split(" ")) {
    const comma = entry.indexOf(",");
    if (comma === -1 || entry.slice(0, comma) !== "v1") continue;
    const given = base64ToBytes(entry.slice(comma + 1));
    // Check every candidate (no early exit) so timing does not tell which one matched.
    if (given && constantTimeEqual(given, expected)) matched = true;
  }
  if (!matched) {
    throw new WebhookVerificationError("no webhook signature matches: wrong secret or altered body", {
      code: "invalid_signature",
    });
  }
  const text = new TextDecoder().decode(body);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new WebhookVerificationError("the webhook body is not JSON", { code: "invalid_body" });
  }
}

/**
 * The `webhook-signature` value (`v1,<base64>`) for a message: what the gateway sends. Useful to
 * test your endpoint.
 */
export async function signWebhook(
  secret: string,
  id: string,
  timestamp: number | string,
  rawBody: string | Uint8Array | ArrayBuffer,
): Promise<string> {
  const mac = await hmac(
    secretBytes(secret),
    concat(encoder.encode(`${id}.${timestamp}.`), toBytes(rawBody)),
  );
  return `v1,${bytesToBase64(mac)}`;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === "function") {
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  }
  const record = headers as Record<string, string | string[] | undefined>;
  const key = Object.keys(record).find((k) => k.toLowerCase() === name);
  const value = key === undefined ? undefined : record[key];
  return Array.isArray(value) ? value.join(" ") : value;
}

/** `whsec_<base64>` → the decoded key; any other string is used as raw UTF-8 bytes. */
function secretBytes(secret: string): Uint8Array {
  if (secret.startsWith("whsec_")) {
    const bytes = base64ToBytes(secret.slice("whsec_".length));
    if (!bytes || bytes.length === 0) {
      throw new WebhookVerificationError("the webhook secret is not valid whsec_<base64>", {
        code: "invalid_secret",
      });
    }
    return bytes;
  }
  if (!secret) throw new WebhookVerificationError("the webhook secret is empty", { code: "invalid_secret" });
  return encoder.encode(secret);
}

async function hmac(key: Uint8Array, message: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) throw new WebhookVerificationError("WebCrypto (crypto.subtle) is not available here");
  const cryptoKey = await subtle.importKey(
    "raw",
    key as BufferSource,
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  return new Uint8Array(await subtle.sign("HMAC", cryptoKey, message as BufferSource));
}

export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a[i % Math.max(1, a.length)] ?? 0) ^ b[i]!;
  return diff === 0;
}

function toBytes(body: string | Uint8Array | ArrayBuffer): Uint8Array {
  if (typeof body === "string") return encoder.encode(body);
  if (body instanceof Uint8Array) return body;
  return new Uint8Array(body);
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

function base64ToBytes(value: string): Uint8Array | undefined {
  try {
    const binary = atob(value.trim());
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function bytesToBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}
