/** The list envelope every paginated route answers with (docs/api.md §2, §4). */
export function listEnvelope<T>(data: T[], nextCursor: string | null) {
  return { object: "list" as const, data, has_more: nextCursor !== null, next_cursor: nextCursor };
}
