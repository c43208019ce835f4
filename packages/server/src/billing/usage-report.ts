/**
 * What was used and charged, read from the hold rows: the `usage` of one task object (the task
 * presenter asks, one task or a page at once) and the account's report behind GET /v1/usage.
 * Read-only; holds.ts writes the rows.
 */

import { invalid, shown } from "../domain/errors.ts";
import type { Owner } from "../domain/owner.ts";
import type { Resolution } from "../domain/request.ts";
import { dayOf, dayToDate } from "./limits.ts";
import { formatMoney } from "./money.ts";
import type { BillingRepository, Executor, UsageTotals } from "./repository.ts";
import type { HoldRow } from "./tables.ts";

/** The task object's `usage` (docs/api.md §4). */
export interface TaskUsage {
  seconds: number;
  resolution: Resolution;
  cost: string;
  currency: string;
}

export type UsageDimension = "day" | "model" | "key";

export interface UsageQuery {
  /** Inclusive UTC days, "YYYY-MM-DD". */
  startDate: string;
  endDate: string;
  model?: string;
  keyId?: string;
  groupBy?: UsageDimension[];
}

/** One group of the report: the repository's totals with the day as a date and the cost as money. */
export interface UsageRow extends Omit<UsageTotals, "day" | "cost"> {
  date?: string;
  cost: string;
  cost_micros: number;
}

export class UsageReport {
  constructor(private readonly repo: BillingRepository) {}

  /** The task object's `usage` (undefined while the task holds, or when it was never billed). */
  async usageForTask(taskId: string, executor?: Executor): Promise<TaskUsage | undefined> {
    const hold = await this.repo.holdOf(taskId, executor);
    return hold ? usageOf(hold) : undefined;
  }

  /** `usageForTask` for a page of tasks at once. */
  async usageForTasks(taskIds: string[], executor?: Executor): Promise<Map<string, TaskUsage>> {
    const out = new Map<string, TaskUsage>();
    if (taskIds.length === 0) return out;
    for (const hold of await this.repo.holdsOf(taskIds, executor)) {
      const usage = usageOf(hold);
      if (usage) out.set(hold.task_id, usage);
    }
    return out;
  }

  /** Tasks, seconds and cost of an account between two UTC days, grouped (default: by all three). */
  async report(owner: Owner, query: UsageQuery): Promise<{ rows: UsageRow[]; totals: UsageRow }> {
    const groupBy = query.groupBy ?? ["day", "model", "key"];
    const byDay = groupBy.includes("day");
    const byModel = groupBy.includes("model");
    const byKey = groupBy.includes("key");
    const groups = await this.repo.usageTotals(
      {
        accountId: owner.accountId,
        testMode: owner.testMode,
        from: dateToDay(query.startDate),
        to: dateToDay(query.endDate),
        model: query.model,
        keyId: query.keyId,
      },
      { byDay, byModel, byKey },
    );
    const rows: UsageRow[] = groups.map((g) => {
      const row: UsageRow = {
        tasks: g.tasks,
        succeeded: g.succeeded,
        failed: g.failed,
        in_progress: g.in_progress,
        seconds: g.seconds,
        cost: formatMoney(g.cost),
        cost_micros: g.cost,
      };
      if (byDay) row.date = dayToDate(g.day!);
      if (byModel) row.model = g.model;
      if (byKey) row.key_id = g.key_id;
      return row;
    });
    const totalCost = rows.reduce((s, r) => s + r.cost_micros, 0);
    const totals: UsageRow = {
      tasks: rows.reduce((s, r) => s + r.tasks, 0),
      succeeded: rows.reduce((s, r) => s + r.succeeded, 0),
      failed: rows.reduce((s, r) => s + r.failed, 0),
      in_progress: rows.reduce((s, r) => s + r.in_progress, 0),
      seconds: rows.reduce((s, r) => s + r.seconds, 0),
      cost: formatMoney(totalCost),
      cost_micros: totalCost,
    };
    return { rows, totals };
  }
}

/** A settled hold's usage; undefined while it is open (the task has not finished). */
export function usageOf(hold: HoldRow): TaskUsage | undefined {
  if (hold.status === "open") return undefined;
  return {
    seconds: hold.status === "captured" ? Number(hold.billed_seconds ?? hold.seconds) : 0,
    resolution: hold.resolution as Resolution, // written at submit from the validated request
    cost: formatMoney(Number(hold.amount_captured ?? 0)),
    currency: hold.currency,
  };
}

/** "YYYY-MM-DD" → its UTC day number; 400 for anything that is not a real date. */
export function dateToDay(date: string): number {
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(date) ? Date.parse(`${date}T00:00:00Z`) : Number.NaN;
  // Date.parse rolls 2026-02-30 over to March; a real date survives the round trip.
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== date) {
    throw invalid("invalid_date", `${shown(date)} is not a date; use YYYY-MM-DD (UTC)`, "date");
  }
  return dayOf(ms);
}
