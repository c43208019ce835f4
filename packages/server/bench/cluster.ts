/**
 * Cluster sizing figures for docs/deployment.md: one API process and W `vidrelay worker`
 * processes (real child processes) on Postgres + pg-boss and an S3 API server (s3rver), as the
 * deployment recipe runs them, on this machine. `node --import tsx bench/cluster.ts [workers]`.
 *
 * Measures: idle and peak memory per process; relayed tasks (an Ark double finishing at once, each
 * video re-hosted into the bucket, a signed webhook per task) submitted through the API process,
 * with the time from submit to the last webhook; local renders (test-mode key, 480p and 720p) per
 * minute across the workers. Beside the relay it measures its floor: plain fetch + pipeline of the
 * same videos from the double into files, 32 at a time. Returns (or, run directly, prints) markdown;
 * `npm run bench` includes it as section 5.3, beside the single-process relay of 5.2.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { clusterEnv } from "../test/cluster/env.ts";
import { startArkDouble } from "../test/doubles/ark/double.ts";
import { freshPostgres, POSTGRES_URL } from "../test/helpers/databases.ts";
import { freePort, type ServerProcess, spawnServer } from "../test/helpers/process.ts";
import { startReceiver } from "../test/helpers/receiver.ts";
import { startTestBucket } from "../test/storage/s3rver.ts";
import { copyFloorMs } from "./lib/floor.ts";

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

const KEY = `sk-bench${"C".repeat(40)}`;
const MODEL = "seedance-1-5-pro-no-audio";

async function memory(pid: number): Promise<{ rss: number; hwm: number }> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) / 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

export interface ClusterBenchOptions {
  workers?: number;
  /** Relayed tasks in the burst. */
  relayed?: number;
  /** Local renders per resolution (0: skip the render part). */
  renders?: number;
}

