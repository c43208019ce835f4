/** The read-only parts of a task's page: what was asked, when it ran, what it cost, what came out. */
import type { Task } from "@vidrelay/sdk";
import { formatBytes, formatMoney, formatTime } from "../../components/ui.tsx";

function duration(from: number | null | undefined, to: number | null | undefined): string {
  if (!from || !to) return "—";
  const s = Math.max(0, to - from);
  return s < 60 ? `${s.toFixed(1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
}

export function RequestEcho({ task }: { task: Task }) {
  return (
    <section className="panel" aria-labelledby="request-heading">
      <h2 id="request-heading">Request</h2>
      <dl className="facts">
        <dt>Model</dt>
        <dd>{task.model}</dd>
        <dt>Prompt</dt>
        <dd>{task.prompt || <span className="muted">(none)</span>}</dd>
        <dt>Seconds</dt>
        <dd>{task.seconds}</dd>
        <dt>Resolution</dt>
        <dd>{task.metadata.resolution}</dd>
        <dt>Ratio</dt>
        <dd>{task.metadata.ratio}</dd>
        {task.provider ? (
          <>
            <dt>Provider</dt>
            <dd>{task.provider}</dd>
          </>
        ) : null}
      </dl>
      <details>
        <summary>Metadata</summary>
        <pre className="task-metadata">{JSON.stringify(task.metadata, null, 2)}</pre>
      </details>
    </section>
  );
}

export function Timings({ task }: { task: Task }) {
  return (
    <section className="panel" aria-labelledby="timings-heading">
      <h2 id="timings-heading">Timings</h2>
      <dl className="facts">
        <dt>Created</dt>
        <dd>{formatTime(task.created_at)}</dd>
        <dt>Started</dt>
        <dd>{formatTime(task.started_at)}</dd>
        <dt>Completed</dt>
        <dd>{formatTime(task.completed_at)}</dd>
        <dt>Queued for</dt>
        <dd>{duration(task.created_at, task.started_at)}</dd>
        <dt>Ran for</dt>
        <dd>{duration(task.started_at, task.completed_at)}</dd>
        <dt>Total</dt>
        <dd>{duration(task.created_at, task.completed_at)}</dd>
        {task.expires_at ? (
          <>
            <dt>Video expires</dt>
            <dd>{formatTime(task.expires_at)}</dd>
          </>
        ) : null}
      </dl>
    </section>
  );
}

export function UsageFacts({ task }: { task: Task }) {
  return (
    <section className="panel" aria-labelledby="usage-heading">
      <h2 id="usage-heading">Usage</h2>
      {task.usage ? (
        <dl className="facts">
          <dt>Billed seconds</dt>
          <dd>{task.usage.seconds}</dd>
          <dt>Billed resolution</dt>
          <dd>{task.usage.resolution}</dd>
          <dt>Cost</dt>
          <dd data-cost={task.usage.cost}>{formatMoney(task.usage.cost, task.usage.currency)}</dd>
        </dl>
      ) : (
        <p className="muted">No usage yet: it is known once the task finishes.</p>
      )}
    </section>
  );
}

export function VideoResult({ task }: { task: Task }) {
  if (!task.url) return null;
  const video = task.video;
  return (
    <section className="panel" aria-labelledby="video-heading">
      <h2 id="video-heading">Video</h2>
      {/* biome-ignore lint/a11y/useMediaCaption: generated videos have no caption track */}
      <video
        controls
        preload="metadata"
        src={task.url}
        poster={task.thumbnail_url}
        aria-label="Generated video"
      />
      <div className="task-video-links">
        <a href={task.url} download={`${task.id}.mp4`}>
          Download
        </a>
        {task.last_frame_url ? <a href={task.last_frame_url}>Last frame</a> : null}
      </div>
      {video ? (
        <dl className="facts">
          <dt>Size</dt>
          <dd>
            {video.width}×{video.height}, {video.fps} fps
          </dd>
          <dt>Duration</dt>
          <dd>{video.duration.toFixed(2)} s</dd>
          <dt>Audio</dt>
          <dd>{video.has_audio ? "yes" : "no"}</dd>
          <dt>File</dt>
          <dd>{formatBytes(video.bytes)}</dd>
        </dl>
      ) : null}
    </section>
  );
}
