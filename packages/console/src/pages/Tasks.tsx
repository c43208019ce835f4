/**
 * Tasks: the account's tasks, newest first, with status and model filters and cursor paging. The
 * filters, page size and cursor live in the URL query (a reload or a shared link shows the same
 * page). While any listed task is unfinished the page re-reads the list every 2 s, and stops when
 * all are finished or the tab is hidden: one list request instead of an event stream per task.
 */
import { TASK_STATUSES, type TaskListParams, type TaskStatus } from "@vidrelay/sdk";
import { useEffect, useState } from "react";
import { ErrorNote, PageHeader, useInterval, useLoad } from "../components/ui.tsx";
import { navigate, useLocation } from "../router.tsx";
import { useSession } from "../session.tsx";
import { TaskTable } from "./tasks/TaskTable.tsx";
import "./tasks/tasks.css";
import { isTerminal, usePageVisible } from "./tasks/visibility.ts";

/** The sizes offered; a link may carry any other size the API accepts (1-100). */
const PAGE_SIZES = [10, 20, 50, 100];
const DEFAULT_PAGE_SIZE = 20;
const REFRESH_MS = 2000;

interface ListQuery {
  status: TaskStatus | "";
  model: string;
  limit: number;
  after: string;
}

function readQuery(query: URLSearchParams): ListQuery {
  const status = query.get("status") ?? "";
  const limit = Number(query.get("limit"));
  return {
    status: (TASK_STATUSES as readonly string[]).includes(status) ? (status as TaskStatus) : "",
    model: query.get("model") ?? "",
    limit: Number.isInteger(limit) && limit >= 1 && limit <= 100 ? limit : DEFAULT_PAGE_SIZE,
    after: query.get("after") ?? "",
  };
}

function queryPath(q: ListQuery): string {
  const params = new URLSearchParams();
  if (q.status) params.set("status", q.status);
  if (q.model) params.set("model", q.model);
  if (q.limit !== DEFAULT_PAGE_SIZE) params.set("limit", String(q.limit));
  if (q.after) params.set("after", q.after);
  const search = params.toString();
  return search ? `/tasks?${search}` : "/tasks";
}

export function TasksPage() {
  const { client } = useSession();
  const { query } = useLocation();
  const q = readQuery(query);
  // Cursors of the pages before this one, so Previous can go back (the API pages forward only).
  const [earlier, setEarlier] = useState<string[]>([]);
  const visible = usePageVisible();
  // Back or Forward to other filters: the earlier cursors belong to another list.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the filters are the trigger
  useEffect(() => setEarlier([]), [q.status, q.model, q.limit]);

  const list = useLoad(
    (signal) =>
      client.videos.listPage(
        {
          status: q.status || undefined,
          model: q.model || undefined,
          limit: q.limit,
          after: q.after || undefined,
        } satisfies TaskListParams,
        { signal },
      ),
    [q.status, q.model, q.limit, q.after],
  );
  const models = useLoad((signal) => client.models.list({ signal }), []);

  const tasks = list.data?.data ?? [];
  const unfinished = tasks.some((t) => !isTerminal(t.status));
  useInterval(list.reload, REFRESH_MS, unfinished && visible && !list.error);

  // A filter or page size change starts again at the first page; it is a new history entry.
  const setFilter = (change: Partial<ListQuery>) => {
    setEarlier([]);
    navigate(queryPath({ ...q, ...change, after: "" }));
  };
  // Paging replaces the entry: Back leaves the list instead of walking its pages.
  const next = () => {
    const cursor = list.data?.next_cursor;
    if (!cursor) return;
    setEarlier((stack) => [...stack, q.after]);
    navigate(queryPath({ ...q, after: cursor }), { replace: true });
  };
  const previous = () => {
    const before = earlier.at(-1) ?? "";
    setEarlier((stack) => stack.slice(0, -1));
    navigate(queryPath({ ...q, after: before }), { replace: true });
  };

  const modelIds = models.data?.map((m) => m.id) ?? [];
  if (q.model && !modelIds.includes(q.model)) modelIds.push(q.model);
  const filtered = Boolean(q.status || q.model);
  // After a reload on a later page the earlier cursors are gone: the number is unknown.
  const pageLabel = !q.after ? "Page 1" : earlier.length ? `Page ${earlier.length + 1}` : "A later page";

  return (
    <section className="tasks-page">
      <PageHeader title="Tasks">
        <button type="button" className="secondary" onClick={list.reload}>
          Refresh
        </button>
      </PageHeader>
      <form className="task-filters" aria-label="Filter tasks" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="task-status">Status</label>
          <select
            id="task-status"
            value={q.status}
            onChange={(e) => setFilter({ status: e.target.value as TaskStatus | "" })}
          >
            <option value="">All statuses</option>
            {TASK_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="task-model">Model</label>
          <select id="task-model" value={q.model} onChange={(e) => setFilter({ model: e.target.value })}>
            <option value="">All models</option>
            {modelIds.map((id) => (
              <option key={id} value={id}>
                {id}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="task-page-size">Per page</label>
          <select
            id="task-page-size"
            value={q.limit}
            onChange={(e) => setFilter({ limit: Number(e.target.value) })}
          >
            {(PAGE_SIZES.includes(q.limit) ? PAGE_SIZES : [q.limit, ...PAGE_SIZES].sort((a, b) => a - b)).map(
              (n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ),
            )}
          </select>
        </div>
      </form>
      <ErrorNote error={list.error} title="Could not load tasks" />
      <ErrorNote error={models.error} title="Could not load models" />
      <div aria-live="polite" aria-busy={list.loading && !list.data}>
        {!list.data && list.loading ? <p className="muted">Loading tasks…</p> : null}
        {list.data && tasks.length === 0 ? (
          <p className="notice">
            {filtered ? "No tasks match these filters." : "No tasks yet: submit one from the Playground."}
          </p>
        ) : null}
      </div>
      {tasks.length > 0 ? <TaskTable tasks={tasks} now={Date.now()} /> : null}
      <nav className="pager" aria-label="Pages">
        <button type="button" className="secondary" onClick={previous} disabled={!q.after}>
          Previous
        </button>
        <button
          type="button"
          className="secondary"
          onClick={next}
          disabled={!list.data?.has_more || !list.data.next_cursor}
        >
          Next
        </button>
        <span className="pager-page muted">
          {pageLabel}
          {unfinished && visible ? " · updating live" : ""}
        </span>
      </nav>
    </section>
  );
}
