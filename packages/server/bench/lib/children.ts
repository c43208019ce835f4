import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const BENCH_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
export const SERVER_DIR = dirname(BENCH_DIR);

export interface Child {
  name: string;
  pid: number;
  url: string;
  /** Send `{type, ...payload}` over IPC and wait for the child's `{type: "<type>:done"}`. */
  call(type: string, payload?: Record<string, unknown>): Promise<void>;
  /** SIGTERM, wait for a clean exit (SIGKILL after 15 s). */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
// Whatever happens to the bench, no server is left behind.
process.on("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    for (const child of live) child.kill("SIGKILL");
    process.exit(130);
  });
}

/**
 * Start `bench/<script>` under `node --import tsx` with `config` in BENCH_CHILD_CONFIG and wait for the
 * `{"url":…}` line it prints once it listens.
 */
export async function startChild(
  name: string,
  script: string,
  config: unknown,
  nodeArgs: string[] = [],
): Promise<Child> {
  const proc = spawn(process.execPath, ["--import", "tsx", ...nodeArgs, join(BENCH_DIR, script)], {
    cwd: SERVER_DIR,
    env: { ...process.env, BENCH_CHILD_CONFIG: JSON.stringify(config) },
    stdio: ["ignore", "pipe", "inherit", "ipc"],
  });
  live.add(proc);
  const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
  exited.then(() => live.delete(proc));
  const ready = await new Promise<{ url: string; pid: number }>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 60 s`)), 60_000);
    proc.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line) as { url: string; pid: number });
      }
    });
    proc.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code ?? signal} before listening`));
    });
  });
  return {
    name,
    pid: ready.pid,
    url: ready.url,
    call(type, payload = {}) {
      return new Promise((resolve, reject) => {
        const onMessage = (message: { type?: string; error?: string }) => {
          if (message?.type !== `${type}:done`) return;
          proc.off("message", onMessage);
          if (message.error) reject(new Error(`${name}: ${type}: ${message.error}`));
          else resolve();
        };
        proc.on("message", onMessage);
        proc.send({ type, ...payload });
      });
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** User + system CPU seconds of a process so far (all its threads), from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the command name (which is in parentheses and may contain spaces); utime and stime
  // are fields 14 and 15 of the whole line, in clock ticks (USER_HZ, 100 on Linux).
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** VmRSS and VmHWM (peak RSS) of a process, in bytes. */
export function memory(pid: number): { rss: number; hwm: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/**
 * Reset VmHWM to the current RSS (`echo 5 > /proc/<pid>/clear_refs`, Linux ≥ 4.0), so the next read
 * of VmHWM is the peak since now. False when the kernel or permissions do not allow it.
 */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * Busy CPU seconds of the whole machine so far (all CPUs; user, nice and system time, which is what the
 * processes' own utime/stime add up to; interrupts are left out), from /proc/stat.
 */
export function machineBusySeconds(): number {
  const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!;
  const [user = 0, nice = 0, system = 0] = line.trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system) / 100;
}
