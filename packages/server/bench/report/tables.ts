/**
 * The report's result tables: one row per server and store for the load cases, one per file and
 * server for the uploads, plus the per-round lines that show how steady the medians are.
 */
import { BASELINE, type CaseResult, GATEWAY, type StoreResult } from "../cases/api.ts";
import type { UploadCase } from "../cases/uploads.ts";
import { int, mib, ms, pct, table } from "../lib/markdown.ts";

export function loadRows(
  results: StoreResult[],
  pick: (r: StoreResult) => CaseResult,
  target: number,
): string[][] {
  const rows: string[][] = [];
  for (const r of results) {
    const { targets } = pick(r);
    const baseline = targets.find((t) => t.label === BASELINE)!.stats;
    for (const { label, stats: s } of targets) {
      const ratio = s.rps / baseline.rps;
      let vs = label === BASELINE ? "" : pct(ratio);
      if (label === GATEWAY)
        vs = `**${pct(ratio)}** (${ratio >= target ? "meets" : "misses"} ≥ ${pct(target)})`;
      const cpuRatio = label === BASELINE ? "" : pct(baseline.cpuUsPerRequest / s.cpuUsPerRequest);
      rows.push([
        `${r.store} — ${label}`,
        int(s.rps),
        ms(s.p50Ms),
        ms(s.p99Ms),
        int(s.cpuUsPerRequest),
        `${Math.round(s.serverCpuPercent)} %`,
        int(s.bytesPerResponse),
        vs,
        cpuRatio,
      ]);
    }
  }
  return rows;
}

export const LOAD_HEADER = [
  "store — server",
  "req/s",
  "p50 ms",
  "p99 ms",
  "server CPU µs/req",
  "server CPU",
  "bytes/response",
  "req/s vs baseline",
  "CPU/req vs baseline",
];

export function roundsLine(results: StoreResult[], pick: (r: StoreResult) => CaseResult): string {
  const lines: string[] = [];
  for (const r of results) {
    const { targets } = pick(r);
    const failed = targets.reduce((n, t) => n + t.stats.failed, 0);
    const rounds = targets.map((t) => `${t.label} ${t.rounds.map(int).join(" / ")}`).join("; ");
    const client = targets.map((t) => `${Math.round(t.stats.clientCpuPercent)} %`).join(" / ");
    const other = targets.map((t) => t.stats.otherCores.toFixed(2)).join(" / ");
    lines.push(
      `- ${r.store}, req/s per round: ${rounds}. ` +
        (failed ? `**${failed} non-2xx or failed responses.** ` : "No non-2xx or failed responses. ") +
        `In the median rounds, load generator CPU ${client}; other processes on the machine ${other} cores.`,
    );
  }
  return lines.join("\n");
}

export function uploadTable(cases: UploadCase[]): string {
  const rows: string[][] = [];
  for (const c of cases) {
    for (const [who, s] of [
      ["gateway", c.gateway],
      ["baseline", c.baseline],
    ] as const) {
      const ratio = c.gateway.mibPerSecond / c.baseline.mibPerSecond;
      rows.push([
        `${c.label} (${int(s.fileBytes)} B) — ${who}`,
        String(s.runs),
        ms(s.medianMs),
        s.mibPerSecond.toFixed(0),
        ms(s.cpuMsPerUpload),
        mib(s.rssBefore),
        mib(s.peakGrowth),
        who === "gateway" ? pct(ratio) : "",
      ]);
    }
  }
  return table(
    [
      "file — server",
      "uploads",
      "median ms",
      "MiB/s",
      "server CPU ms/upload",
      "RSS before",
      "peak RSS growth",
      "gateway/baseline",
    ],
    rows,
  );
}
