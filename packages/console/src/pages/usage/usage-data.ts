/** What the Usage page derives from GET /v1/usage and GET /v1/balance (the SDK's types for both). */
import type { Balance, UsageReport, UsageRow, UsageTotals, VidRelay } from "@vidrelay/sdk";

/** The counts and cost of a row or a sum of rows (the report's `totals` has this shape). */
export type UsageCounts = Pick<
  UsageTotals,
  "tasks" | "succeeded" | "failed" | "in_progress" | "seconds" | "cost" | "cost_micros"
>;

export const RANGES = [7, 30, 90] as const;
export type RangeDays = (typeof RANGES)[number];

const DAY_MS = 86_400_000;

/** Every UTC date (YYYY-MM-DD) of the last `days` days, oldest first, ending today (the API's days are UTC). */
export function lastDays(days: number, now = Date.now()): string[] {
  const today = Math.floor(now / DAY_MS);
  return Array.from({ length: days }, (_, i) =>
    new Date((today - days + 1 + i) * DAY_MS).toISOString().slice(0, 10),
  );
}

export async function loadUsage(
  client: VidRelay,
  dates: string[],
  signal: AbortSignal,
): Promise<{ usage: UsageReport; balance: Balance }> {
  const [usage, balance] = await Promise.all([
    client.billing.usage(
      { start_date: dates[0], end_date: dates[dates.length - 1], group_by: "day,model" },
      { signal },
    ),
    client.billing.balance({}, { signal }),
  ]);
  return { usage, balance };
}

/** Per-model sums of the day×model rows (cost summed in integer micro-units, so no rounding drift). */
export function totalsByModel(rows: UsageRow[]): Map<string, UsageCounts> {
  const byModel = new Map<string, UsageCounts>();
  for (const row of rows) {
    const model = row.model ?? "(unknown)";
    const sum = byModel.get(model) ?? {
      tasks: 0,
      succeeded: 0,
      failed: 0,
      in_progress: 0,
      seconds: 0,
      cost: "0",
      cost_micros: 0,
    };
    sum.tasks += row.tasks;
    sum.succeeded += row.succeeded;
    sum.failed += row.failed;
    sum.in_progress += row.in_progress;
    sum.seconds += row.seconds;
    sum.cost_micros += row.cost_micros;
    sum.cost = microsToDecimal(sum.cost_micros);
    byModel.set(model, sum);
  }
  return new Map([...byModel].sort(([a], [b]) => a.localeCompare(b)));
}

export function microsToDecimal(micros: number): string {
  const sign = micros < 0 ? "-" : "";
  const abs = Math.abs(micros);
  const fraction = String(abs % 1_000_000).padStart(6, "0");
  return `${sign}${Math.floor(abs / 1_000_000)}.${fraction}`;
}

/** Distinct in light and dark themes; models beyond eight reuse them in order. */
const PALETTE = ["#2f5bd3", "#d97706", "#1b7f3b", "#c2185b", "#7c3aed", "#0e7490", "#b3261e", "#6b7280"];

export function modelColor(index: number): string {
  return PALETTE[index % PALETTE.length] ?? "#6b7280";
}

export type Metric = "cost" | "tasks" | "seconds";

export function metricValue(counts: UsageCounts, metric: Metric): number {
  if (metric === "cost") return counts.cost_micros / 1_000_000;
  return metric === "tasks" ? counts.tasks : counts.seconds;
}

export function formatSeconds(seconds: number): string {
  return `${seconds.toLocaleString(undefined, { maximumFractionDigits: 1 })} s`;
}
