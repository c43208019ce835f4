import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { openScratch, sweepScratch } from "../../src/jobs/scratch.ts";

const host = hostname().replace(/[^A-Za-z0-9.-]/g, "_");

/** The pid of a process that has certainly exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((resolve) => child.on("exit", resolve));
  return child.pid!;
}

describe("job scratch folders", () => {
  const roots: string[] = [];
  after(async () => {
    for (const root of roots) await rm(root, { recursive: true, force: true });
  });
  const dataDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), "vidrelay-scratch-"));
    roots.push(dir);
    return dir;
  };

  test("a process gets its own folder under work/, named for its host and pid, removed on a clean stop", async () => {
    const dir = await dataDir();
    const scratch = await openScratch(dir);
    assert.match(scratch.dir, new RegExp(`/work/${host.replace(/\./g, "\\.")}~${process.pid}~[0-9a-f]{8}$`));
    await writeFile(join(scratch.dir, "video.mp4"), "x");
    const other = await openScratch(dir);
    assert.notEqual(other.dir, scratch.dir, "two queues in one process get two folders");
    assert.deepEqual((await readdir(join(dir, "work"))).length, 2, "a live process's folder is kept");
    await scratch.remove();
    await other.remove();
    assert.deepEqual(await readdir(join(dir, "work")), []);
  });

  test("folders of dead processes on this host are swept; live ones, other hosts' and the caller's own are kept", async () => {
    const dir = await dataDir();
    const root = join(dir, "work");
    const dead = await deadPid();
    const names = {
      dead: `${host}~${dead}~0badf00d`,
      live: `${host}~${process.ppid}~00000001`,
      predecessor: `${host}~${process.pid}~00000002`,
      mine: `${host}~${process.pid}~00000003`,
      otherHost: `some-other-host~${dead}~00000004`,
      legacyOld: "task_abc-1",
      legacyNew: "ingest-task_def-1",
    };
    for (const name of Object.values(names)) {
      await mkdir(join(root, name), { recursive: true });
      await writeFile(join(root, name, "frame.png"), "x");
    }
    const old = new Date(Date.now() - 7 * 60 * 60_000);
    await utimes(join(root, names.legacyOld), old, old);

    const removed = await sweepScratch(root, join(root, names.mine));
    assert.deepEqual(removed.sort(), [names.dead, names.legacyOld, names.predecessor].sort());
    assert.deepEqual(
      (await readdir(root)).sort(),
      [names.legacyNew, names.live, names.mine, names.otherHost].sort(),
    );
  });

  test("opening a scratch sweeps first: a killed predecessor's media are gone once its successor starts", async () => {
    const dir = await dataDir();
    const dead = await deadPid();
    const leftover = join(dir, "work", `${host}~${dead}~deadbeef`, "ingest-task_x-1");
    await mkdir(leftover, { recursive: true });
    await writeFile(join(leftover, "video.mp4"), "x");
    const scratch = await openScratch(dir);
    assert.deepEqual(await readdir(join(dir, "work")), [scratch.dir.split("/").pop()]);
    await scratch.remove();
  });

  test("a missing work folder is no error", async () => {
    assert.deepEqual(await sweepScratch(join(await dataDir(), "nope")), []);
  });
});
