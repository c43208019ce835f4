import type { Task, TaskStatus } from "@vidrelay/sdk";
import { CLIENT_OPTIONS_HELP, EXIT, type Io, intFlag, isoTime, subcommand, UsageError } from "./common.ts";
import { waitAndSave } from "./generate.ts";
import { type Columns, LIST_OPTIONS, listLimit, printList } from "./lists.ts";
import { progressMode } from "./progress.ts";

export const TASKS_HELP = `vidrelay tasks — list, inspect, cancel and wait for video tasks

Usage:
  vidrelay tasks list [--status S] [--model ID] [--limit N | --all]
  vidrelay tasks get TASK_ID
  vidrelay tasks cancel TASK_ID
  vidrelay tasks wait TASK_ID [-o PATH] [--timeout SECONDS]

Options:
  --status S           submitted, running, succeeded or failed (list)
  --model ID           only this model (list)
  --limit N            show at most N tasks, newest first (list; default 20)
  --all                every task (list; pages are fetched as needed)
  -o, --output PATH    download the mp4 here once the task succeeds (wait)
  --timeout SECONDS    stop waiting after this long (wait)

${CLIENT_OPTIONS_HELP}

'tasks wait' shows the same progress as 'vidrelay generate' and exits 1 if the task fails.

Examples:
  vidrelay tasks list --status running
  vidrelay tasks wait task_0123456789abcdefghijklmnopqrstuv -o clip.mp4
`;

const STATUSES: TaskStatus[] = ["submitted", "running", "succeeded", "failed"];

const OPTIONS = {
  ...LIST_OPTIONS,
  status: { type: "string" },
  model: { type: "string" },
  output: { type: "string", short: "o" },
  timeout: { type: "string" },
} as const;

const TASK_COLUMNS: Columns<Task> = {
  TASK: (t) => t.task_id,
  STATUS: (t) => (t.status === "failed" && t.error ? `failed (${t.error.code})` : t.status),
  PROGRESS: (t) => `${t.progress}%`,
  MODEL: (t) => t.model,
  SECONDS: (t) => t.seconds,
  CREATED: (t) => isoTime(t.created_at),
};

export async function tasks(args: string[], io: Io): Promise<number> {
  const command = subcommand(args, io, TASKS_HELP, OPTIONS, ["--help", "-h", "help"]);
  if (typeof command === "number") return command;
  const { sub, values, positionals, client } = command;
  const needId = () => {
    const id = positionals[0];
    if (!id) throw new UsageError(`tasks ${sub} needs a TASK_ID (see 'vidrelay tasks list')`);
    if (positionals.length > 1) throw new UsageError(`tasks ${sub} takes one TASK_ID`);
    return id;
  };
  switch (sub) {
    case "list": {
      if (positionals.length) throw new UsageError("tasks list takes no arguments");
      const status = values.status as TaskStatus | undefined;
      if (status && !STATUSES.includes(status)) {
        throw new UsageError(`--status must be one of ${STATUSES.join(", ")}`);
      }
      const { limit, pageSize } = listLimit(values);
      const list = await client()
        .videos.list({ status, model: values.model, limit: pageSize })
        .toArray(limit);
      return printList(io, list, values.json, TASK_COLUMNS, "no tasks");
    }
    case "get": {
      const task = await client().videos.get(needId());
      if (values.json) io.out(JSON.stringify(task, null, 2));
      else io.out(describeTask(task));
      return EXIT.ok;
    }
    case "cancel": {
      const task = await client().videos.cancel(needId());
      if (values.json) io.out(JSON.stringify(task, null, 2));
      else io.out(`cancelled ${task.task_id}`);
      return EXIT.ok;
    }
    case "wait": {
      const id = needId();
      const timeout = intFlag("timeout", values.timeout, 1);
      return waitAndSave(client(), id, {
        io,
        mode: progressMode(values.json),
        output: values.output,
        timeoutMs: timeout === undefined ? undefined : timeout * 1000,
      });
    }
    default:
      throw new UsageError(`unknown tasks command "${sub}" (list, get, cancel, wait)`);
  }
}

export function describeTask(t: Task): string {
  const rows: [string, string | undefined][] = [
    ["task", t.task_id],
    ["status", t.status === "failed" && t.error ? `failed — ${t.error.code}: ${t.error.message}` : t.status],
    ["progress", `${t.progress}%`],
    ["model", t.model],
    ["prompt", t.prompt || "(none)"],
    ["seconds", t.seconds],
    ["ratio", t.metadata?.ratio],
    ["resolution", t.metadata?.resolution],
    ["audio", t.metadata ? String(t.metadata.generate_audio) : undefined],
    ["created", isoTime(t.created_at)],
    ["completed", t.completed_at ? isoTime(t.completed_at) : undefined],
    [
      "video",
      t.video ? `${t.video.width}x${t.video.height}, ${t.video.duration} s, ${t.video.fps} fps` : undefined,
    ],
    ["url", t.url],
    ["expires", t.expires_at ? isoTime(t.expires_at) : undefined],
  ];
  return rows
    .filter((r): r is [string, string] => r[1] !== undefined)
    .map(([k, v]) => `${k.padEnd(11)}${v}`)
    .join("\n");
}
