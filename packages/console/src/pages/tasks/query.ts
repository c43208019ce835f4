/**
 * The Tasks page's list query as it lives in the URL: status and model filters, page size and the
 * cursor of the page shown. Pure functions, so a reload or a shared link shows the same page.
 */
import { TASK_STATUSES, type TaskStatus } from "@vidrelay/sdk";

/** The sizes offered; a link may carry any other size the API accepts (1-100). */
export const PAGE_SIZES = [10, 20, 50, 100];
export const DEFAULT_PAGE_SIZE = 20;

export interface ListQuery {
  status: TaskStatus | "";
  model: string;
  limit: number;
  after: string;
}

/** The query a URL carries; what the API would refuse falls back to the default. */
export function readQuery(query: URLSearchParams): ListQuery {
  const status = query.get("status") ?? "";
  const limit = Number(query.get("limit"));
  return {
    status: (TASK_STATUSES as readonly string[]).includes(status) ? (status as TaskStatus) : "",
    model: query.get("model") ?? "",
    limit: Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : DEFAULT_PAGE_SIZE,
    after: query.get("after") ?? "",
  };
}

/** The page's path for a query: defaults are left out. */
export function queryPath(q: ListQuery): string {
  const params = new URLSearchParams();
  if (q.status) params.set("status", q.status);
  if (q.model) params.set("model", q.model);
  if (q.limit !== DEFAULT_PAGE_SIZE) params.set("limit", String(q.limit));
  if (q.after) params.set("after", q.after);
  const search = params.toString();
  return search ? `/tasks?${search}` : "/tasks";
}

/** The page sizes to offer: the usual ones, and a link's own size among them in order. */
export function pageSizes(limit: number): number[] {
  return PAGE_SIZES.includes(limit) ? PAGE_SIZES : [limit, ...PAGE_SIZES].sort((a, b) => a - b);
}

/** "Page 3" from the cursors walked to get here; after a reload on a later page they are gone. */
export function pageLabel(after: string, earlier: readonly string[]): string {
  if (!after) return "Page 1";
  return earlier.length ? `Page ${earlier.length + 1}` : "A later page";
}
