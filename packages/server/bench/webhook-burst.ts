/**
 * Webhooks due at once: N tasks finish (cancelled) with a callback while no process delivers, then
 * a gateway with only deliver workers starts on the same store and sends them all to one receiver
 * (its own process, bench/receiver-child.ts) that answers each POST after 1 ms. Reports deliveries
 * per second (first to last received) and the time from the delivering gateway's start to the last
 * one. `node --import tsx bench/webhook-burst.ts [N]`; part of `npm run bench` (section 5.1).
 */
import { rm } from "node:fs/promises";
import { startTestServer } from "../test/helpers/server.ts";
import { startChild } from "./lib/children.ts";
import { startProfiler } from "./lib/profile.ts";
import type { ReceiverStats } from "./receiver-child.ts";

export async function benchWebhookBurst(n = 2000): Promise<string> {
  const receiver = await startChild("webhook receiver", "receiver-child.ts", { delayMs: 1 });
  const statsUrl = new URL("/stats", receiver.url).href;
  const stats = async () => (await (await fetch(statsUrl)).json()) as ReceiverStats;
  // Phase 1: the outbox fills up; no process delivers (VIDRELAY_WORKERS=false).
  const filler = await startTestServer({
    allowPrivateTargets: "127.0.0.1",
    logLevel: "warn",
    workers: false,
  });
  const dataDir = filler.dataDir;
  try {
    const body = (i: number) =>
      JSON.stringify({
        model: "seedance-1-5-pro-no-audio",
        prompt: `burst ${i}`,
        metadata: { resolution: "480p", callback_url: `${receiver.url}?i=${i}` },
      });
    for (let i = 0; i < n; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, n - i) }, async (_, k) => {
          const res = await filler.api("/v1/video/generations", {
            method: "POST",
            body: body(i + k),
            headers: { "content-type": "application/json" },
          });
          const { task_id } = (await res.json()) as { task_id: string };
          const cancel = await filler.api(`/v1/video/generations/${task_id}/cancel`, { method: "POST" });
          await cancel.arrayBuffer();
        }),
      );
    }
    await filler.server.close(2000);
    console.error(`webhook burst: ${n} deliveries due; starting the delivering gateway`);

    // Phase 2: a delivering gateway starts on the same store; everything is due now.
    const profiler = process.env.BENCH_PROFILE ? await startProfiler() : undefined;
    const started = Date.now();
    const cpuAtStart = process.cpuUsage();
    const sender = await startTestServer({
      dataDir,
      allowPrivateTargets: "127.0.0.1",
      logLevel: "warn",
      workerKinds: "deliver",
    });
    const startupCpu = process.cpuUsage(cpuAtStart);
    try {
      const deadline = Date.now() + 10 * 60_000;
      let lastReport = Date.now();
      let seen = await stats();
      while (seen.received < n && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
        seen = await stats();
        if (Date.now() - lastReport > 5000) {
          lastReport = Date.now();
          console.error(`webhook burst: ${seen.received} of ${n} received`);
        }
      }
      const cpu = process.cpuUsage(cpuAtStart);
      if (profiler) await profiler.stop(process.env.BENCH_PROFILE!);
      const got = seen.received;
      const first = seen.first ?? started;
      const last = seen.last ?? started;
      const rate = (got - 1) / ((last - first) / 1000);
      return [
        `### ${n} webhooks due at once, one receiver answering in 1 ms`,
        "",
        "| measure | value |",
        "|---|---|",
        `| delivered | ${got} of ${n} |`,
        `| deliveries per second, first to last received | ${rate.toFixed(0)} /s (target ≥ 1,000 /s) |`,
        `| delivering gateway started → last webhook received | ${((last - started) / 1000).toFixed(2)} s |`,
        // CPU is steadier than the rate on a shared 2-core machine: the rate also moves with
        // whatever else runs, the CPU a delivery costs much less.
        `| gateway CPU per delivery, after start-up (all threads) | ${((cpu.user + cpu.system - startupCpu.user - startupCpu.system) / got).toFixed(0)} µs |`,
        `| gateway start-up CPU | ${((startupCpu.user + startupCpu.system) / 1000).toFixed(0)} ms |`,
        `| most deliveries in flight at once at the receiver | ${seen.maxInFlight} |`,
        `| connections opened to the receiver | ${seen.connections} |`,
        "",
      ].join("\n");
    } finally {
      await sender.server.close(2000);
    }
  } finally {
    await receiver.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(await benchWebhookBurst(Number(process.argv[2] ?? 2000)));
  process.exit(0);
}
