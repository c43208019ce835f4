/**
 * Relay at scale: N concurrent tasks on one Ark channel with the double completing instantly.
 * Reports the delay between the double finishing a task and our task turning `succeeded`
 * (p50/p99), and upstream GETs per task. `node --import tsx bench/upstream.ts [N]`.
 */
import { startArkDouble } from "../test/doubles/ark/double.ts";
import { startTestServer } from "../test/helpers/server.ts";

export async function benchUpstream(n = Number(process.env.BENCH_UPSTREAM_TASKS ?? 2000)): Promise<string> {
  const ark = await startArkDouble({ profile: "cn", queueDelayMs: 0, runTimeScale: 0.001, jitter: 0 });
  const t = await startTestServer({ upstreamPollScale: 0.01, logLevel: "warn" });
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
    const realStart = Date.now();
    const simStart = ark.clock.now();
    const toReal = (sim: number) => realStart + (sim - simStart) / ark.clock.scale;
    const submitStarted = performance.now();
    const ids: string[] = [];
    const body = JSON.stringify({
      model: "seedance-1-5-pro-no-audio",
      prompt: "scale",
      seconds: "5",
      metadata: { resolution: "480p" },
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
      for (const res of batch) ids.push(((await res.json()) as { task_id: string }).task_id);
    }
    const submitMs = performance.now() - submitStarted;
    const deadline = Date.now() + 10 * 60_000;
    for (;;) {
      const row = await t.server.database.db
        .selectFrom("tasks")
        .select((eb) => eb.fn.countAll<number>().as("n"))
        .where("status", "in", ["succeeded", "failed"])
        .executeTakeFirstOrThrow();
      if (Number(row.n) >= n || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const rows = await t.server.database.db
      .selectFrom("tasks")
      .select(["upstream_id", "status", "completed_at"])
      .execute();
    const delays: number[] = [];
    let failed = 0;
    for (const row of rows) {
      if (row.status !== "succeeded") {
        failed++;
        continue;
      }
      const upstream = ark.tasks.get(row.upstream_id!);
      if (!upstream?.finishAt) continue;
      delays.push(row.completed_at! - toReal(upstream.finishAt));
    }
    delays.sort((a, b) => a - b);
    const pct = (p: number) =>
      delays[Math.min(delays.length - 1, Math.floor((p / 100) * delays.length))] ?? Number.NaN;
    const gets = ark.journal.list({ method: "GET" }).length;
    const lines = [
      `### Upstream relay at scale (${n} concurrent tasks, one Ark channel, the double completing at once)`,
      "",
      "| measure | value |",
      "|---|---|",
      `| tasks succeeded | ${delays.length} of ${n}${failed ? ` (${failed} failed)` : ""} |`,
      `| submit time for all tasks (HTTP, 50 in parallel) | ${(submitMs / 1000).toFixed(1)} s |`,
      `| delay: upstream done → our task succeeded, p50 | ${(pct(50) / 1000).toFixed(2)} s |`,
      `| delay p99 | ${(pct(99) / 1000).toFixed(2)} s |`,
      `| upstream GET requests per task | ${(gets / n).toFixed(2)} (${gets} in all, batched list queries) |`,
      "",
    ];
    return lines.join("\n");
  } finally {
    await t.stop();
    await ark.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchUpstream(Number(process.argv[2] ?? process.env.BENCH_UPSTREAM_TASKS ?? 2000)));
}
