/**
 * The four gateway processes, each kept alive the way systemd or Kubernetes would: one that dies is
 * started again a second later with the same settings (its own port and data dir). The harness
 * marks every kill it makes before making it, so any other exit is the gateway's own doing and is
 * recorded with the tail of that process's log. Every incarnation logs to its own file.
 */
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { type ServerProcess, spawnServer } from "../../test/helpers/process.ts";
import type { ProcessName } from "./schedule.ts";

export interface ExitRecord {
  name: ProcessName;
  pid: number;
  /** ms since the load started (negative: before it). */
  at: number;
  code: number | string;
  /** "running": died after it was ready; "starting": never became ready. */
  phase: "running" | "starting";
  log: string;
  tail: string;
}

const READY_TIMEOUT_MS = 60_000;

function tail(text: string, lines = 15): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export class Supervised {
  state: "down" | "starting" | "up" | "stopped" = "down";
  current?: ServerProcess;
  incarnation = 0;
  readonly logs: string[] = [];
  #killing = false;
  #stopping = false;
  #starting?: Promise<void>;
  #log?: WriteStream;
  #logText = "";

  constructor(
    readonly name: ProcessName,
    readonly command: "serve" | "worker",
    readonly env: Record<string, string>,
    readonly logDir: string,
    readonly clock: () => number,
    /** Every exit the harness did not cause (including a start that exited before ready). */
    readonly onUnexpectedExit: (exit: ExitRecord) => void,
    readonly note: (text: string) => void,
  ) {}

  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  /** Start, and keep trying (as a supervisor does, backing off to 5 s) until it is ready or stopped. */
  start(): Promise<void> {
    // A restart racing another (an exit of its own just before a chaos kill) must not start a second
    // process on the same port.
    if (this.state === "up" || this.#stopping) return Promise.resolve();
    this.#starting ??= this.#startLoop().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #startLoop(): Promise<void> {
    for (let attempt = 1; !this.#stopping; attempt++) {
      if (await this.#startOnce()) return;
      await sleep(Math.min(5_000, 1_000 * attempt));
    }
  }

  async #startOnce(): Promise<boolean> {
    this.state = "starting";
    this.incarnation++;
    const path = join(this.logDir, `${this.name}.${this.incarnation}.log`);
    this.logs.push(path);
    let proc: ServerProcess;
    try {
      proc = await spawnServer(this.env, READY_TIMEOUT_MS, this.command);
    } catch (error) {
      // spawnServer puts the child's whole output in its message.
      const message = (error as Error).message;
      createWriteStream(path).end(message);
      this.state = "down";
      if (this.#stopping) return false;
      this.onUnexpectedExit({
        name: this.name,
        pid: -1,
        at: this.clock(),
        // "did not become ready" means spawnServer SIGKILLed it after 60 s: still not our chaos.
        code: message.startsWith("server did not become ready")
          ? "not ready in 60 s"
          : "exited while starting",
        phase: "starting",
        log: path,
        tail: tail(message),
      });
      return false;
    }
    // Synchronously after the await: no output can arrive between copying what spawnServer kept and
    // attaching our own listeners, so the file holds every line.
    const log = createWriteStream(path);
    this.#logText = proc.output();
    log.write(this.#logText);
    const keep = (chunk: Buffer) => {
      log.write(chunk);
      // Only the tail is ever shown; bound what is kept of a long run's log.
      this.#logText = (this.#logText + chunk.toString()).slice(-20_000);
    };
    proc.child.stdout?.on("data", keep);
    proc.child.stderr?.on("data", keep);
    this.#log = log;
    this.current = proc;
    this.state = "up";
    this.#killing = false;
    this.note(`${this.name} up (pid ${proc.child.pid}, log ${path})`);
    // spawnServer's own promise was attached at spawn: an exit before this line is not missed.
    void proc.exited.then((code) => this.#exited(proc, code, path));
    if (this.#stopping) await this.#terminate();
    return true;
  }

  #exited(proc: ServerProcess, code: number | string, path: string): void {
    if (this.current !== proc) return;
    this.current = undefined;
    this.#log?.end();
    this.#log = undefined;
    const expected = this.#killing || this.#stopping;
    this.state = this.#stopping ? "stopped" : "down";
    if (expected) return;
    this.onUnexpectedExit({
      name: this.name,
      pid: proc.child.pid ?? -1,
      at: this.clock(),
      code,
      phase: "running",
      log: path,
      tail: tail(this.#logText),
    });
    // A supervisor restarts whatever died, whatever the reason.
    void sleep(1_000).then(() => (this.#stopping ? undefined : this.start()));
  }

  /**
   * The chaos kill: SIGKILL, wait for the exit, restart after `restartAfterMs`. Only a process that
   * is up can be killed (one still starting has no child handle yet); returns what was done.
   */
  async kill(restartAfterMs: number): Promise<string> {
    const proc = this.current;
    if (this.state !== "up" || !proc) return `skipped: ${this.name} is ${this.state}`;
    this.#killing = true;
    const pid = proc.child.pid;
    proc.child.kill("SIGKILL");
    await proc.exited;
    void sleep(restartAfterMs).then(() => (this.#stopping ? undefined : this.start()));
    return `killed pid ${pid}`;
  }

  async #terminate(): Promise<void> {
    const proc = this.current;
    if (!proc) return;
    proc.child.kill("SIGTERM");
    const timer = setTimeout(() => proc.child.kill("SIGKILL"), 15_000);
    await proc.exited;
    clearTimeout(timer);
  }

  /** SIGTERM (SIGKILL after 15 s), including a process that finishes starting meanwhile. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#terminate();
    await this.#starting?.catch(() => {});
    await this.#terminate();
    this.state = "stopped";
  }

  /** Last resort on an abrupt harness exit: must be synchronous. */
  killNow(): void {
    this.#stopping = true;
    this.current?.child.kill("SIGKILL");
  }
}

export function processEnv(
  base: Record<string, string>,
  name: ProcessName,
): { command: "serve" | "worker"; env: Record<string, string> } {
  return name.startsWith("api")
    ? { command: "serve", env: { ...base, VIDRELAY_WORKERS: "false" } }
    : { command: "worker", env: base };
}
