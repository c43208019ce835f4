/**
 * Relay at scale, one process on SQLite: N tasks on one Ark channel, every one running upstream,
 * then the double finishes all of them at the same instant (its clock is held still until then).
 * Reports how long until our tasks turn `succeeded` and until their signed webhooks arrive (p50,
 * p99, last), beside the floor: plain fetch + pipeline of the same videos, 32 at a time; and the
 * upstream GETs per task. `node --import tsx bench/upstream.ts [N]`.
 */
import { startArkDouble } from "../test/doubles/ark/double.ts";
import { startReceiver } from "../test/helpers/receiver.ts";
import { startTestServer } from "../test/helpers/server.ts";
import { copyFloorMs } from "./lib/floor.ts";
import { startProfiler } from "./lib/profile.ts";

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 10 * 60_000) {
  const deadline = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`relay bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function benchUpstream(n = Number(process.env.BENCH_UPSTREAM_TASKS ?? 2000)): Promise<string> {
  // clockScale 0: simulated time stands still, so every task waits upstream until advance().
  const ark = await startArkDouble({
    profile: "cn",
    queueDelayMs: 0,
    runTimeScale: 0.001,
    jitter: 0,
    clockScale: 0,
  });
  const webhookAt = new Map<string, number>();
  const receiver = await startReceiver((req, _i, res) => {
    webhookAt.set((JSON.parse(req.body) as { task_id: string }).task_id, req.at);
    res.end("ok");
  });
  const t = await startTestServer({
    upstreamPollScale: 0.01,
    logLevel: "warn",
    allowPrivateTargets: "127.0.0.1",
  });
  try {
    await t.api("/v1/admin/channels", {
      method: "POST",
      json: {
        provider: "ark",
        base_url: ark.baseUrl,
        api_key: ark.keys[0],
        models: { "seedance-1-5-pro-no-audio": "doubao-seedance-1-5-pro-251215" },
        max_concurrent: n,
      },
    });
    const submitStarted = performance.now();
    const body = JSON.stringify({
      model: "seedance-1-5-pro-no-audio",
      prompt: "scale",
      seconds: "5",
      metadata: { resolution: "480p", callback_url: receiver.url },
    });
    for (let i = 0; i < n; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, () =>
          t.api("/v1/video/generations", {
            method: "POST",
            body,
            headers: { "content-type": "application/json" },
          }),
        ),
      );
      for (const res of batch) {
        if (res.status !== 200)
          throw new Error(`relay bench: submit answered ${res.status}: ${await res.text()}`);
        await res.arrayBuffer();
      }
    }
    const submitMs = performance.now() - submitStarted;
    await until("every task to reach the double", () => ark.tasks.list().length >= n);

    // The burst: every upstream task finishes now.
    const getsBefore = ark.journal.list({ method: "GET" }).length;
    const profiler = process.env.BENCH_PROFILE ? await startProfiler() : undefined;
    const cpuAtBurst = process.cpuUsage();
    const doneAt = Date.now();
    ark.clock.advance(3_600_000);
    await until("every webhook", () => webhookAt.size >= n);
    const burstCpu = process.cpuUsage(cpuAtBurst);
    await profiler?.stop(process.env.BENCH_PROFILE!);
    const lastWebhookMs = Math.max(...webhookAt.values()) - doneAt;
    const getsInBurst = ark.journal.list({ method: "GET" }).length - getsBefore;
    const gets = ark.journal.list({ method: "GET" }).length;

    const rows = await t.server.database.db
      .selectFrom("tasks")
      .select(["id", "status", "completed_at"])
      .execute();
    const toSucceeded = rows
      .filter((r) => r.status === "succeeded")
      .map((r) => r.completed_at! - doneAt)
      .sort((a, b) => a - b);
    const toWebhook = [...webhookAt.values()].map((at) => at - doneAt).sort((a, b) => a - b);
    const videos = ark.tasks
      .list()
      .map((task) => task.content?.video_url)
      .filter((u): u is string => typeof u === "string");
    const floorMs = await copyFloorMs(videos);
    const ratio = lastWebhookMs / floorMs;
    return [
      `### Upstream relay at scale, one process (${n} tasks running on one Ark channel, all finishing upstream at the same instant)`,
      "",
      "| measure | value |",
      "|---|---|",
      `| tasks succeeded | ${toSucceeded.length} of ${n} |`,
      `| submit time for all tasks (HTTP, 50 in parallel) | ${sec(submitMs)} |`,
      `| upstream done → our task succeeded, p50 / p99 | ${sec(percentile(toSucceeded, 50))} / ${sec(percentile(toSucceeded, 99))} |`,
      `| upstream done → webhook received, p50 / p99 | ${sec(percentile(toWebhook, 50))} / ${sec(percentile(toWebhook, 99))} |`,
      `| upstream done → last webhook received | ${sec(lastWebhookMs)} |`,
      `| floor: fetch + pipeline of the same ${videos.length} videos to files, 32 at a time | ${sec(floorMs)} |`,
      `| last webhook ÷ floor | **${ratio.toFixed(1)}×** (target ≤ 1.3×: ${ratio <= 1.3 ? "met" : "missed"}) |`,
      `| CPU per task from the burst to the last webhook (this one process: gateway, double, receiver) | ${((burstCpu.user + burstCpu.system) / 1000 / n).toFixed(2)} ms |`,
      `| upstream GET requests per task | ${(gets / n).toFixed(2)} over the run, ${(getsInBurst / n).toFixed(2)} after the burst (target ≤ 2) |`,
      "",
    ].join("\n");
  } finally {
    await t.stop();
    await receiver.close();
    await ark.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchUpstream(Number(process.argv[2] ?? process.env.BENCH_UPSTREAM_TASKS ?? 2000)));
  process.exit(0);
}
