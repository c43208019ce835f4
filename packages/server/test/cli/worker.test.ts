/**
 * The process roles as an operator runs them: `vidrelay serve` stops by itself on SIGTERM (it used
 * to wait for a SIGKILL: idle render threads kept it alive), and an API tier with
 * VIDRELAY_WORKERS=false hands its jobs to a separate `vidrelay worker` process, which serves only
 * the operations routes.
 */
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { sample } from "../helpers/paths.ts";
import { freePort, type ServerProcess, spawnServer } from "../helpers/process.ts";

const KEY = `sk-worker${"W".repeat(40)}`;
const auth = { authorization: `Bearer ${KEY}` };

async function exitsWithin(server: ServerProcess, ms: number): Promise<number | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("still running"), ms);
  });
  try {
    return await Promise.race([server.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The banner is printed after /readyz first answers: wait for it rather than race it. */
async function printed(server: ServerProcess, pattern: RegExp, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pattern.test(server.output())) {
    assert.ok(Date.now() < deadline, `never printed ${pattern}: ${JSON.stringify(server.output())}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("process roles", () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  after(async () => {
    for (const fn of cleanup.reverse()) await fn();
  });

  async function dataDir(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), "vidrelay-roles-"));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    return dir;
  }

  test("an idle `vidrelay serve` exits 0 soon after SIGTERM, saying so", async () => {
    const env = {
      VIDRELAY_PORT: String(await freePort()),
      VIDRELAY_DATA_DIR: await dataDir(),
      VIDRELAY_BOOTSTRAP_KEY: KEY,
      VIDRELAY_LOG_LEVEL: "warn",
    };
    const server = await spawnServer(env);
    cleanup.push(async () => server.child.kill("SIGKILL"));
    // Let the render threads finish booting: an idle pool must not hold the process either.
    await new Promise((r) => setTimeout(r, 1500));
    server.child.kill("SIGTERM");
    assert.equal(await exitsWithin(server, 8000), 0, server.output());
    assert.match(server.output(), /SIGTERM received/);
    assert.match(server.output(), /vidrelay: stopped/);
  });

  test("an API tier without workers and a `vidrelay worker`: the worker renders, serves only ops routes, stops on SIGTERM", async () => {
    const dir = await dataDir();
    const apiPort = await freePort();
    const workerPort = await freePort();
    const common = { VIDRELAY_DATA_DIR: dir, VIDRELAY_BOOTSTRAP_KEY: KEY, VIDRELAY_LOG_LEVEL: "warn" };
    const api = await spawnServer({ ...common, VIDRELAY_PORT: String(apiPort), VIDRELAY_WORKERS: "false" });
    cleanup.push(async () => api.child.kill("SIGKILL"));
    await printed(api, /jobs: +none here/);
    const base = `http://127.0.0.1:${apiPort}`;

    const form = new FormData();
    form.append("file", new Blob([await readFile(sample("landscape-600x450.jpg"))]), "landscape.jpg");
    const upload = await fetch(`${base}/v1/files`, { method: "POST", body: form, headers: auth });
    assert.equal(upload.status, 200, await upload.clone().text());
    const file = (await upload.json()) as { url: string };
    const submitted = await fetch(`${base}/v1/video/generations`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: JSON.stringify({
        model: "seedance-1-5-pro-with-audio",
        prompt: "@image1 slow push-in",
        seconds: "4",
        metadata: {
          resolution: "480p",
          ratio: "16:9",
          content: [{ type: "image_url", image_url: { url: file.url }, role: "first_frame" }],
        },
      }),
    });
    assert.equal(submitted.status, 200, await submitted.clone().text());
    const { task_id } = (await submitted.json()) as { task_id: string };
    const poll = async () =>
      (await (await fetch(`${base}/v1/video/generations/${task_id}`, { headers: auth })).json()) as {
        status: string;
        url?: string;
        error?: unknown;
      };

    // Nobody runs jobs yet: the task waits, accepted and queued.
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await poll()).status, "submitted");

    const worker = await spawnServer({ ...common, VIDRELAY_PORT: String(workerPort) }, 30_000, "worker");
    cleanup.push(async () => worker.child.kill("SIGKILL"));
    await printed(worker, /worker running render, deliver, dispatch, ingest/);
    const ops = `http://127.0.0.1:${workerPort}`;
    assert.equal((await fetch(`${ops}/healthz`)).status, 200);
    assert.equal((await fetch(`${ops}/readyz`)).status, 200);
    for (const path of ["/v1/models", "/docs", "/openapi.json", "/v1/video/generations"]) {
      assert.equal(
        (await fetch(`${ops}${path}`, { headers: auth })).status,
        404,
        `${path} is not served by a worker`,
      );
    }

    const deadline = Date.now() + 90_000;
    let task = await poll();
    while (task.status !== "succeeded" && task.status !== "failed") {
      assert.ok(Date.now() < deadline, `the worker never finished the task: ${JSON.stringify(task)}`);
      await new Promise((r) => setTimeout(r, 200));
      task = await poll();
    }
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    const video = await fetch(task.url!);
    assert.equal(video.status, 200);
    assert.ok((await video.arrayBuffer()).byteLength > 10_000);

    const metrics = await (
      await fetch(`${ops}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })
    ).text();
    assert.match(
      metrics,
      /vidrelay_tasks_finished_total\{status="succeeded",model="seedance-1-5-pro-with-audio",provider="local"\} 1/,
    );

    worker.child.kill("SIGTERM");
    assert.equal(await exitsWithin(worker, 8000), 0, worker.output());
    api.child.kill("SIGTERM");
    assert.equal(await exitsWithin(api, 8000), 0, api.output());
  });

  test("a busy `vidrelay worker` exits within its grace period after one SIGTERM; a render it could not finish is handed back and done by the next worker", async () => {
    const dir = await dataDir();
    const apiPort = await freePort();
    const common = { VIDRELAY_DATA_DIR: dir, VIDRELAY_BOOTSTRAP_KEY: KEY, VIDRELAY_LOG_LEVEL: "warn" };
    const api = await spawnServer({ ...common, VIDRELAY_PORT: String(apiPort), VIDRELAY_WORKERS: "false" });
    cleanup.push(async () => api.child.kill("SIGKILL"));
    const base = `http://127.0.0.1:${apiPort}`;
    const submit = async (seconds: string, resolution: string) => {
      const res = await fetch(`${base}/v1/video/generations`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          model: "seedance-1-5-pro-no-audio",
          prompt: "a long slow pan",
          seconds,
          metadata: { resolution },
        }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { task_id: string }).task_id;
    };
    // One render longer than the 10 s grace period, one short enough to finish within it.
    const long = await submit("12", "1080p");
    const poll = async (id: string) =>
      (await (await fetch(`${base}/v1/video/generations/${id}`, { headers: auth })).json()) as {
        status: string;
        error?: unknown;
      };
    const first = await spawnServer({ ...common, VIDRELAY_PORT: String(await freePort()) }, 30_000, "worker");
    cleanup.push(async () => first.child.kill("SIGKILL"));
    const runningBy = Date.now() + 30_000;
    while ((await poll(long)).status !== "running") {
      assert.ok(Date.now() < runningBy, "the render never started");
      await new Promise((r) => setTimeout(r, 100));
    }
    const signalled = Date.now();
    first.child.kill("SIGTERM");
    assert.equal(await exitsWithin(first, 15_000), 0, first.output());
    const tookMs = Date.now() - signalled;
    assert.ok(tookMs < 13_000, `stopped within the 10 s grace (+ shutdown): ${tookMs} ms`);
    assert.match(first.output(), /vidrelay: stopped/);
    const afterStop = await poll(long);
    assert.ok(
      afterStop.status === "running" || afterStop.status === "submitted",
      `the unfinished render was handed back, not failed: ${JSON.stringify(afterStop)}`,
    );

    const second = await spawnServer(
      { ...common, VIDRELAY_PORT: String(await freePort()) },
      30_000,
      "worker",
    );
    cleanup.push(async () => second.child.kill("SIGKILL"));
    const doneBy = Date.now() + 120_000;
    let task = await poll(long);
    while (task.status !== "succeeded" && task.status !== "failed") {
      assert.ok(Date.now() < doneBy, `the handed-back render never finished: ${JSON.stringify(task)}`);
      await new Promise((r) => setTimeout(r, 250));
      task = await poll(long);
    }
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));

    // A short render in flight when SIGTERM arrives is finished, not handed back.
    const short = await submit("4", "480p");
    const startedBy = Date.now() + 30_000;
    while ((await poll(short)).status === "submitted") {
      assert.ok(Date.now() < startedBy, "the short render never started");
      await new Promise((r) => setTimeout(r, 50));
    }
    second.child.kill("SIGTERM");
    assert.equal(await exitsWithin(second, 15_000), 0, second.output());
    assert.equal((await poll(short)).status, "succeeded", "finished within the grace period before exiting");
    api.child.kill("SIGTERM");
    assert.equal(await exitsWithin(api, 8000), 0, api.output());
  });

  test("`vidrelay worker` refuses VIDRELAY_WORKERS=false with a clear message", async () => {
    const { spawnSync } = await import("node:child_process");
    const { CLI } = await import("../helpers/paths.ts");
    const result = spawnSync(process.execPath, [CLI, "worker"], {
      env: {
        ...process.env,
        VIDRELAY_DATA_DIR: await dataDir(),
        VIDRELAY_WORKERS: "false",
        VIDRELAY_PORT: "0",
      },
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.notEqual(result.status, 0);
    assert.match(result.stderr, /VIDRELAY_WORKERS=false: `vidrelay worker` exists to run jobs/);
  });
});
