/** List commands: their --limit/--all flags and their output (JSON lines or a table). */
import type { ParseArgsConfig } from "node:util";
import { EXIT, type ExitCode, type Io, intFlag, table } from "./common.ts";

/** The flags of a list command: `--limit N` (default 20) or `--all`. */
export const LIST_OPTIONS = {
  limit: { type: "string" },
  all: { type: "boolean" },
} as const satisfies NonNullable<ParseArgsConfig["options"]>;

/** How many items `--limit`/`--all` ask for, and the page size to fetch them in (at most 100). */
export function listLimit(values: { limit?: string; all?: boolean }): { limit: number; pageSize: number } {
  const limit = values.all ? Number.POSITIVE_INFINITY : (intFlag("limit", values.limit, 1) ?? 20);
  return { limit, pageSize: Math.min(100, Number.isFinite(limit) ? limit : 100) };
}

/** A table's columns: each header and how it shows an item, in order. */
export type Columns<T> = Record<string, (item: T) => string>;

/** A list: one JSON object a line with --json; else a table, or `empty` on stderr when there is nothing. */
export function printList<T>(
  io: Io,
  list: readonly T[],
  json: boolean | undefined,
  columns: Columns<T>,
  empty?: string,
): ExitCode {
  if (json) {
    for (const item of list) io.out(JSON.stringify(item));
    return EXIT.ok;
  }
  if (!list.length && empty) {
    io.err(empty);
    return EXIT.ok;
  }
  const cells = Object.values(columns);
  io.out(
    table(
      Object.keys(columns),
      list.map((item) => cells.map((cell) => cell(item))),
    ),
  );
  return EXIT.ok;
}
