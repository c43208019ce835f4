/** The submitted task: live status and progress, then the video (or the task's error). */
import type { VidRelay } from "@vidrelay/sdk";
import { ErrorNote, ProgressBar, StatusBadge } from "../../components/ui.tsx";
import { Link } from "../../router.tsx";
import { useTaskUpdates } from "./useTaskUpdates.ts";

export function TaskResult({ client, taskId }: { client: VidRelay; taskId: string }) {
  const { task, error, transport } = useTaskUpdates(client, taskId);
  const status = task?.status ?? "submitted";
  return (
    <section className="panel" aria-labelledby="result-title">
      <h2 id="result-title">Result</h2>
      <p className="result-head">
        <StatusBadge status={status} />{" "}
        <Link to={`/tasks/${encodeURIComponent(taskId)}`}>
          Task <code>{taskId}</code>
        </Link>
      </p>
      {status === "submitted" || status === "running" ? (
        <div aria-live="polite">
          <ProgressBar value={task?.progress ?? 0} label="Progress" />
          <p className="muted">
            {status === "submitted" ? "Waiting for a renderer…" : "Rendering…"}
            {transport === "polling" ? " (checking every 2 s)" : ""}
          </p>
        </div>
      ) : null}
      <ErrorNote error={error} title="Could not read the task" />
      {task?.status === "succeeded" && task.url ? (
        <div className="result-video">
          {/* biome-ignore lint/a11y/useMediaCaption: a generated clip has no captions to offer */}
          <video controls src={task.url} poster={task.thumbnail_url} preload="auto" />
          <p className="row">
            <a className="button" href={task.url} download={`${task.task_id}.mp4`}>
              Download
            </a>
            {task.video ? (
              <span className="muted">
                {task.video.width}×{task.video.height}, {task.video.duration.toFixed(1)} s
                {task.video.has_audio ? ", with sound" : ""}
              </span>
            ) : null}
          </p>
        </div>
      ) : null}
      {task?.status === "failed" ? (
        <ErrorNote
          error={new Error(`${task.error?.message ?? "The task failed."} (${task.error?.code ?? "failed"})`)}
          title="The task failed"
        />
      ) : null}
    </section>
  );
}
