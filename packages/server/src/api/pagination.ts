import { invalid } from "../domain/errors.ts";
import { type Cursor, decodeCursor } from "../store/pagination.ts";

export interface ListQuery {
  limit: number;
  after?: Cursor;
}

/** `?limit=1..100` (default 20) and `?after=<next_cursor>`. */
export function parseListQuery(query: Record<string, unknown>): ListQuery {
  let limit = 20;
  if (query.limit !== undefined) {
    limit = Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw invalid("invalid_limit", "limit must be a whole number from 1 to 100", "limit");
    }
  }
  const after =
    typeof query.after === "string" && query.after !== "" ? decodeCursor(query.after, "after") : undefined;
  return { limit, after };
}

export function listEnvelope<T>(data: T[], nextCursor: string | null) {
  return { object: "list" as const, data, has_more: nextCursor !== null, next_cursor: nextCursor };
}
