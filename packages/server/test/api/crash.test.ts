import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import SQLite from "better-sqlite3";
import { sample } from "../helpers/paths.ts";
import { freePort, type ServerProcess, spawnServer } from "../helpers/process.ts";

const KEY = `sk-crash${"C".repeat(40)}`;

describe("an accepted task is never lost", () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  test("SIGKILL with tasks queued and running; after restart every task succeeds exactly once", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-crash-"));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const port = await freePort();
    const env = {
      VIDRELAY_PORT: String(port),
      VIDRELAY_DATA_DIR: dataDir,
      VIDRELAY_BOOTSTRAP_KEY: KEY,
      VIDRELAY_RENDER_CONCURRENCY: "1",
      VIDRELAY_JOB_LEASE_SECONDS: "2",
      VIDRELAY_LOG_LEVEL: "warn",
    };
    const base = `http://127.0.0.1:${port}`;
    const auth = { authorization: `Bearer ${KEY}` };

    let server: ServerProcess = await spawnServer(env);
    cleanup.push(async () => server.child.kill("SIGKILL"));

    const form = new FormData();
    form.append("file", new Blob([await readFile(sample("landscape-600x450.jpg"))]), "landscape.jpg");
    const file = (await (
      await fetch(`${base}/v1/files`, { method: "POST", body: form, headers: auth })
    ).json()) as {
      url: string;
    };
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await fetch(`${base}/v1/video/generations`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          model: "seedance-1-5-pro-with-audio",
          prompt: `@image1 shot ${i}`,
          seconds: "4",
          metadata: {
            resolution: "720p",
            ratio: "16:9",
            content: [{ type: "image_url", image_url: { url: file.url }, role: "first_frame" }],
          },
        }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      ids.push(((await res.json()) as { task_id: string }).task_id);
    }

    // Wait until one task is mid-render (running with some progress), then kill -9.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const task = (await (
        await fetch(`${base}/v1/video/generations/${ids[0]}`, { headers: auth })
      ).json()) as {
        status: string;
        progress: number;
      };
      if (task.status === "running") break;
      assert.notEqual(
        task.status,
        "succeeded",
        "the first task finished before the kill; the test needs it running",
      );
      assert.ok(Date.now() < deadline, "the first task never started running");
      await new Promise((r) => setTimeout(r, 50));
    }
    server.child.kill("SIGKILL");
    assert.equal(await server.exited, "SIGKILL");

    const statusesAtKill = readTasks(dataDir, ids);
    assert.ok(
      statusesAtKill.some((t) => t.status === "running"),
      "a task was running at the kill",
    );
    assert.ok(
      statusesAtKill.some((t) => t.status === "submitted"),
      "tasks were queued at the kill",
    );

    server = await spawnServer(env);
    const finishDeadline = Date.now() + 90_000;
    for (;;) {
      const rows = readTasks(dataDir, ids);
      if (rows.every((r) => r.status === "succeeded" || r.status === "failed")) break;
      assert.ok(Date.now() < finishDeadline, `tasks still not finished: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
    for (const id of ids) {
      const task = (await (await fetch(`${base}/v1/video/generations/${id}`, { headers: auth })).json()) as {
        status: string;
        url: string;
        error?: unknown;
      };
      assert.equal(task.status, "succeeded", JSON.stringify(task.error));
      const video = await fetch(task.url);
      assert.equal(video.status, 200);
      assert.ok((await video.arrayBuffer()).byteLength > 10_000);
    }
    // Exactly once: one render job per task, each done; nothing dead or duplicated.
    const db = new SQLite(join(dataDir, "vidrelay.db"), { readonly: true });
    const jobs = db.prepare("select task_id, status from jobs order by task_id").all() as Array<{
      task_id: string;
      status: string;
    }>;
    db.close();
    assert.deepEqual(jobs.map((j) => j.task_id).sort(), [...ids].sort(), "one job per task");
    assert.ok(
      jobs.every((j) => j.status === "done"),
      JSON.stringify(jobs),
    );

    server.child.kill("SIGTERM");
    assert.equal(await server.exited, 0, "graceful shutdown exits 0");
  });
});

function readTasks(dataDir: string, ids: string[]): Array<{ id: string; status: string }> {
  const db = new SQLite(join(dataDir, "vidrelay.db"), { readonly: true, fileMustExist: true });
  try {
    const rows = db.prepare(`select id, status from tasks`).all() as Array<{ id: string; status: string }>;
    return rows.filter((r) => ids.includes(r.id));
  } finally {
    db.close();
  }
}
