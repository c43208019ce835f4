/**
 * Webhook delivery: N tasks finish (cancelled at once, so no render time is measured) with a
 * callback to a local receiver. Reports deliveries per second and the delay from a task's
 * terminal transition (completed_at) to the receiver getting its POST.
 * `node --import tsx bench/webhooks.ts [N]`.
 */
import { startReceiver } from "../test/helpers/receiver.ts";
import { startTestServer } from "../test/helpers/server.ts";

export async function benchWebhooks(n = Number(process.env.BENCH_WEBHOOK_TASKS ?? 500)): Promise<string> {
  const receiver = await startReceiver();
  const t = await startTestServer({
    allowPrivateTargets: "127.0.0.1",
    logLevel: "warn",
    workerKinds: "deliver",
  });
  try {
    const body = (i: number) =>
      JSON.stringify({
        model: "seedance-1-5-pro-no-audio",
        prompt: `webhook ${i}`,
        metadata: { resolution: "480p", callback_url: `${receiver.url}?i=${i}` },
      });
    const ids: string[] = [];
    // Idle-gateway latency: one at a time, waiting for each delivery.
    const idleDelays: number[] = [];
    for (let i = 0; i < 50; i++) {
      const res = await t.api("/v1/video/generations", {
        method: "POST",
        body: body(i),
        headers: { "content-type": "application/json" },
      });
      const { task_id } = (await res.json()) as { task_id: string };
      const before = receiver.received.length;
      await t.api(`/v1/video/generations/${task_id}/cancel`, { method: "POST" });
      while (receiver.received.length === before) await new Promise((r) => setTimeout(r, 1));
      const row = await t.server.services.taskRepo.getById(task_id);
      idleDelays.push(receiver.received.at(-1)!.at - row!.completed_at!);
    }
    // Throughput: N tasks finishing as fast as the API lets them.
    const start = receiver.received.length;
    const t0 = Date.now();
    for (let i = 0; i < n; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, n - i) }, async (_, k) => {
          const res = await t.api("/v1/video/generations", {
            method: "POST",
            body: body(1000 + i + k),
            headers: { "content-type": "application/json" },
          });
          const { task_id } = (await res.json()) as { task_id: string };
          ids.push(task_id);
          await t.api(`/v1/video/generations/${task_id}/cancel`, { method: "POST" });
        }),
      );
    }
    while (receiver.received.length < start + n && Date.now() - t0 < 120_000)
      await new Promise((r) => setTimeout(r, 20));
    const elapsed = (receiver.received.at(-1)!.at - t0) / 1000;
    const loadDelays: number[] = [];
    const byTask = new Map(
      receiver.received.slice(start).map((r) => [JSON.parse(r.body).task_id as string, r.at]),
    );
    for (const id of ids) {
      const row = await t.server.services.taskRepo.getById(id);
      const at = byTask.get(id);
      if (row?.completed_at && at) loadDelays.push(at - row.completed_at);
    }
    const pct = (values: number[], p: number) => {
      const sorted = [...values].sort((a, b) => a - b);
      return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
    };
    return [
      `### Webhook delivery to a local receiver`,
      "",
      "| measure | value |",
      "|---|---|",
      `| idle gateway: completion → delivery, p50 / p99 (50 tasks, one at a time) | ${pct(idleDelays, 50)} ms / ${pct(idleDelays, 99)} ms |`,
      `| under load: ${n} tasks finishing back to back, deliveries per second | ${(n / elapsed).toFixed(0)} /s |`,
      `| under load: completion → delivery, p50 / p99 | ${pct(loadDelays, 50)} ms / ${pct(loadDelays, 99)} ms |`,
      "",
    ].join("\n");
  } finally {
    await t.stop();
    await receiver.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchWebhooks(Number(process.argv[2] ?? process.env.BENCH_WEBHOOK_TASKS ?? 500)));
}
