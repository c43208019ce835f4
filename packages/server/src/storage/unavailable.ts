/**
 * Telling "our storage failed for a moment" (an S3 outage, throttling, a dropped connection to the
 * bucket) from a refusal that will not change. The first is retried — a request answers 503 with
 * Retry-After, a job runs again later without spending an attempt — never turned into a failed task.
 */

const TRANSIENT_ERRNOS = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EAI_AGAIN",
  "EHOSTUNREACH",
]);

export function isStorageUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 4; depth++) {
    const { $fault, $metadata, name, code } = e as {
      $fault?: string;
      $metadata?: { httpStatusCode?: number };
      name?: string;
      code?: string;
    };
    // The AWS SDK: a server-side fault (500, 503 SlowDown/ServiceUnavailable), throttling, or no
    // answer at all (its TimeoutError also stands for a reset connection).
    const status = $metadata?.httpStatusCode;
    if ($fault === "server" || (status !== undefined && (status >= 500 || status === 429))) return true;
    if ($metadata && name === "TimeoutError") return true;
    if (typeof code === "string" && TRANSIENT_ERRNOS.has(code) && ($metadata || name === "TimeoutError"))
      return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
