/**
 * One task: its state (live through the task's event stream while it runs), Cancel while it can be
 * cancelled, what was asked, timings, usage and cost, the error of a failed task, the video, and
 * the webhook deliveries with Replay. Another account's task is a 404 like a missing one.
 */
import { ErrorNote, PageHeader, ProgressBar, StatusBadge } from "../components/ui.tsx";
import { Link } from "../router.tsx";
import { useSession } from "../session.tsx";
import { CancelTask } from "./tasks/CancelTask.tsx";
import { Deliveries } from "./tasks/Deliveries.tsx";
import { RequestEcho, Timings, UsageFacts, VideoResult } from "./tasks/TaskFacts.tsx";
import "./tasks/tasks.css";
import { useLiveTask } from "./tasks/useLiveTask.ts";
import { isTerminal } from "./tasks/visibility.ts";

export function TaskDetailPage({ taskId }: { taskId: string }) {
  const { client } = useSession();
  const { task, error, notFound, setTask, reload } = useLiveTask(client, taskId);

  return (
    <section className="task-detail">
      <p>
        <Link to="/tasks">← All tasks</Link>
      </p>
      <PageHeader title={`Task ${taskId}`}>{task ? <StatusBadge status={task.status} /> : null}</PageHeader>
      {notFound ? (
        <div className="error-note" role="alert">
          Task not found: there is no task <code>{taskId}</code> on this account. It may belong to another
          account, or the id is mistyped.
        </div>
      ) : (
        <ErrorNote error={error} title="Could not load the task" />
      )}
      {!task && !error ? <p className="muted">Loading task…</p> : null}
      {task ? (
        <>
          <div className="panel task-actions">
            {!isTerminal(task.status) ? (
              <div className="task-live">
                <ProgressBar value={task.progress} label="Progress" />
              </div>
            ) : null}
            <CancelTask client={client} task={task} onCancelled={setTask} onRefused={reload} />
          </div>
          {task.error ? (
            <div className="error-note" role="alert" data-error-code={task.error.code}>
              <strong>Failed ({task.error.code}): </strong>
              {task.error.message}
            </div>
          ) : null}
          <VideoResult task={task} />
          <div className="grid-2">
            <RequestEcho task={task} />
            <div>
              <Timings task={task} />
              <UsageFacts task={task} />
            </div>
          </div>
          <Deliveries
            key={task.id}
            client={client}
            taskId={task.id}
            taskStatus={task.status}
            finishedAt={task.completed_at}
          />
        </>
      ) : null}
    </section>
  );
}
