import type { IncomingHttpHeaders } from "node:http";

/** One request as the double received it (secrets removed from the headers). */
export interface JournalEntry {
  seq: number;
  /** Simulated time (epoch ms) when the request arrived. */
  time: number;
  /** Wall-clock time (epoch ms). */
  realTime: number;
  method: string;
  path: string;
  query: Record<string, string | string[]>;
  headers: Record<string, string>;
  /** Parsed JSON body, the raw text if it was not JSON, or undefined when empty or too large. */
  body: unknown;
  bodyBytes: number;
  requestId: string;
  /** The response status, filled in once the response is sent (undefined if none was: hang/drop). */
  status?: number;
  /** Id of the fault rule that fired on this request, if any. */
  fault?: number;
}

export interface JournalFilter {
  method?: string;
  /** Exact path, or a RegExp (a string with regex metacharacters is treated as a regex source). */
  path?: string | RegExp;
  /** Only entries with seq > since. */
  since?: number;
}

const SECRET_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "api-key",
  "x-goog-api-key",
]);

/** Header values with credentials masked, keeping the scheme and the last four characters. */
export function redactHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, raw] of Object.entries(headers)) {
    if (raw === undefined) continue;
    const value = Array.isArray(raw) ? raw.join(", ") : raw;
    out[name] = SECRET_HEADERS.has(name) ? mask(value) : value;
  }
  return out;
}

function mask(value: string): string {
  const space = value.indexOf(" ");
  const scheme = space > 0 ? `${value.slice(0, space)} ` : "";
  const secret = space > 0 ? value.slice(space + 1) : value;
  return `${scheme}[redacted …${secret.slice(-4)}]`;
}

const REGEX_META = /[\^$*+?()[\]{}|\\]/;

/** A path matcher: a RegExp, a string holding regex metacharacters (a regex source), or an exact path. */
export function pathMatcher(path: string | RegExp): (candidate: string) => boolean {
  if (path instanceof RegExp) return (c) => path.test(c);
  if (REGEX_META.test(path)) {
    const re = new RegExp(path);
    return (c) => re.test(c);
  }
  return (c) => c === path;
}

export class Journal {
  #entries: JournalEntry[] = [];
  #seq = 0;
  /** Entries kept; the oldest are dropped beyond this. */
  limit = 10_000;

  record(entry: Omit<JournalEntry, "seq">): JournalEntry {
    const full = { seq: ++this.#seq, ...entry };
    this.#entries.push(full);
    if (this.#entries.length > this.limit) this.#entries.splice(0, this.#entries.length - this.limit);
    return full;
  }

  list(filter: JournalFilter = {}): JournalEntry[] {
    const matchPath = filter.path === undefined ? () => true : pathMatcher(filter.path);
    const method = filter.method?.toUpperCase();
    return this.#entries.filter(
      (e) =>
        (method === undefined || e.method === method) &&
        matchPath(e.path) &&
        (filter.since === undefined || e.seq > filter.since),
    );
  }

  /** The newest matching entry. */
  last(filter: JournalFilter = {}): JournalEntry | undefined {
    return this.list(filter).at(-1);
  }

  get size(): number {
    return this.#entries.length;
  }

  /** The seq of the newest entry (0 if none): pass it as `since` to see only later requests. */
  get lastSeq(): number {
    return this.#seq;
  }

  clear(): void {
    this.#entries = [];
  }
}
