import { pathMatcher } from "./journal.ts";

/** Which requests a fault rule applies to; every given field must match. */
export interface FaultMatch {
  method?: string;
  /** Exact path, a RegExp, or a string with regex metacharacters (used as a regex source). */
  path?: string | RegExp;
  /** The JSON body's `model` field. */
  model?: string;
  /** A substring of the raw request body. */
  bodyIncludes?: string;
  /** Request headers that must be present with these values (names case-insensitive). */
  headers?: Record<string, string>;
}

/** Slow body: `chunkBytes` written every `intervalMs` real ms. */
export interface Throttle {
  chunkBytes: number;
  intervalMs: number;
}

/**
 * What to do instead of (or on top of) the normal response.
 *
 * * Replace the response: `status` and/or `error` (a provider error code the double turns into its
 *   own envelope and status), with optional `body` (object = JSON, string = as is), `headers`,
 *   `nonJson` (a load-balancer HTML page instead of JSON).
 * * Break the connection: `hang` (never answer), `dropConnection` (destroy the socket).
 * * Modify the normal response (when none of the above is set): `truncate` (send only part of the
 *   body, then cut the connection), `throttle` (slow body).
 * * `delayMs` (real ms) waits before doing any of it.
 */
export interface FaultAction {
  status?: number;
  error?: string;
  message?: string;
  body?: unknown;
  headers?: Record<string, string>;
  nonJson?: boolean;
  delayMs?: number;
  hang?: boolean;
  dropConnection?: boolean;
  /** true = half the body; a number = that many bytes. The Content-Length still claims the whole. */
  truncate?: boolean | number;
  throttle?: Throttle;
}

export interface FaultRuleInput {
  match?: FaultMatch;
  action: FaultAction;
  /** How many times it fires (default 1; -1 = forever). */
  count?: number;
  /** Let this many matching requests through untouched first (default 0). */
  skip?: number;
}

export interface FaultRule {
  id: number;
  match: FaultMatch;
  action: FaultAction;
  /** Remaining firings (-1 = forever). */
  remaining: number;
  skip: number;
  fired: number;
}

/** The request facts a rule is matched against. */
export interface FaultSubject {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  rawBody: string;
  body: unknown;
}

export class FaultError extends Error {}

export class Faults {
  #rules: FaultRule[] = [];
  #seq = 0;

  /** Add a rule; rules are tried in the order added, the first match with firings left wins. */
  add(input: FaultRuleInput): FaultRule {
    validateRule(input);
    const rule: FaultRule = {
      id: ++this.#seq,
      match: input.match ?? {},
      action: input.action,
      remaining: input.count ?? 1,
      skip: input.skip ?? 0,
      fired: 0,
    };
    this.#rules.push(rule);
    return rule;
  }

  /** Find, consume and return the rule that applies to this request, if any. */
  take(subject: FaultSubject): FaultRule | undefined {
    for (const rule of this.#rules) {
      if (rule.remaining === 0 || !matches(rule.match, subject)) continue;
      if (rule.skip > 0) {
        rule.skip--;
        continue;
      }
      if (rule.remaining > 0) rule.remaining--;
      rule.fired++;
      return rule;
    }
    return undefined;
  }

  list(): FaultRule[] {
    return this.#rules.map((r) => ({ ...r }));
  }

  remove(id: number): boolean {
    const before = this.#rules.length;
    this.#rules = this.#rules.filter((r) => r.id !== id);
    return this.#rules.length < before;
  }

  clear(): void {
    this.#rules = [];
  }
}

function matches(match: FaultMatch, s: FaultSubject): boolean {
  if (match.method && match.method.toUpperCase() !== s.method) return false;
  if (match.path !== undefined && !pathMatcher(match.path)(s.path)) return false;
  if (match.model !== undefined) {
    const model = (s.body as { model?: unknown } | null | undefined)?.model;
    if (model !== match.model) return false;
  }
  if (match.bodyIncludes !== undefined && !s.rawBody.includes(match.bodyIncludes)) return false;
  if (match.headers) {
    for (const [name, value] of Object.entries(match.headers)) {
      const got = s.headers[name.toLowerCase()];
      if ((Array.isArray(got) ? got.join(", ") : got) !== value) return false;
    }
  }
  return true;
}

function validateRule(input: FaultRuleInput): void {
  if (!input || typeof input !== "object")
    throw new FaultError("a fault rule is an object {match, action, count}");
  const a = input.action;
  if (!a || typeof a !== "object") throw new FaultError("fault rule needs an `action` object");
  if (a.status !== undefined && (!Number.isInteger(a.status) || a.status < 100 || a.status > 599))
    throw new FaultError("action.status must be an HTTP status code");
  if (a.delayMs !== undefined && !(a.delayMs >= 0)) throw new FaultError("action.delayMs must be >= 0");
  if (a.throttle && !(a.throttle.chunkBytes > 0 && a.throttle.intervalMs >= 0))
    throw new FaultError("action.throttle needs chunkBytes > 0 and intervalMs >= 0");
  const count = input.count ?? 1;
  if (!Number.isInteger(count) || count < -1 || count === 0)
    throw new FaultError("count must be a positive integer or -1 (forever)");
  if (input.match?.path !== undefined && typeof input.match.path === "string") {
    try {
      pathMatcher(input.match.path);
    } catch {
      throw new FaultError(`match.path is not a valid regex: ${input.match.path}`);
    }
  }
}

/** True when the action replaces the response (rather than modifying the normal one). */
export function replacesResponse(action: FaultAction): boolean {
  return (
    action.status !== undefined || action.error !== undefined || action.body !== undefined || !!action.nonJson
  );
}
