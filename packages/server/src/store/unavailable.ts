/**
 * Telling "the store could not be reached" apart from "the statement was wrong". The first is a
 * fault of the moment (Postgres restarting or failing over, a dropped connection, SQLite busy past
 * its timeout): the request may be retried as it was, and a job must not spend an attempt on it.
 */

/** Postgres SQLSTATEs that mean the server or the connection went away, not the statement. */
const UNAVAILABLE_SQLSTATES = new Set([
  "57P01", // admin_shutdown: pg_terminate_backend, a fast shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now: starting up or in recovery
  "53300", // too_many_connections
  "SQLITE_BUSY",
  "SQLITE_BUSY_SNAPSHOT",
  "SQLITE_LOCKED",
]);

const UNAVAILABLE_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);

// pg gives most connection failures no code: only their messages tell them apart.
const UNAVAILABLE_MESSAGES = [
  /^Connection terminated/, // "… unexpectedly", "… due to connection timeout"
  /^timeout expired$/, // pg.Client connect timeout
  /timeout exceeded when trying to connect/, // pg.Pool checkout timeout
  /is not queryable/,
  /^Query read timeout/,
  /^database is locked/,
];

/** Whether `error` (or an error it wraps) says the store is unreachable right now. */
export function isStoreUnavailable(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e && typeof e === "object" && depth < 4; depth++) {
    const { code, message, errors } = e as { code?: unknown; message?: unknown; errors?: unknown };
    if (typeof code === "string" && (UNAVAILABLE_SQLSTATES.has(code) || UNAVAILABLE_ERRNOS.has(code)))
      return true;
    // Class 08: connection exception (08000, 08003, 08006, …).
    if (typeof code === "string" && /^08[0-9A-Z]{3}$/.test(code)) return true;
    if (typeof message === "string" && UNAVAILABLE_MESSAGES.some((re) => re.test(message))) return true;
    // A connect to every address of a host failing at once arrives as an AggregateError.
    if (Array.isArray(errors) && errors.some((inner) => isStoreUnavailable(inner))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * Run `step` (a start-up step that needs the store), trying again while the store is unreachable —
 * a process started while Postgres restarts waits for it instead of exiting — for at most
 * `withinMs`; any other error, or the last one, is thrown.
 */
export async function whenStoreAnswers<T>(
  step: () => Promise<T>,
  options: { what: string; withinMs: number; log(message: string): void },
): Promise<T> {
  const deadline = Date.now() + options.withinMs;
  for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
    try {
      return await step();
    } catch (error) {
      if (!isStoreUnavailable(error) || Date.now() + wait > deadline) throw error;
      options.log(`${options.what}: the store does not answer yet; trying again in ${wait} ms`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }
}

/**
 * Whether the statement certainly never reached the server: the client knew its connection was
 * dead before sending. Only then may a write be sent again without risking running it twice.
 */
export function neverSent(error: unknown): boolean {
  const message = (error as { message?: unknown } | undefined)?.message;
  return typeof message === "string" && /is not queryable/.test(message);
}
