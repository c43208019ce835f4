/**
 * Follow one task until it finishes: its event stream (`client.videos.events`), and if the stream
 * is unavailable or ends early, polling `client.videos.get` every 2 s instead.
 */
import type { Task, VidRelay } from "@vidrelay/sdk";
import { useEffect, useState } from "react";

const POLL_MS = 2000;
const isTerminal = (task: Task) => task.status === "succeeded" || task.status === "failed";

export function useTaskUpdates(
  client: VidRelay,
  taskId: string,
): { task: Task | undefined; error: unknown; transport: "events" | "polling" } {
  const [task, setTask] = useState<Task | undefined>();
  const [error, setError] = useState<unknown>();
  const [transport, setTransport] = useState<"events" | "polling">("events");

  useEffect(() => {
    const controller = new AbortController();
    const { signal } = controller;
    setTask(undefined);
    setError(undefined);
    setTransport("events");
    (async () => {
      let last: Task | undefined;
      try {
        for await (const t of client.videos.events(taskId, { signal })) {
          last = t;
          setTask(t);
        }
      } catch {
        // No stream (a proxy that buffers, an older gateway…): polling below takes over.
      }
      if (signal.aborted || (last && isTerminal(last))) return;
      setTransport("polling");
      while (!signal.aborted) {
        try {
          last = await client.videos.get(taskId, { signal });
          setTask(last);
          setError(undefined);
          if (isTerminal(last)) return;
        } catch (e) {
          if (signal.aborted) return;
          setError(e);
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    })();
    return () => controller.abort();
  }, [client, taskId]);

  return { task, error, transport };
}
