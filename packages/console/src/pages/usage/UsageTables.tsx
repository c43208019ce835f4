/** The numbers behind the Usage chart: totals per model (and overall), and every day × model row the API returned. */
import type { UsageReport } from "@vidrelay/sdk";
import type { CSSProperties } from "react";
import { DataTable } from "../../components/DataTable.tsx";
import { formatMoney } from "../../components/ui.tsx";
import { formatSeconds, type UsageCounts } from "./usage-data.ts";

function CountCells({ counts, currency }: { counts: UsageCounts; currency: string }) {
  return (
    <>
      <td data-col="tasks">{counts.tasks}</td>
      <td data-col="succeeded">{counts.succeeded}</td>
      <td data-col="failed">{counts.failed}</td>
      <td data-col="in_progress">{counts.in_progress}</td>
      <td data-col="seconds" data-value={counts.seconds}>
        {formatSeconds(counts.seconds)}
      </td>
      <td data-col="cost" data-micros={counts.cost_micros}>
        {formatMoney(counts.cost, currency)}
      </td>
    </>
  );
}

const COUNT_HEADERS = ["Tasks", "Succeeded", "Failed", "In progress", "Seconds", "Cost"];

export function TotalsTable({
  byModel,
  report,
  colors,
}: {
  byModel: Map<string, UsageCounts>;
  report: UsageReport;
  colors: Map<string, string>;
}) {
  return (
    <DataTable
      aria-label="Totals per model"
      columns={["Model", ...COUNT_HEADERS]}
      foot={
        <tr data-model="all">
          <th scope="row">All models</th>
          <CountCells counts={report.totals} currency={report.currency} />
        </tr>
      }
    >
      {[...byModel].map(([model, counts]) => (
        <tr key={model} data-model={model}>
          <th scope="row" className="model-cell">
            <span className="swatch" style={{ "--swatch": colors.get(model) } as CSSProperties} />
            {model}
          </th>
          <CountCells counts={counts} currency={report.currency} />
        </tr>
      ))}
    </DataTable>
  );
}

export function DailyTable({ report }: { report: UsageReport }) {
  return (
    <DataTable aria-label="Usage per day and model" columns={["Day (UTC)", "Model", ...COUNT_HEADERS]}>
      {report.data.map((row) => (
        <tr key={`${row.date}/${row.model}`} data-date={row.date} data-model={row.model}>
          <td>{row.date}</td>
          <td>{row.model}</td>
          <CountCells counts={row} currency={report.currency} />
        </tr>
      ))}
    </DataTable>
  );
}
