/**
 * The cluster recipe of docs/deployment.md, as processes: one API process (VIDRELAY_WORKERS=false)
 * and two `vidrelay worker` processes on one Postgres store with pg-boss jobs and a real S3 API
 * (s3rver). Twelve tasks cite one uploaded image, half rendered by the local engine and half relayed
 * to an Ark double, all with callbacks; a worker is SIGKILLed in the middle of a render. Every task
 * must succeed exactly once, every webhook arrive, every `url` download from the API process, and
 * no media file may be left on any process's disk.
 */
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import pg from "pg";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { freshPostgres, POSTGRES_URL, type TestDatabase } from "../helpers/databases.ts";
import { sample } from "../helpers/paths.ts";
import { freePort, type ServerProcess, spawnServer } from "../helpers/process.ts";
import { startReceiver } from "../helpers/receiver.ts";
import { startTestBucket, type TestBucket } from "../storage/s3rver.ts";
import { clusterEnv } from "./env.ts";

const KEY = `sk-cluster${"K".repeat(40)}`;
const RELAYED_MODEL = "seedance-1-5-pro-with-audio";
const TASKS = "/api/v3/contents/generations/tasks";

/** Every file under `dir` (recursively), relative paths. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
    if (entry.isFile()) out.push(join(entry.parentPath ?? "", entry.name).slice(dir.length + 1));
  }
  return out;
}

describe("a cluster: one API process, two workers, Postgres + pg-boss, S3", () => {
  const cleanup: Array<() => Promise<unknown>> = [];
  let database: TestDatabase;
  let bucket: TestBucket;
  let ark: ArkDouble;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const pgbossSchema = `pgb_${process.pid}_${Date.now().toString(36)}`;

  before(async () => {
    database = await freshPostgres();
    cleanup.push(() => database.drop());
    cleanup.push(async () => {
      const client = new pg.Client({ connectionString: POSTGRES_URL });
      await client.connect();
      await client.query(`drop schema if exists ${pgbossSchema} cascade`);
      await client.end();
    });
    bucket = await startTestBucket();
    cleanup.push(() => bucket.stop());
    ark = await startArkDouble({ profile: "cn" });
    cleanup.push(() => ark.close());
    receiver = await startReceiver();
    cleanup.push(() => receiver.close());
  });
  after(async () => {
    for (const fn of cleanup.reverse()) await fn().catch(() => {});
  });

  test("twelve tasks with callbacks, a worker killed mid-render: each task succeeds once, nothing on local disk", async () => {
    const apiPort = await freePort();
    const base = `http://127.0.0.1:${apiPort}`;
    const dataDirs: string[] = [];
    const common = async (port: number): Promise<Record<string, string>> => {
      const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-cluster-"));
      dataDirs.push(dataDir);
      cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
      return clusterEnv(
        {
          databaseUrl: database.url,
          storageUrl: bucket.storageUrl(),
          pgbossSchema,
          publicUrl: base,
          bootstrapKey: KEY,
          secret: "cluster-test-secret-shared-by-every-process",
        },
        { port, dataDir },
        {
          VIDRELAY_JOB_LEASE_SECONDS: "3",
          VIDRELAY_RENDER_CONCURRENCY: "1",
          VIDRELAY_UPSTREAM_SUBMIT_TIMEOUT_SECONDS: "2",
        },
      );
    };
    const api = await spawnServer({ ...(await common(apiPort)), VIDRELAY_WORKERS: "false" }, 60_000);
    cleanup.push(async () => api.child.kill("SIGKILL"));
    const workers: ServerProcess[] = [];
    const workerEnv = new Map<ServerProcess, Record<string, string>>();
    const startWorker = async (env: Record<string, string>) => {
      const worker = await spawnServer(env, 60_000, "worker");
      cleanup.push(async () => worker.child.kill("SIGKILL"));
      workerEnv.set(worker, env);
      return worker;
    };
    for (let i = 0; i < 2; i++) workers.push(await startWorker(await common(await freePort())));

    const call = (
      path: string,
      init: { method?: string; json?: unknown; body?: FormData; key?: string } = {},
    ) => {
      const authorization = { authorization: `Bearer ${init.key ?? KEY}` };
      return fetch(`${base}${path}`, {
        method: init.method ?? (init.json || init.body ? "POST" : "GET"),
        headers: init.json ? { ...authorization, "content-type": "application/json" } : authorization,
        body: init.json ? JSON.stringify(init.json) : init.body,
      });
    };
    const { account_id } = (await (await call("/v1/balance")).json()) as { account_id: string };
    const topup = await call(`/v1/admin/accounts/${account_id}/topup`, {
      json: { amount: "1000", idempotency_key: "cluster-seed" },
    });
    assert.equal(topup.status, 200, await topup.clone().text());
    const channel = await call("/v1/admin/channels", {
      json: {
        provider: "ark",
        base_url: ark.baseUrl,
        api_key: ark.keys[0],
        models: { [RELAYED_MODEL]: "doubao-seedance-1-5-pro-251215" },
      },
    });
    assert.equal(channel.status, 200, await channel.clone().text());
    // Test-mode keys are served by the local engine: the same request renders locally with one.
    const created = await call("/v1/admin/keys", { json: { account_id, name: "local", test_mode: true } });
    assert.equal(created.status, 200, await created.clone().text());
    const testKey = ((await created.json()) as { key: string }).key;

    const form = new FormData();
    form.append("file", new Blob([await readFile(sample("landscape-600x450.jpg"))]), "landscape.jpg");
    const upload = await call("/v1/files", { body: form });
    assert.equal(upload.status, 200, await upload.clone().text());
    const file = (await upload.json()) as { url: string };

    const submit = async (relayed: boolean, i: number) => {
      const res = await call("/v1/video/generations", {
        key: relayed ? KEY : testKey,
        json: {
          model: RELAYED_MODEL,
          prompt: `@image1 shot ${i}, slow push-in`,
          seconds: "5",
          metadata: {
            resolution: "720p",
            ratio: "16:9",
            callback_url: receiver.url,
            content: [{ type: "image_url", image_url: { url: file.url }, role: "first_frame" }],
          },
        },
      });
      assert.equal(res.status, 200, await res.clone().text());
      return ((await res.json()) as { task_id: string }).task_id;
    };
    // Relayed tasks first, and past their upstream create before the kill: a worker killed in the
    // middle of a create fails that task on purpose (an ambiguous paid submit is never repeated;
    // test/providers covers that rule), and this test is about a kill in the middle of a render.
    const relayedIds: string[] = [];
    for (let i = 0; i < 6; i++) relayedIds.push(await submit(true, i));
    const createdBy = Date.now() + 60_000;
    while (ark.tasks.list().length < relayedIds.length) {
      assert.ok(Date.now() < createdBy, "the relayed tasks were never created upstream");
      await new Promise((r) => setTimeout(r, 50));
    }
    const localIds: string[] = [];
    for (let i = 0; i < 6; i++) localIds.push(await submit(false, i));
    const ids = [...relayedIds, ...localIds];

    // Kill the worker that holds a render lease, while it renders.
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    cleanup.push(() => client.end());
    let victim: ServerProcess | undefined;
    const killBy = Date.now() + 60_000;
    while (!victim) {
      assert.ok(Date.now() < killBy, "no render was ever running");
      const { rows } = await client.query<{ owner: string }>(
        `select output->>'owner' as owner from ${pgbossSchema}.job where name = 'render' and state = 'active'`,
      );
      for (const { owner } of rows) {
        const pid = Number(owner?.split(":")[1]);
        victim = workers.find((w) => w.child.pid === pid);
        if (victim) break;
      }
      if (!victim) await new Promise((r) => setTimeout(r, 50));
    }
    victim.child.kill("SIGKILL");
    assert.equal(await victim.exited, "SIGKILL");
    const survivor = workers.find((w) => w !== victim)!;

    const poll = async (id: string) =>
      (await (
        await call(`/v1/video/generations/${id}`, { key: relayedIds.includes(id) ? KEY : testKey })
      ).json()) as {
        status: string;
        url?: string;
        provider: string;
        error?: unknown;
      };
    const finishBy = Date.now() + 240_000;
    const finished = new Map<string, Awaited<ReturnType<typeof poll>>>();
    while (finished.size < ids.length) {
      assert.ok(Date.now() < finishBy, `unfinished: ${ids.filter((id) => !finished.has(id)).join(", ")}`);
      for (const id of ids) {
        if (finished.has(id)) continue;
        const task = await poll(id);
        if (task.status === "succeeded" || task.status === "failed") finished.set(id, task);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    for (const [id, task] of finished) {
      assert.equal(task.status, "succeeded", `${id}: ${JSON.stringify(task.error)}`);
      assert.equal(task.provider, relayedIds.includes(id) ? "ark" : "local");
      assert.ok(task.url?.startsWith(`${base}/videos/`), `${id} url is the API process's: ${task.url}`);
      const video = await fetch(task.url!);
      assert.equal(video.status, 200);
      const bytes = Buffer.from(await video.arrayBuffer());
      assert.ok(bytes.length > 10_000);
      assert.equal(bytes.subarray(4, 8).toString("latin1"), "ftyp", "an mp4");
    }

    // Exactly once: one render (or dispatch) job per task in pg-boss, each completed; one upstream
    // create per relayed task.
    const { rows: jobs } = await client.query<{ task: string; name: string; state: string }>(
      `select data->>'taskId' as task, name, state from ${pgbossSchema}.job where name in ('render', 'dispatch')`,
    );
    for (const id of localIds) {
      const mine = jobs.filter((j) => j.task === id);
      assert.deepEqual(
        mine.map((j) => [j.name, j.state]),
        [["render", "completed"]],
        `${id}: one render job, completed`,
      );
    }
    const creates = ark.journal.list({ method: "POST", path: TASKS });
    assert.equal(creates.length, relayedIds.length, "one upstream create per relayed task");
    assert.equal(ark.tasks.list().length, relayedIds.length);

    // Every webhook arrives (at least once), with the finished task.
    const deliveredBy = Date.now() + 60_000;
    const delivered = () =>
      new Set(
        receiver.received
          .map((r) => JSON.parse(r.body) as { task_id: string; status: string })
          .filter((b) => b.status === "succeeded")
          .map((b) => b.task_id),
      );
    while (delivered().size < ids.length) {
      assert.ok(Date.now() < deliveredBy, `webhooks missing for ${ids.filter((id) => !delivered().has(id))}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // The media live in the bucket only.
    const keys = await bucket.keys("videos/");
    for (const id of ids) assert.ok(keys.includes(`videos/${id}.mp4`), `videos/${id}.mp4 in the bucket`);
    // The killed worker's scratch files (its render, maybe an ingest) are still on its disk; its
    // supervisor restarts it on the same data dir, and the new process sweeps them first.
    const successor = await startWorker(workerEnv.get(victim)!);
    for (const dir of dataDirs) {
      const media = (await filesUnder(dir)).filter((f) => /\.(mp4|jpe?g|png|webp)$/i.test(f));
      assert.deepEqual(media, [], `no media on ${dir}`);
    }

    for (const p of [survivor, successor, api]) p.child.kill("SIGTERM");
    assert.equal(await survivor.exited, 0, survivor.output());
    assert.equal(await successor.exited, 0, successor.output());
    assert.equal(await api.exited, 0, api.output());
  });
});