export async function benchCluster(options: ClusterBenchOptions = {}): Promise<string> {
  const WORKERS = options.workers ?? 2;
  const RELAYED = options.relayed ?? 500;
  const RENDERS = options.renders ?? 8;
  const before = loadavg();
  const cleanup: Array<() => Promise<unknown>> = [];
  const database = await freshPostgres();
  cleanup.push(() => database.drop());
  const pgbossSchema = `pgb_bench_${process.pid}`;
  cleanup.push(async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL });
    await client.connect();
    await client.query(`drop schema if exists ${pgbossSchema} cascade`);
    await client.end();
  });
  const bucket = await startTestBucket();
  cleanup.push(() => bucket.stop());
  const ark = await startArkDouble({ profile: "cn", queueDelayMs: 0, runTimeScale: 0.001, jitter: 0 });
  cleanup.push(() => ark.close());
  const receiver = await startReceiver();
  cleanup.push(() => receiver.close());
  const processes: { role: string; proc: ServerProcess }[] = [];
  try {
    const apiPort = await freePort();
    const base = `http://127.0.0.1:${apiPort}`;
    const env = async (port: number) => {
      const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-bench-cluster-"));
      cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
      return clusterEnv(
        {
          databaseUrl: database.url,
          storageUrl: bucket.storageUrl(),
          pgbossSchema,
          publicUrl: base,
          bootstrapKey: KEY,
          secret: "bench-cluster-secret-shared-by-every-process",
        },
        { port, dataDir },
      );
    };
    const api = await spawnServer({ ...(await env(apiPort)), VIDRELAY_WORKERS: "false" }, 60_000);
    processes.push({ role: "API", proc: api });
    for (let i = 0; i < WORKERS; i++) {
      const worker = await spawnServer(await env(await freePort()), 60_000, "worker");
      processes.push({ role: `worker ${i + 1}`, proc: worker });
    }
    await new Promise((r) => setTimeout(r, 2000));
    const idle = await Promise.all(processes.map((p) => memory(p.proc.child.pid!)));

    const call = (path: string, init: { json?: unknown; key?: string } = {}) =>
      fetch(`${base}${path}`, {
        method: init.json ? "POST" : "GET",
        headers: { authorization: `Bearer ${init.key ?? KEY}`, "content-type": "application/json" },
        body: init.json ? JSON.stringify(init.json) : undefined,
      });
    const { account_id } = (await (await call("/v1/balance")).json()) as { account_id: string };
    await call(`/v1/admin/accounts/${account_id}/topup`, {
      json: { amount: "100000", idempotency_key: "bench" },
    });
    await call("/v1/admin/channels", {
      json: {
        provider: "ark",
        base_url: ark.baseUrl,
        api_key: ark.keys[0],
        models: { [MODEL]: "doubao-seedance-1-5-pro-251215" },
        max_concurrent: RELAYED,
      },
    });
    const testKey = (
      (await (
        await call("/v1/admin/keys", { json: { account_id, name: "local", test_mode: true } })
      ).json()) as {
        key: string;
      }
    ).key;

    // Relayed burst: submit through the API (50 at a time), then wait for every webhook.
    const realStart = Date.now();
    const simStart = ark.clock.now();
    const toReal = (sim: number) => realStart + (sim - simStart) / ark.clock.scale;
    const submitStarted = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < RELAYED; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, RELAYED - i) }, (_, j) =>
          call("/v1/video/generations", {
            json: {
              model: MODEL,
              prompt: `burst ${i + j}`,
              seconds: "5",
              metadata: { resolution: "480p", callback_url: receiver.url },
            },
          }),
        ),
      );
      for (const res of batch) ids.push(((await res.json()) as { task_id: string }).task_id);
    }
    const submitMs = performance.now() - submitStarted;
    const delivered = new Map<string, number>();
    const deadline = Date.now() + 15 * 60_000;
    while (delivered.size < ids.length && Date.now() < deadline) {
      for (const r of receiver.received) {
        const body = JSON.parse(r.body) as { task_id: string; status: string };
        if (body.status === "succeeded" && !delivered.has(body.task_id)) delivered.set(body.task_id, r.at);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const relayMs = performance.now() - submitStarted;
    // Per task: the double finished it upstream → our task succeeded → its webhook arrived.
    const client = new pg.Client({ connectionString: database.url });
    await client.connect();
    const { rows } = await client.query<{ id: string; upstream_id: string; completed_at: string }>(
      "select id, upstream_id, completed_at from tasks where status = 'succeeded' and upstream_id is not null",
    );
    await client.end();
    const toSucceeded: number[] = [];
    const toWebhook: number[] = [];
    for (const row of rows) {
      const finishAt = ark.tasks.get(row.upstream_id)?.finishAt;
      if (finishAt === undefined) continue;
      const done = toReal(finishAt);
      toSucceeded.push(Number(row.completed_at) - done);
      const hook = delivered.get(row.id);
      if (hook !== undefined) toWebhook.push(hook - done);
    }
    toSucceeded.sort((a, b) => a - b);
    toWebhook.sort((a, b) => a - b);
    const upstreamGets = ark.journal.list({ method: "GET" }).length;

    // Floor: the same videos copied with fetch + pipeline into files, 32 at a time.
    const videos = ark.tasks
      .list()
      .map((t) => t.content?.video_url)
      .filter((u): u is string => typeof u === "string");
    const floorMs = await copyFloorMs(videos);

    // Local renders: test-mode tasks, all submitted at once, rendered by the workers.
    const renders: Record<string, number> = {};
    for (const resolution of RENDERS > 0 ? ["480p", "720p"] : []) {
      const started = performance.now();
      const local: string[] = [];
      for (let i = 0; i < RENDERS; i++) {
        const res = await call("/v1/video/generations", {
          key: testKey,
          json: {
            model: MODEL,
            prompt: `render ${i}`,
            seconds: "5",
            metadata: { resolution, ratio: "16:9" },
          },
        });
        local.push(((await res.json()) as { task_id: string }).task_id);
      }
      for (const id of local) {
        for (;;) {
          const task = (await (await call(`/v1/video/generations/${id}`, { key: testKey })).json()) as {
            status: string;
          };
          if (task.status === "succeeded" || task.status === "failed") break;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      renders[resolution] = performance.now() - started;
    }
    const peak = await Promise.all(processes.map((p) => memory(p.proc.child.pid!)));

    const mb = (n: number) => `${n.toFixed(0)} MB`;
    const lines = [
      `### Upstream relay at scale, cluster mode (${RELAYED} tasks; one API process and ${WORKERS} \`vidrelay worker\` processes on Postgres + pg-boss and s3rver)`,
      "",
      `Real child processes, as docs/deployment.md runs them, on this machine (${cpus()[0]?.model.split(" ")[0] ?? "cpu"}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, ${new Date().toISOString().slice(0, 10)}); the Ark double finishes each task as soon as it runs, every video is copied into the bucket and a signed webhook goes to a local receiver. Load average before: ${before.map((n) => n.toFixed(2)).join(", ")}.`,
      "",
      "| process | RSS idle | RSS peak (VmHWM) |",
      "|---|---:|---:|",
      ...processes.map((p, i) => `| ${p.role} | ${mb(idle[i]!.rss)} | ${mb(peak[i]!.hwm)} |`),
      "",
      "| measure | value |",
      "|---|---:|",
      `| relayed tasks submitted through the API (50 in parallel) | ${RELAYED} in ${(submitMs / 1000).toFixed(1)} s = ${((RELAYED * 1000) / submitMs).toFixed(0)} submits/s |`,
      `| relayed tasks: submit → last signed webhook (dispatch, poll, copy to S3, deliver) | ${(relayMs / 1000).toFixed(1)} s for ${delivered.size}/${RELAYED} = ${((delivered.size * 1000) / relayMs).toFixed(0)} tasks/s |`,
      `| floor: fetch + pipeline of the same ${videos.length} videos to files, 32 at a time | ${(floorMs / 1000).toFixed(1)} s (the relay took ${(relayMs / floorMs).toFixed(1)}× as long) |`,
      `| delay: upstream done → our task succeeded, p50 / p99 | ${sec(pct(toSucceeded, 50))} / ${sec(pct(toSucceeded, 99))} |`,
      `| delay: upstream done → webhook received, p50 / p99 | ${sec(pct(toWebhook, 50))} / ${sec(pct(toWebhook, 99))} |`,
      `| upstream GETs per task | ${(upstreamGets / RELAYED).toFixed(2)} |`,
      ...Object.entries(renders).map(
        ([res, ms]) =>
          `| ${RENDERS} local renders, 5 s ${res}, across ${WORKERS} workers | ${(ms / 1000).toFixed(1)} s = ${((RENDERS * 60_000) / ms).toFixed(1)} renders/min |`,
      ),
    ];
    return `${lines.join("\n")}\n`;
  } finally {
    for (const p of processes) p.proc.child.kill("SIGTERM");
    await Promise.all(processes.map((p) => p.proc.exited));
    for (const fn of cleanup.reverse()) await fn().catch(() => {});
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(
    await benchCluster({
      workers: Number(process.argv[2] ?? 2),
      relayed: Number(process.env.CLUSTER_RELAYED ?? 500),
      renders: Number(process.env.CLUSTER_RENDERS ?? 8),
    }),
  );
}
