/**
 * Sending one delivery: the signed POST (Standard Webhooks headers), at most 64 KB of the answer
 * read (512 bytes kept), and what the answer says about the receiver (retry-after, capacity).
 */
import type { AllowMatcher } from "../net/address-policy.ts";
import type { ConnectionPool } from "../net/connection-pool.ts";
import { safeFetch } from "../net/safe-fetch.ts";
import type { WebhookDelivery } from "../store/schema.ts";
import { VERSION_STRING } from "../version.ts";
import type { HostVerdict } from "./host-limiter.ts";
import { signatureHeader } from "./signing.ts";

const MAX_RESPONSE_BYTES = 64 * 1024;
const EXCERPT_BYTES = 512;

/** An attempt's answer: the status (null when none came), or why there was none. */
export interface SendOutcome {
  /** When the attempt started (ms). */
  at: number;
  latency: number;
  statusCode: number | null;
  error: string | null;
  excerpt: string | null;
  /** What a 429 or 503 asked for in Retry-After. */
  retryAfterMs: number | null;
}

export interface SendOptions {
  timeoutMs: number;
  allow: AllowMatcher;
  signal: AbortSignal;
  pool: ConnectionPool;
}

/** POST the delivery once; the host's slot is given back (`releaseHost`) as soon as the receiver has answered. */
export async function sendDelivery(
  delivery: WebhookDelivery,
  secrets: string[],
  options: SendOptions,
  releaseHost: (verdict: HostVerdict) => void,
): Promise<SendOutcome> {
  const started = Date.now();
  const timestamp = Math.floor(started / 1000);
  let statusCode: number | null = null;
  let error: string | null = null;
  let excerpt: string | null = null;
  let retryAfterMs: number | null = null;
  try {
    const response = await safeFetch(delivery.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": `vidrelay-webhook/${VERSION_STRING}`,
        "webhook-id": delivery.id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signatureHeader(secrets, delivery.id, timestamp, delivery.payload),
      },
      body: delivery.payload,
      timeoutMs: options.timeoutMs,
      maxBytes: Number.MAX_SAFE_INTEGER, // we stop reading ourselves after 64 KB
      maxRedirects: 0,
      allow: options.allow,
      signal: options.signal,
      pool: options.pool,
    });
    statusCode = response.status;
    excerpt = await readAtMost(response.body, MAX_RESPONSE_BYTES, EXCERPT_BYTES);
    const retryAfter = response.headers["retry-after"];
    if ((statusCode === 429 || statusCode === 503) && typeof retryAfter === "string") {
      retryAfterMs = parseRetryAfter(retryAfter);
    }
    if (statusCode >= 300 && statusCode < 400) error = `redirects are not followed (HTTP ${statusCode})`;
  } catch (caught) {
    error = caught instanceof Error ? caught.message : String(caught);
  }
  releaseHost(hostVerdict(statusCode, options.signal));
  return { at: started, latency: Date.now() - started, statusCode, error, excerpt, retryAfterMs };
}

/** Read a response body up to `limit` bytes (then stop); return the first `keep` bytes as text. */
async function readAtMost(
  body: NodeJS.ReadableStream & { destroy(): void },
  limit: number,
  keep: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (total < keep) chunks.push(chunk.subarray(0, keep - total));
      total += chunk.length;
      if (total >= limit) break;
    }
  } catch {
    // A receiver that breaks the connection mid-body has still answered with its status.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseRetryAfter(value: string): number | null {
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 24 * 3600) * 1000;
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, Math.min(date - Date.now(), 24 * 3600 * 1000));
  return null;
}

/** What an attempt's outcome says about the receiver's capacity (see HostLimiter). */
function hostVerdict(statusCode: number | null, signal: AbortSignal): HostVerdict {
  if (statusCode === null) return signal.aborted ? "neutral" : "overloaded"; // timeout, refused, reset
  if (statusCode >= 200 && statusCode < 300) return "ok";
  if (statusCode === 429 || statusCode >= 500) return "overloaded";
  return "neutral";
}
