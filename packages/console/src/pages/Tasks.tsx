/**
 * Tasks: the account's tasks, newest first, with status and model filters and cursor paging. The
 * filters, page size and cursor live in the URL query (a reload or a shared link shows the same
 * page). While any listed task is unfinished the page re-reads the list every 2 s, and stops when
 * all are finished or the tab is hidden: one list request instead of an event stream per task.
 */
import type { TaskListParams } from "@vidrelay/sdk";
import { useEffect, useState } from "react";
import { ErrorNote, PageHeader, useInterval, useLoad } from "../components/ui.tsx";
import { navigate, useLocation } from "../router.tsx";
import { useSession } from "../session.tsx";
import { type ListQuery, pageLabel, queryPath, readQuery } from "./tasks/query.ts";
import { TaskFilters } from "./tasks/TaskFilters.tsx";
import { TaskTable } from "./tasks/TaskTable.tsx";
import "./tasks/tasks.css";
import { isTerminal, usePageVisible } from "./tasks/visibility.ts";

const REFRESH_MS = 2000;

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

  return (
    <section className="tasks-page">
      <PageHeader title="Tasks">
        <button type="button" className="secondary" onClick={list.reload}>
          Refresh
        </button>
      </PageHeader>
      <TaskFilters query={q} modelIds={modelIds} onChange={setFilter} />
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
          {pageLabel(q.after, earlier)}
          {unfinished && visible ? " · updating live" : ""}
        </span>
      </nav>
    </section>
  );
}
