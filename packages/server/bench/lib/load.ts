import autocannon, { type Result } from "autocannon";
import { type Child, cpuSeconds, machineBusySeconds } from "./children.ts";

export interface LoadSpec {
  method: "GET" | "POST";
  path: string;
  headers: Record<string, string>;
  body?: string;
  connections: number;
}

export interface RunStats {
  /** 2xx responses per second of wall time. */
  rps: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  /** Non-2xx responses, errors and timeouts: should be 0. */
  failed: number;
  /** Bytes received per response (headers + body), to show both servers send the same. */
  bytesPerResponse: number;
  /** CPU time of the server process (all threads) per 2xx response. */
  cpuUsPerRequest: number;
  /** CPU use of the server process over the run, % of one core. */
  serverCpuPercent: number;
  /** CPU use of this (load generator) process over the run, % of one core. */
  clientCpuPercent: number;
  /**
   * Cores' worth of CPU used by everything else on the machine during the run (machine busy time minus
   * the server's and the load generator's): other work competing for the same cores. Ideally ≈ 0.
   */
  otherCores: number;
}

export interface Target {
  label: string;
  child: Child;
}

export interface TargetResult {
  label: string;
  /** The median round (by req/s). */
  stats: RunStats;
  /** req/s of every round. */
  rounds: number[];
}

export interface LoadPlan {
  seconds: number;
  rounds: number;
  warmupSeconds: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** One autocannon run of `seconds` against `target`, with the server's CPU read from /proc around it. */
export async function loadOnce(target: Child, spec: LoadSpec, seconds: number): Promise<RunStats> {
  // autocannon's own histogram has 1 ms resolution; keep every latency (float ms) instead.
  let latencies = new Float64Array(1 << 16);
  let ok = 0;
  let failed = 0;
  let bytes = 0;
  const cpuBefore = cpuSeconds(target.pid);
  const clientBefore = process.cpuUsage();
  const machineBefore = machineBusySeconds();
  const started = process.hrtime.bigint();
  const result = await new Promise<Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: `${target.url}${spec.path}`,
        method: spec.method,
        headers: spec.headers,
        body: spec.body,
        connections: spec.connections,
        duration: seconds,
        timeout: 30,
      },
      (error, res) => (error ? reject(error) : resolve(res)),
    );
    instance.on("response", (_client: unknown, status: number, resBytes: number, ms: number) => {
      if (status < 200 || status >= 300) {
        failed++;
        return;
      }
      if (ok === latencies.length) {
        const grown = new Float64Array(latencies.length * 2);
        grown.set(latencies);
        latencies = grown;
      }
      latencies[ok++] = ms;
      bytes += resBytes;
    });
  });
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = cpuSeconds(target.pid) - cpuBefore;
  const client = process.cpuUsage(clientBefore);
  const machine = machineBusySeconds() - machineBefore;
  const clientSeconds = (client.user + client.system) / 1e6;
  const sorted = latencies.slice(0, ok).sort();
  return {
    rps: ok / wall,
    p50Ms: percentile(sorted, 0.5),
    p99Ms: percentile(sorted, 0.99),
    ok,
    failed: failed + result.errors + result.timeouts,
    bytesPerResponse: ok ? bytes / ok : 0,
    cpuUsPerRequest: ok ? (cpu * 1e6) / ok : Number.NaN,
    serverCpuPercent: (cpu / wall) * 100,
    clientCpuPercent: (clientSeconds / wall) * 100,
    otherCores: Math.max(0, (machine - cpu - clientSeconds) / wall),
  };
}

function medianRun(runs: RunStats[]): RunStats {
  const sorted = [...runs].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/**
 * Several servers under the same load: a warm-up run each (discarded), then `rounds` runs each, rotating
 * which goes first, so drift on the machine affects all alike. Reports each one's median round.
 */
export async function compare(
  targets: Target[],
  spec: LoadSpec,
  plan: LoadPlan,
  log: (line: string) => void,
): Promise<TargetResult[]> {
  for (const target of targets) await loadOnce(target.child, spec, plan.warmupSeconds);
  const runs = targets.map(() => [] as RunStats[]);
  const width = Math.max(...targets.map((t) => t.label.length));
  for (let round = 0; round < plan.rounds; round++) {
    for (let k = 0; k < targets.length; k++) {
      const i = (k + round) % targets.length;
      const target = targets[i]!;
      const stats = await loadOnce(target.child, spec, plan.seconds);
      runs[i]!.push(stats);
      log(
        `    round ${round + 1} ${target.label.padEnd(width)}: ${Math.round(stats.rps)} req/s, ` +
          `p50 ${stats.p50Ms.toFixed(2)} ms, p99 ${stats.p99Ms.toFixed(2)} ms, ` +
          `${Math.round(stats.cpuUsPerRequest)} µs CPU/req${stats.failed ? `, ${stats.failed} FAILED` : ""}` +
          (stats.otherCores >= 0.1 ? ` (other processes busy: ${stats.otherCores.toFixed(2)} cores)` : ""),
      );
    }
  }
  return targets.map((target, i) => ({
    label: target.label,
    stats: medianRun(runs[i]!),
    rounds: runs[i]!.map((s) => s.rps),
  }));
}
