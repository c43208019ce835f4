/**
 * The soak's report as markdown (always to stdout), and the results section of docs/reliability.md
 * (everything from "## Results" down is replaced; the explanation above it is kept).
 */
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { type Findings, gates, percentile, type Sample, type TimelineEntry } from "./analyse.ts";
import type { ChaosOptions } from "./schedule.ts";

/** The children's error-level log lines (pino level ≥ 50), grouped by message: leads for a cause. */
export function logErrors(logDir: string): { total: number; warnings: number; groups: string[] } {
  const groups = new Map<string, { n: number; files: Set<string> }>();
  let total = 0;
  let warnings = 0;
  for (const file of readdirSync(logDir).sort()) {
    for (const line of readFileSync(join(logDir, file), "utf8").split("\n")) {
      if (!line.startsWith("{")) continue;
      let entry: { level?: number; msg?: string; err?: { message?: string } };
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if ((entry.level ?? 0) === 40) warnings++;
      if ((entry.level ?? 0) < 50) continue;
      total++;
      // Numbers vary per line (ids, times); without them equal causes group together.
      const key = `${entry.msg ?? ""}: ${(entry.err?.message ?? "").slice(0, 160)}`.replace(
        /\d+(\.\d+)?/g,
        "N",
      );
      const group = groups.get(key) ?? { n: 0, files: new Set() };
      group.n++;
      group.files.add(file);
      groups.set(key, group);
    }
  }
  return {
    total,
    warnings,
    groups: [...groups]
      .sort((a, b) => b[1].n - a[1].n)
      .slice(0, 8)
      .map(
        ([key, g]) =>
          `${g.n}× \`${key.replaceAll("`", "'")}\` (${[...g.files].slice(0, 4).join(", ")}${g.files.size > 4 ? ", …" : ""})`,
      ),
  };
}

export interface RunFacts {
  options: ChaosOptions;
  startedAt: Date;
  wallS: number;
  postgresVersion: string;
  loadavg: { before: number; max: number; mean: number };
  logErrors: ReturnType<typeof logErrors>;
  cpuBusyPct: number;
  harnessCpuS: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  peakDbConnections: number;
  drainedS: number;
  drainComplete: boolean;
  logDir: string;
  logsKept: boolean;
  /** gitCommit() when the run started and when it ended: a change means processes ran different code. */
  commit: { start: string; end: string };
  account: string;
  timeline: TimelineEntry[];
  injected: string[];
}

const SAMPLE = 10;
const s1 = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : "n/a");

function machine(): string {
  let model = cpus()[0]?.model ?? "unknown";
  try {
    model = /^model name\s*:\s*(.*)$/m.exec(readFileSync("/proc/cpuinfo", "utf8"))?.[1] ?? model;
  } catch {}
  return `${cpus().length} cores, ${model}`;
}

/**
 * HEAD, and whether the gateway's own code differs from it: the children compile packages/server/src
 * as it is on disk at each start, so the report must say what ran (the harness's files don't count).
 */
export function gitCommit(): string {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { encoding: "utf8" }).trim();
    const sha = git("rev-parse", "--short", "HEAD");
    const top = git("rev-parse", "--show-toplevel");
    const dirty = git("-C", top, "status", "--porcelain", "--", "packages/server/src", "packages/server/bin");
    return dirty ? `${sha} + uncommitted changes in packages/server/src` : sha;
  } catch {
    return "unknown";
  }
}

function samples(title: string, list: Sample[]): string[] {
  if (list.length === 0) return [];
  const shown = list.slice(0, SAMPLE);
  return [
    "",
    `**${title}** (${list.length}${list.length > SAMPLE ? `, first ${SAMPLE} shown` : ""}):`,
    "",
    ...shown.map((s) => `- \`${s.id}\`: ${s.text.replaceAll("\n", " ")}`),
  ];
}

