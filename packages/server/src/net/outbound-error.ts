/**
 * How outbound HTTP fails: one error class with a machine-readable `reason` and a message a person
 * can act on, and the URL redaction every such message uses (query strings often carry signatures).
 */

export type OutboundFailureReason =
  | "invalid_url"
  | "bad_scheme"
  | "credentials_in_url"
  | "blocked_address"
  | "dns_failure"
  | "timeout"
  | "aborted"
  | "too_large"
  | "too_many_redirects"
  | "connection_failed"
  | "http_status";

export class OutboundRequestError extends Error {
  override readonly name = "OutboundRequestError";

  constructor(
    readonly reason: OutboundFailureReason,
    message: string,
    /** The URL of the hop that failed, without query string or credentials. */
    readonly url: string,
    readonly details: { address?: string; status?: number } = {},
  ) {
    super(message);
  }
}

export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB`;
  if (bytes >= 1024) return `${Math.round((bytes / 1024) * 10) / 10} KB`;
  return `${bytes} bytes`;
}

/** The URL as safe to show: no credentials, no query string (it often carries signatures). */
export function redactUrl(url: URL | string): string {
  let u: URL;
  try {
    u = typeof url === "string" ? new URL(url) : url;
  } catch {
    return "(unparseable URL)";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:")
    return `${u.protocol}${u.host ? `//${u.host}` : ""}${u.pathname}`;
  return `${u.protocol}//${u.host}${u.pathname}${u.search ? "?…" : ""}`;
}

export function outboundError(
  reason: OutboundFailureReason,
  message: string,
  url: URL | string,
  details?: { address?: string; status?: number },
): OutboundRequestError {
  return new OutboundRequestError(reason, message, redactUrl(url), details);
}
