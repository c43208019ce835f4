/**
 * A finished task's poster frame, small, for the Tasks table. The JPEG is the task's
 * `thumbnail_url` (the gateway makes it on first request and keeps it), loaded lazily: only the rows
 * scrolled into view ask for theirs. Unfinished and failed tasks, and a poster that does not load
 * (expired media), show an empty frame of the same size so the rows stay aligned.
 */
import type { Task } from "@vidrelay/sdk";
import { useState } from "react";

export function TaskThumbnail({ task }: { task: Task }) {
  const [broken, setBroken] = useState<string | null>(null);
  const src = task.status === "succeeded" ? task.thumbnail_url : undefined;
  if (!src || broken === src) return <span className="task-thumb task-thumb-empty" aria-hidden="true" />;
  return (
    <img
      className="task-thumb"
      src={src}
      alt=""
      width={80}
      height={45}
      loading="lazy"
      decoding="async"
      onError={() => setBroken(src)}
    />
  );
}