export function renderReport(f: Findings, facts: RunFacts): string {
  const o = facts.options;
  const failedTotal = [...f.failedByCode.values()].reduce((a, b) => a + b, 0);
  const checks = gates(f);
  const pass = checks.every((c) => c.ok);
  const byCode = (m: Map<string, number>) =>
    m.size === 0
      ? "none"
      : [...m]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k} ${v}`)
          .join(", ");
  const lines = [
    `### ${facts.startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC: ${pass ? "PASS" : "FAIL"} (${o.durationS} s, seed ${o.seed}, ${o.rate} submits/s)`,
    "",
    `Machine: ${machine()}; Node ${process.version}; PostgreSQL ${facts.postgresVersion}; commit ${facts.commit.start}${facts.commit.end === facts.commit.start ? "" : ` at the start, ${facts.commit.end} at the end (restarted processes may have run newer code)`}.`,
    `Run: ${facts.wallS.toFixed(0)} s wall in all (load ${o.durationS} s, then ${facts.drainedS.toFixed(0)} s waiting for tasks and webhooks${facts.drainComplete ? "" : `, stopped at the ${o.drainS} s bound`}); ` +
      `CPU ${facts.cpuBusyPct.toFixed(0)} % busy over the run, load average ${facts.loadavg.before.toFixed(2)} before it, mean ${facts.loadavg.mean.toFixed(2)} / max ${facts.loadavg.max.toFixed(2)} during it; ` +
      `harness ${facts.harnessCpuS.toFixed(0)} CPU-s, its event loop delay p99 ${facts.eventLoopP99Ms.toFixed(0)} ms / max ${facts.eventLoopMaxMs.toFixed(0)} ms; ` +
      `peak Postgres connections to the run's database ${facts.peakDbConnections}. Account: ${facts.account}.`,
    ...(facts.injected.length
      ? ["", `**Injected fakes** (--inject-fakes; each must show up below): ${facts.injected.join("; ")}.`]
      : []),
    "",
    "| check | value | |",
    "|---|---:|---|",
    ...checks.map((c) => `| ${c.name} | ${c.value} | ${c.ok ? "ok" : "**FAIL**"} |`),
    "",
    "| measure | value |",
    "|---|---:|",
    `| submits sent | ${f.submitted} |`,
    `| accepted (200 with a task id) | ${f.accepted} |`,
    `| refused (a 4xx answer) | ${f.refused.size ? byCode(f.refused) : 0} |`,
    `| never answered (abandoned at the end) | ${f.abandoned} |`,
    `| succeeded | ${f.succeeded} |`,
    `| failed, by error code | ${failedTotal}${failedTotal ? ` (${byCode(f.failedByCode)})` : ""} |`,
    `| submits retried / retries in all | ${f.retriedSubmits} / ${f.retries} |`,
    `| submits with no API process answering for more than 10 s | ${f.slowSubmits.length} |`,
    `| submit latency p50 / p90 / max (first send → answer, retries included) | ${s1(percentile(f.submitLatency, 50))} / ${s1(percentile(f.submitLatency, 90))} / ${s1(percentile(f.submitLatency, 100))} |`,
    `| submit → terminal p50 / p90 / max | ${s1(percentile(f.submitToTerminal, 50))} / ${s1(percentile(f.submitToTerminal, 90))} / ${s1(percentile(f.submitToTerminal, 100))} |`,
    `| upstream create requests / tasks created at the double | ${f.upstreamCreateAttempts} / ${f.upstreamCreated} |`,
    `| webhooks whose status differs from GET | ${f.webhookStatusMismatch.length} |`,
    `| tasks delivered under more than one webhook-id | ${f.tasksWithSeveralWebhookIds} |`,
    `| tasks in the store that no answer named | ${f.unnamedTasks.length} |`,
    ...samples("Lost", f.lost),
    ...samples("Failed", f.failed),
    ...samples("Duplicate upstream creates", f.duplicateCreates),
    ...samples("Keys with two tasks", f.keysWithTwoTasks),
    ...samples("Webhooks missing", f.webhooksMissing),
    ...samples("Webhooks unverifiable", f.webhooksUnverifiable),
    ...samples("Webhook status differs from GET", f.webhookStatusMismatch),
    ...samples("Submits with no answer for more than 10 s", f.slowSubmits),
    ...samples("Tasks in the store that no answer named", f.unnamedTasks),
  ];
  if (f.unexpectedExits.length) {
    lines.push("", `**Unexpected exits** (${f.unexpectedExits.length}):`, "");
    for (const e of f.unexpectedExits.slice(0, SAMPLE)) {
      lines.push(
        `- ${e.name} pid ${e.pid} at ${s1(e.at)}, ${e.phase}, exit ${e.code}; log \`${e.log}\`:`,
        "",
        "  ```",
        ...e.tail.split("\n").map((l) => `  ${l.slice(0, 400)}`),
        "  ```",
      );
    }
  }
  const errors = facts.logErrors;
  lines.push(
    "",
    `**Children's logs**: ${errors.total} error-level lines, ${errors.warnings} warnings${errors.groups.length ? "; errors by message:" : "."}`,
    ...(errors.groups.length ? ["", ...errors.groups.map((g) => `- ${g}`)] : []),
  );
  lines.push(
    "",
    "<details><summary>Chaos timeline (s since the load started)</summary>",
    "",
    ...facts.timeline.map((e) => `- ${(e.at / 1000).toFixed(1)}: ${e.what}`),
    "",
    "</details>",
    "",
    facts.logsKept
      ? `Children's logs (one file per process start): \`${facts.logDir}\`.`
      : "Children's logs were removed (every check passed; --keep-logs keeps them).",
  );
  return `${lines.join("\n")}\n`;
}

export const RESULTS_HEADING = "## Results";

/** Replace the results section of the doc (or append one), keeping everything above it. */
export function writeResults(path: string, results: string): void {
  let doc = "";
  try {
    doc = readFileSync(path, "utf8");
  } catch {}
  const at = doc.indexOf(`\n${RESULTS_HEADING}\n`);
  const top = at >= 0 ? doc.slice(0, at + 1) : doc ? `${doc.trimEnd()}\n\n` : "# Reliability\n\n";
  const intro =
    "The latest `npm run chaos -- --report docs/reliability.md`, written by the soak itself (this section is replaced on every such run).\n";
  writeFileSync(path, `${top}${RESULTS_HEADING}\n\n${intro}\n${results}`);
}
