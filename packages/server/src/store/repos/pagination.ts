import { invalid } from "../../api/errors.ts";

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
    throw invalid("invalid_cursor", `"${value}" is not a cursor from a previous page's next_cursor`, param);
  return { createdAt: Number(match[1]), id: match[2]! };
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
