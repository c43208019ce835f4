import type { SelectQueryBuilder } from "kysely";
import { invalid, shown } from "../domain/errors.ts";
import type { Database } from "./schema.ts";

/** Opaque keyset cursor over (created_at DESC, id DESC): stable while rows are inserted. */
export interface Cursor {
  createdAt: number;
  id: string;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(`${cursor.createdAt}:${cursor.id}`).toString("base64url");
}

export function decodeCursor(value: string, param = "after"): Cursor {
  const text = Buffer.from(value, "base64url").toString();
  const match = /^(\d+):([A-Za-z0-9_]+)$/.exec(text);
  if (!match)
    throw invalid(
      "invalid_cursor",
      `"${shown(value)}" is not a cursor from a previous page's next_cursor`,
      param,
    );
  return { createdAt: Number(match[1]), id: match[2]! };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

type PageableQuery<Row extends { created_at: number; id: string }> = SelectQueryBuilder<
  Database,
  "files" | "tasks",
  Row
>;

/**
 * Run a keyset page over a `files`/`tasks` query, newest first unless `order` is "asc": one row
 * more than asked tells `has_more`.
 */
export async function keysetPage<Row extends { created_at: number; id: string }>(
  query: PageableQuery<Row>,
  limit: number,
  after?: Cursor,
  order: "desc" | "asc" = "desc",
): Promise<Page<Row>> {
  let q = query;
  if (after) {
    const past = order === "desc" ? "<" : ">";
    q = q.where((eb) =>
      eb.or([
        eb("created_at", past, after.createdAt),
        eb.and([eb("created_at", "=", after.createdAt), eb("id", past, after.id)]),
      ]),
    );
  }
  const rows = (await q
    .orderBy("created_at", order)
    .orderBy("id", order)
    .limit(limit + 1)
    .execute()) as Row[];
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return {
    items,
    nextCursor:
      rows.length > limit && last ? encodeCursor({ createdAt: last.created_at, id: last.id }) : null,
  };
}
