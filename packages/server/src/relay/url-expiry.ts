/**
 * When a provider's output URL stops working, read from the URL itself: presigned URLs say so in
 * their query (AWS SigV4 and its TOS, OSS v4 and GCS cousins: a signing date and a lifetime; OSS v1:
 * an absolute time). Providers that hand out plain URLs do not say; for them an hour is assumed,
 * the shortest lifetime documented among the providers we know (docs/providers.md).
 */
export const UNKNOWN_URL_LIFETIME_MS = 3600_000;

const SIGNED = [
  ["X-Amz-Date", "X-Amz-Expires"],
  ["X-Tos-Date", "X-Tos-Expires"],
  ["x-oss-date", "x-oss-expires"],
  ["X-Goog-Date", "X-Goog-Expires"],
] as const;

export function urlExpiresAt(url: string, now = Date.now()): number {
  let query: URLSearchParams;
  try {
    query = new URL(url).searchParams;
  } catch {
    return now + UNKNOWN_URL_LIFETIME_MS;
  }
  const get = (name: string) => {
    for (const [key, value] of query) if (key.toLowerCase() === name.toLowerCase()) return value;
    return null;
  };
  for (const [dateName, lifetimeName] of SIGNED) {
    const date = get(dateName);
    const lifetime = Number(get(lifetimeName));
    const signedAt = date ? parseBasicIso(date) : undefined;
    if (signedAt !== undefined && Number.isFinite(lifetime) && lifetime > 0)
      return signedAt + lifetime * 1000;
  }
  const absolute = Number(get("Expires"));
  if (Number.isFinite(absolute) && absolute > 1e9) return absolute * 1000;
  return now + UNKNOWN_URL_LIFETIME_MS;
}

/** `20260331T175019Z` → unix ms. */
function parseBasicIso(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
}
