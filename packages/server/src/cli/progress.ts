import type { Task } from "@vidrelay/sdk";
import { clock, type Io } from "./common.ts";

export type ProgressMode = "tty" | "plain" | "json";

/** Which display fits: JSON lines when asked, a redrawn bar on a terminal, plain lines otherwise. */
export function progressMode(
  json: boolean | undefined,
  stream: NodeJS.WriteStream = process.stderr,
): ProgressMode {
  if (json) return "json";
  return stream.isTTY ? "tty" : "plain";
}

/**
 * Shows a task's progress while waiting for it:
 * - tty: one line redrawn in place with `\r` (bar, percentage, status, elapsed), ticking each second;
 * - plain: one line per change (no spinner), for logs and pipes;
 * - json: one JSON object per change on stdout (`{"event": "progress", "task": …}`).
 */
export class ProgressDisplay {
  private readonly started = Date.now();
  private last: Task | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private drawn = false;

  constructor(
    private readonly mode: ProgressMode,
    private readonly io: Io,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(task: Task): void {
    this.last = task;
    if (this.mode === "json") {
      this.io.out(JSON.stringify({ event: "progress", task }));
    } else if (this.mode === "plain") {
      this.io.err(
        `${task.task_id}  ${task.status.padEnd(9)}  ${String(task.progress).padStart(3)}%  ${clock(this.elapsed())}`,
      );
    } else {
      this.draw();
      if (!this.ticker) {
        this.ticker = setInterval(() => this.draw(), 1000);
        this.ticker.unref();
      }
    }
  }

  /** Stop ticking and leave the cursor on a fresh line. */
  stop(): void {
    if (this.ticker) clearInterval(this.ticker);
    this.ticker = undefined;
    if (this.mode === "tty" && this.drawn) {
      this.draw();
      this.stream.write("\n");
      this.drawn = false;
    }
  }

  elapsed(): number {
    return Date.now() - this.started;
  }

  private draw(): void {
    const task = this.last;
    if (!task) return;
    const columns = this.stream.columns || 80;
    const percent = Math.max(0, Math.min(100, Math.round(task.progress)));
    const tail = ` ${String(percent).padStart(3)}%  ${task.status.padEnd(9)}  ${clock(this.elapsed())}`;
    const width = Math.max(10, Math.min(40, columns - tail.length - 4));
    const filled = Math.round((width * percent) / 100);
    const bar = `[${"#".repeat(filled)}${"-".repeat(width - filled)}]`;
    this.stream.write(`\r\x1b[2K${bar}${tail}`);
    this.drawn = true;
  }
}
