/**
 * The rows of the Tasks page: one task per row with its poster frame (once it has succeeded) and
 * its prompt, its id linking to the task's own page.
 */
import type { Task } from "@vidrelay/sdk";
import { DataTable } from "../../components/DataTable.tsx";
import { formatAge, formatMoney, formatTime, ProgressBar, StatusBadge } from "../../components/ui.tsx";
import { Link } from "../../router.tsx";
import { TaskThumbnail } from "./TaskThumbnail.tsx";
import { isTerminal } from "./visibility.ts";

export function TaskTable({ tasks, now }: { tasks: Task[]; now: number }) {
  return (
    <DataTable
      className="task-table"
      caption="Tasks, newest first"
      columns={["Task", "Status", "Model", "Progress", "Age", "Cost"]}
    >
      {tasks.map((task) => (
        <tr key={task.id} data-task-id={task.id}>
          <td data-col="task">
            <div className="task-cell">
              <TaskThumbnail task={task} />
              <div className="task-cell-text">
                {task.prompt ? (
                  <span className="task-prompt" title={task.prompt}>
                    {task.prompt}
                  </span>
                ) : (
                  <span className="task-prompt muted">No prompt</span>
                )}
                <Link className="task-id" to={`/tasks/${encodeURIComponent(task.id)}`}>
                  {task.id}
                </Link>
              </div>
            </div>
          </td>
          <td data-col="status">
            <StatusBadge status={task.status} />
            {task.error ? <span className="muted"> {task.error.code}</span> : null}
          </td>
          <td data-col="model">{task.model}</td>
          <td data-col="progress" className="task-progress">
            {isTerminal(task.status) ? (
              `${Math.round(task.progress)}%`
            ) : (
              <ProgressBar value={task.progress} label={`Progress of ${task.id}`} />
            )}
          </td>
          <td data-col="age">
            <time
              dateTime={new Date(task.created_at * 1000).toISOString()}
              title={formatTime(task.created_at)}
            >
              {formatAge(task.created_at, now)}
            </time>
          </td>
          <td data-col="cost">{task.usage ? formatMoney(task.usage.cost, task.usage.currency) : "—"}</td>
        </tr>
      ))}
    </DataTable>
  );
}
