import type { ProfileSummary } from "./profile.ts";

export const int = (n: number) => Math.round(n).toLocaleString("en-US");
export const ms = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(1));
export const pct = (ratio: number) => `${Math.round(ratio * 100)} %`;
export const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  const align = header.map((_, i) => (i === 0 ? "---" : "---:"));
  return [line(header), line(align), ...rows.map(line)].join("\n");
}

/** A collapsed block with where the gateway's main thread spent its CPU time during one load window. */
export function profileDetails(title: string, summary: ProfileSummary): string {
  const share = (x: number) => `${((x / summary.busyMs) * 100).toFixed(1)} %`;
  const busy = ((summary.busyMs / summary.totalMs) * 100).toFixed(0);
  return [
    "<details>",
    `<summary>CPU profile, ${title}: main thread busy ${busy} % of ${(summary.totalMs / 1000).toFixed(1)} s sampled</summary>`,
    "",
    "The profiler samples the main thread's stack on a wall-clock timer, so a native call's share includes " +
      "time the thread spent blocked or descheduled inside it: `writev` is the socket write (which on this " +
      "2-core machine also wakes the load generator), `run`/`all`/`Statement` are better-sqlite3 executing and " +
      "compiling statements (and, for `run`, writing the WAL).",
    "",
    "Self time by component (share of busy time):",
    "",
    table(
      ["component", "self"],
      summary.components.slice(0, 12).map((c) => [c.name, share(c.ms)]),
    ),
    "",
    "Hottest functions by self time:",
    "",
    table(
      ["function", "self"],
      summary.selfFunctions.slice(0, 15).map((f) => [`\`${f.name}\``, share(f.ms)]),
    ),
    "",
    "vidrelay's own functions by inclusive time (everything they call, not exclusive of each other):",
    "",
    table(
      ["function", "inclusive"],
      summary.ownInclusive.slice(0, 12).map((f) => [`\`${f.name}\``, share(f.ms)]),
    ),
    "",
    "</details>",
  ].join("\n");
}
