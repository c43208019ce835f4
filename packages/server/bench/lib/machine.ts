import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism, release, totalmem } from "node:os";

export interface Machine {
  date: string;
  cpu: string;
  cores: number;
  ramGiB: number;
  os: string;
  node: string;
  commit: string;
}

function git(args: string[], cwd: string): string {
  try {
    return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "";
  }
}

export function describeMachine(repoDir: string): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const cpu = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? "unknown";
  let os = `Linux ${release()}`;
  try {
    const pretty = /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1];
    if (pretty) os = `${pretty}, kernel ${release()}`;
  } catch {
    // no os-release: the kernel alone
  }
  const commit = git(["rev-parse", "--short", "HEAD"], repoDir) || "unknown";
  const dirty = git(["status", "--porcelain", "--untracked-files=no"], repoDir) !== "";
  return {
    date: new Date().toISOString(),
    cpu,
    cores: availableParallelism(),
    ramGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os,
    node: process.version,
    commit: dirty ? `${commit} (with uncommitted changes)` : commit,
  };
}
