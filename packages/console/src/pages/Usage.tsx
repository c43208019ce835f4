/**
 * Usage: tasks, seconds and cost per UTC day and model over a chosen range (GET /v1/usage), as a
 * stacked bar chart with its legend and tables, and the account's balance (GET /v1/balance).
 * Failed tasks are never billed: the page shows what the API reports, it computes no prices.
 */
import { type CSSProperties, useMemo, useState } from "react";
import { ErrorNote, formatMoney, formatTime, PageHeader, useLoad } from "../components/ui.tsx";
import { useSession } from "../session.tsx";
import { StackedBarChart } from "./usage/StackedBarChart.tsx";
import { DailyTable, TotalsTable } from "./usage/UsageTables.tsx";
import {
  formatSeconds,
  lastDays,
  loadUsage,
  type Metric,
  metricValue,
  modelColor,
  RANGES,
  type RangeDays,
  totalsByModel,
} from "./usage/usage-data.ts";
import "./usage/usage.css";

const METRIC_NAMES: Record<Metric, string> = { cost: "Cost", tasks: "Tasks", seconds: "Seconds" };

export function UsagePage() {
  const { client } = useSession();
  const [days, setDays] = useState<RangeDays>(7);
  const [metric, setMetric] = useState<Metric>("cost");
  const dates = useMemo(() => lastDays(days), [days]);
  const loaded = useLoad((signal) => loadUsage(client, dates, signal), [dates]);
  const report = loaded.data?.usage;
  const balance = loaded.data?.balance;

  const byModel = useMemo(() => totalsByModel(report?.data ?? []), [report]);
  const colors = useMemo(() => new Map([...byModel.keys()].map((m, i) => [m, modelColor(i)])), [byModel]);
  const cells = useMemo(() => {
    const map = new Map<string, number>();
    for (const row of report?.data ?? []) map.set(`${row.date}/${row.model}`, metricValue(row, metric));
    return map;
  }, [report, metric]);

  const currency = report?.currency ?? balance?.currency ?? "USD";
  const formatValue = (n: number) =>
    metric === "cost" ? formatMoney(n, currency) : metric === "seconds" ? formatSeconds(n) : String(n);
  const summary = report
    ? `${METRIC_NAMES[metric]} per day and model, ${report.start_date} to ${report.end_date}: ` +
      (byModel.size === 0
        ? "no tasks."
        : `${[...byModel].map(([m, c]) => `${m} ${formatValue(metricValue(c, metric))}`).join("; ")}; ` +
          `total ${formatValue(metricValue(report.totals, metric))}.`)
    : "";

  return (
    <section className="usage-page">
      <PageHeader title="Usage">
        <div className="usage-controls">
          <label htmlFor="usage-range">Range</label>
          <select
            id="usage-range"
            value={days}
            onChange={(e) => setDays(Number(e.target.value) as RangeDays)}
          >
            {RANGES.map((n) => (
              <option key={n} value={n}>
                Last {n} days
              </option>
            ))}
          </select>
          <label htmlFor="usage-metric">Chart</label>
          <select id="usage-metric" value={metric} onChange={(e) => setMetric(e.target.value as Metric)}>
            {(Object.keys(METRIC_NAMES) as Metric[]).map((m) => (
              <option key={m} value={m}>
                {METRIC_NAMES[m]}
              </option>
            ))}
          </select>
        </div>
      </PageHeader>
      <ErrorNote error={loaded.error} title="Could not load usage" />
      {balance ? (
        <section className="panel" aria-labelledby="balance-heading">
          <h2 id="balance-heading">Balance</h2>
          <dl className="facts balance-facts">
            <dt>Balance</dt>
            <dd data-balance="balance">{formatMoney(balance.balance, balance.currency)}</dd>
            <dt>Held by running tasks</dt>
            <dd data-balance="held">{formatMoney(balance.held, balance.currency)}</dd>
            <dt>Available</dt>
            <dd data-balance="available">{formatMoney(balance.available, balance.currency)}</dd>
            <dt>Updated</dt>
            <dd>{formatTime(balance.updated_at)}</dd>
          </dl>
        </section>
      ) : null}
      {report ? (
        <div className="panel" aria-busy={loaded.loading}>
          <h2>
            {METRIC_NAMES[metric]}
            {metric === "cost" ? ` (${currency})` : metric === "seconds" ? " (seconds of video)" : ""} per
            day, {report.start_date} – {report.end_date} (UTC)
          </h2>
          <StackedBarChart
            categories={dates}
            series={[...byModel.keys()].map((m) => ({ key: m, label: m, color: colors.get(m) ?? "" }))}
            value={(date, model) => cells.get(`${date}/${model}`) ?? 0}
            formatValue={formatValue}
            formatTick={(n) => n.toLocaleString(undefined, { maximumFractionDigits: 4 })}
            formatCategory={(date) => date.slice(5)}
            summary={summary}
          />
          {byModel.size > 0 ? (
            <ul className="legend" aria-label="Models">
              {[...byModel.keys()].map((m) => (
                <li key={m}>
                  <span style={{ "--swatch": colors.get(m) } as CSSProperties}>{m}</span>
                </li>
              ))}
            </ul>
          ) : (
            <p className="notice">No tasks in this range.</p>
          )}
          <p className="muted usage-note">
            Failed tasks are never billed; their cost is what the gateway reports (zero).
          </p>
        </div>
      ) : loaded.loading ? (
        <p className="muted">Loading…</p>
      ) : null}
      {report ? (
        <>
          <h2>Totals</h2>
          <TotalsTable byModel={byModel} report={report} colors={colors} />
          {report.data.length > 0 ? (
            <details className="usage-details">
              <summary>Per day and model</summary>
              <DailyTable report={report} />
            </details>
          ) : null}
        </>
      ) : null}
    </section>
  );
}
