import { randomBytes } from "node:crypto";
import { mkdir, readdir, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";

/**
 * Each process keeps its job scratch files (downloaded inputs, frames, a provider's video before it
 * goes to storage) under `<dataDir>/work/<host>~<pid>~<nonce>/`. A process killed with SIGKILL
 * cannot clean up after itself, so every process, when it starts, removes the folders of processes
 * on this host that are no longer running — a supervisor's restart leaves no media behind.
 */
export interface Scratch {
  /** This process's own folder; job handlers make their per-job folders inside it. */
  readonly dir: string;
  /** Remove this process's folder (a clean stop). */
  remove(): Promise<void>;
}

/** The folders this process has open (two servers in one process may share a data dir). */
const openHere = new Set<string>();

const OWNED = /^(.+)~(\d+)~[0-9a-f]+$/;
/** Folders of an older layout (no owner in the name) are removed once no job could still use them. */
const UNOWNED_AFTER_MS = 6 * 60 * 60_000;

export async function openScratch(dataDir: string): Promise<Scratch> {
  const root = join(dataDir, "work");
  await mkdir(root, { recursive: true });
  await sweepScratch(root);
  const dir = join(root, `${hostTag()}~${process.pid}~${randomBytes(4).toString("hex")}`);
  await mkdir(dir, { recursive: true });
  openHere.add(dir);
  return {
    dir,
    async remove() {
      openHere.delete(dir);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Remove the scratch folders whose process is gone; returns the names removed. A folder with our
 * own pid that this process did not open is a predecessor's (in a container every process is pid 1
 * again after a restart); `keep` is one more folder to leave alone.
 */
export async function sweepScratch(root: string, keep?: string, now = Date.now()): Promise<string[]> {
  const host = hostTag();
  const removed: string[] = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    if (join(root, name) === keep || openHere.has(join(root, name))) continue;
    const owned = OWNED.exec(name);
    let stale: boolean;
    if (owned) {
      // Another host's folder (a shared data dir) is that host's to sweep: we cannot see its processes.
      const pid = Number(owned[2]);
      stale = owned[1] === host && (pid === process.pid || !processAlive(pid));
    } else {
      const info = await stat(join(root, name)).catch(() => undefined);
      stale = info !== undefined && now - info.mtimeMs > UNOWNED_AFTER_MS;
    }
    if (stale) {
      await rm(join(root, name), { recursive: true, force: true });
      removed.push(name);
    }
  }
  return removed;
}

function hostTag(): string {
  return hostname().replace(/[^A-Za-z0-9.-]/g, "_");
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to another user — alive.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Remove entries of `<data dir>/tmp` (uploads being received, spooled data: URLs, thumbnails being
 * made) older than `olderThanMs`: a live one is bounded by the request timeout, so an old one is
 * what a killed process left behind. Returns how many went.
 */
export async function sweepTmp(dir: string, olderThanMs: number, now = Date.now()): Promise<number> {
  let removed = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const info = await stat(join(dir, name)).catch(() => undefined);
    if (info && now - info.mtimeMs > olderThanMs) {
      await rm(join(dir, name), { recursive: true, force: true });
      removed++;
    }
  }
  return removed;
}
