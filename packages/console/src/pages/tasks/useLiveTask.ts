/**
 * One task, kept current: read it once, then follow its event stream (`client.videos.events`)
 * until it finishes. If the stream is unavailable or breaks, poll every 2 s instead (while the tab
 * is visible). `setTask` lets an action (cancel) show the state the API answered with.
 */
import { NotFoundError, type Task, type VidRelay } from "@vidrelay/sdk";
import { useCallback, useEffect, useState } from "react";
import { isTerminal, usePageVisible } from "./visibility.ts";

const POLL_MS = 2000;

export interface LiveTask {
  task: Task | undefined;
  error: unknown;
  notFound: boolean;
  setTask(task: Task): void;
  reload(): void;
}

export function useLiveTask(client: VidRelay, taskId: string): LiveTask {
  const [task, setTaskState] = useState<Task | undefined>();
  const [error, setError] = useState<unknown>();
  const [tick, setTick] = useState(0);
  const [streamBroken, setStreamBroken] = useState(false);
  const visible = usePageVisible();

  // A newer task object never gets replaced by an older answer (events and GETs can cross).
  const setTask = useCallback((next: Task) => {
    setTaskState((current) => {
      if (current && current.id === next.id && isTerminal(current.status) && !isTerminal(next.status))
        return current;
      return next;
    });
    setError(undefined);
  }, []);

  // biome-ignore lint/correctness/useExhaustiveDependencies: another task id starts from nothing
  useEffect(() => {
    setTaskState(undefined);
    setError(undefined);
    setStreamBroken(false);
  }, [taskId]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: tick asks for a fresh read
  useEffect(() => {
    const controller = new AbortController();
    client.videos.get(taskId, { signal: controller.signal }).then(
      (t) => !controller.signal.aborted && setTask(t),
      (e: unknown) => !controller.signal.aborted && setError(e),
    );
    return () => controller.abort();
  }, [client, taskId, tick, setTask]);

  const status = task?.status;
  const live = status !== undefined && !isTerminal(status);

  useEffect(() => {
    if (!live || streamBroken) return;
    const controller = new AbortController();
    (async () => {
      let last: Task | undefined;
      try {
        for await (const t of client.videos.events(taskId, { signal: controller.signal })) {
          last = t;
          setTask(t);
        }
        // The stream ended before the task did (a proxy cut it): poll from here on.
        if (!controller.signal.aborted && (!last || !isTerminal(last.status))) setStreamBroken(true);
      } catch {
        if (!controller.signal.aborted) setStreamBroken(true);
      }
    })();
    return () => controller.abort();
  }, [client, taskId, live, streamBroken, setTask]);

  useEffect(() => {
    if (!live || !streamBroken || !visible) return;
    const id = window.setInterval(() => setTick((t) => t + 1), POLL_MS);
    return () => window.clearInterval(id);
  }, [live, streamBroken, visible]);

  return {
    task,
    error,
    notFound: error instanceof NotFoundError,
    setTask,
    reload: useCallback(() => setTick((t) => t + 1), []),
  };
}
