/**
 * What happened, from three independent witnesses: the client (what each submit was told), the
 * gateway (what GET says about each accepted task, and its store), and the outside world (the Ark
 * double's journal of creates, the webhook receiver). A check passes only when they agree. `analyse`
 * is pure, so what it counts depends on nothing but the evidence handed to it.
 */
import type { Delivery } from "./infra.ts";
import type { Submit } from "./load.ts";
import type { ExitRecord } from "./supervisor.ts";

export interface TimelineEntry {
  /** ms since the load started. */
  at: number;
  what: string;
  /** A fault (a kill, an outage, an unexpected exit), as opposed to a progress note. */
  fault?: boolean;
  /** When the fault ended (outages), in the same ms. */
  until?: number;
}

/** A task as GET /v1/video/generations/{id} showed it at the end (status 404: unknown). */
export interface FinalTask {
  httpStatus: number;
  status?: string;
  error?: { code?: string; message?: string };
}

export interface StoreTask {
  id: string;
  status: string;
  prompt: string;
  error_code: string | null;
  error_message: string | null;
  upstream_id: string | null;
  created_at: string;
  completed_at: string | null;
}

export interface UpstreamCreate {
  /** Wall-clock ms. */
  realTime: number;
  status?: number;
  seq: number;
}

export interface Evidence {
  submits: Submit[];
  finals: Map<string, FinalTask>;
  store: StoreTask[];
  creates: UpstreamCreate[];
  deliveries: Delivery[];
  exits: ExitRecord[];
  timeline: TimelineEntry[];
  /** Wall-clock ms when the load started: turns store and journal times into run times. */
  loadStartWall: number;
  tokenPattern: RegExp;
}

export interface Sample {
  id: string;
  text: string;
}

export interface Findings {
  submitted: number;
  accepted: number;
  refused: Map<string, number>;
  abandoned: number;
  succeeded: number;
  failedByCode: Map<string, number>;
  lost: Sample[];
  failed: Sample[];
  duplicateCreates: Sample[];
  upstreamCreateAttempts: number;
  upstreamCreated: number;
  keysWithTwoTasks: Sample[];
  webhooksMissing: Sample[];
  webhooksUnverifiable: Sample[];
  webhookStatusMismatch: Sample[];
  tasksWithSeveralWebhookIds: number;
  /** Store rows carrying a submit's token that no answer named (a submit never answered, or a stray). */
  unnamedTasks: Sample[];
  unexpectedExits: ExitRecord[];
  slowSubmits: Sample[];
  retriedSubmits: number;
  retries: number;
  submitLatency: number[];
  submitToTerminal: number[];
}

const TERMINAL = new Set(["succeeded", "failed"]);

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The chaos events inside [from, to] (run ms): what a task lived through, to point at a cause. */
function during(timeline: TimelineEntry[], from: number, to: number): string {
  const hits = timeline.filter((e) => e.fault && (e.until ?? e.at) >= from - 500 && e.at <= to + 500);
  if (hits.length === 0) return "no chaos during it";
  const shown = hits.slice(0, 4).map((e) => `${secs(e.at)} ${e.what}`);
  return `during it: ${shown.join("; ")}${hits.length > 4 ? `; +${hits.length - 4} more` : ""}`;
}

export function analyse(ev: Evidence): Findings {
  const run = (wall: number) => wall - ev.loadStartWall;
  const bySeq = new Map(ev.submits.map((s) => [s.seq, s]));
  const storeById = new Map(ev.store.map((t) => [t.id, t]));
  const accepted = ev.submits.filter((s) => s.state === "accepted");
  const refused = new Map<string, number>();
  for (const s of ev.submits.filter((x) => x.state === "refused")) {
    const code = `${s.refusal?.status} ${s.refusal?.code ?? "?"}`;
    refused.set(code, (refused.get(code) ?? 0) + 1);
  }

  const f: Findings = {
    submitted: ev.submits.length,
    accepted: accepted.length,
    refused,
    abandoned: ev.submits.filter((s) => s.state === "abandoned" || s.state === "pending").length,
    succeeded: 0,
    failedByCode: new Map(),
    lost: [],
    failed: [],
    duplicateCreates: [],
    upstreamCreateAttempts: ev.creates.length,
    upstreamCreated: ev.creates.filter((c) => c.status !== undefined && c.status < 300).length,
    keysWithTwoTasks: [],
    webhooksMissing: [],
    webhooksUnverifiable: [],
    webhookStatusMismatch: [],
    tasksWithSeveralWebhookIds: 0,
    unnamedTasks: [],
    unexpectedExits: ev.exits,
    slowSubmits: [],
    retriedSubmits: ev.submits.filter((s) => s.attempts.length > 1).length,
    retries: ev.submits.reduce((n, s) => n + s.attempts.length - 1, 0),
    submitLatency: ev.submits.flatMap((s) => (s.latencyMs === undefined ? [] : [s.latencyMs])),
    submitToTerminal: [],
  };

  const verifiedByTask = new Map<string, Delivery[]>();
  for (const d of ev.deliveries) {
    if (!d.verified) {
      f.webhooksUnverifiable.push({
        id: d.taskId ?? "(no task id)",
        text: `webhook-id ${d.webhookId || "(none)"} at ${secs(run(d.at))}: ${d.error}`,
      });
      continue;
    }
    if (!d.taskId) continue;
    const list = verifiedByTask.get(d.taskId) ?? [];
    list.push(d);
    verifiedByTask.set(d.taskId, list);
  }

  for (const s of accepted) {
    if (s.taskIds.length > 1)
      f.keysWithTwoTasks.push({
        id: s.key,
        text: `answers named ${s.taskIds.join(" and ")} (${s.attempts.length} attempts)`,
      });
    for (const id of s.taskIds) {
      const final = ev.finals.get(id);
      const row = storeById.get(id);
      const lived = during(
        ev.timeline,
        s.sentAt,
        row?.completed_at ? run(Number(row.completed_at)) : Infinity,
      );
      if (!final || final.httpStatus === 404 || !final.status || !TERMINAL.has(final.status)) {
        const seen = !final
          ? "never read"
          : final.httpStatus === 0
            ? "GET failed on both API processes for 60 s"
            : final.httpStatus === 404
              ? "GET answers 404: unknown to the gateway"
              : `still ${final.status ?? `HTTP ${final.httpStatus}`}`;
        const storeSays = row
          ? `store: ${row.status}, upstream ${row.upstream_id ?? "none"}`
          : "store: no such row";
        f.lost.push({ id, text: `submit #${s.seq}: ${seen}; ${storeSays}; ${lived}` });
        continue;
      }
      if (row?.completed_at) f.submitToTerminal.push(Number(row.completed_at) - s.sentWall);
      if (final.status === "succeeded") f.succeeded++;
      else {
        const code = final.error?.code ?? "(no code)";
        f.failedByCode.set(code, (f.failedByCode.get(code) ?? 0) + 1);
        f.failed.push({ id, text: `${code}: ${final.error?.message ?? ""}; ${lived}` });
      }
      const hooks = verifiedByTask.get(id) ?? [];
      if (hooks.length === 0)
        f.webhooksMissing.push({ id, text: `${final.status}, no signed delivery arrived` });
      if (new Set(hooks.map((h) => h.webhookId)).size > 1) f.tasksWithSeveralWebhookIds++;
      const wrong = hooks.find((h) => h.status !== final.status);
      if (wrong)
        f.webhookStatusMismatch.push({ id, text: `webhook said ${wrong.status}, GET says ${final.status}` });
    }
  }

  // The store's view of "two tasks for one key": rows whose prompts carry the same submit token.
  const rowsBySeq = new Map<number, StoreTask[]>();
  for (const row of ev.store) {
    const m = ev.tokenPattern.exec(row.prompt);
    if (!m) continue;
    const list = rowsBySeq.get(Number(m[1])) ?? [];
    list.push(row);
    rowsBySeq.set(Number(m[1]), list);
  }
  const named = new Set(ev.submits.flatMap((s) => s.taskIds));
  for (const [seq, rows] of rowsBySeq) {
    for (const row of rows.filter((r) => !named.has(r.id)))
      f.unnamedTasks.push({ id: row.id, text: `submit #${seq} (${bySeq.get(seq)?.state}); ${row.status}` });
    const key = bySeq.get(seq)?.key ?? `#${seq}`;
    if (rows.length > 1 && !f.keysWithTwoTasks.some((k) => k.id === key))
      f.keysWithTwoTasks.push({
        id: key,
        text: `the store holds ${rows.length} tasks for it: ${rows.map((r) => `${r.id} (${r.status})`).join(", ")}`,
      });
  }

  const createsBySeq = new Map<number, UpstreamCreate[]>();
  for (const c of ev.creates) {
    if (c.status === undefined || c.status >= 300) continue;
    const list = createsBySeq.get(c.seq) ?? [];
    list.push(c);
    createsBySeq.set(c.seq, list);
  }
  for (const [seq, list] of createsBySeq) {
    if (list.length < 2) continue;
    const s = bySeq.get(seq);
    const first = run(list[0]!.realTime);
    const last = run(list.at(-1)!.realTime);
    f.duplicateCreates.push({
      id: s?.taskIds.join(", ") || `submit #${seq}`,
      text: `submit #${seq} created upstream ${list.length}× at ${list.map((c) => secs(run(c.realTime))).join(", ")}; ${during(ev.timeline, first, last)}`,
    });
  }

  for (const s of ev.submits) {
    const took = s.latencyMs ?? Infinity;
    if (took <= 10_000) continue;
    const how = s.attempts.map((a) => `api-${a.api + 1} ${a.outcome}${a.status ? ` ${a.status}` : ""}`);
    f.slowSubmits.push({
      id: s.key,
      text: `${Number.isFinite(took) ? `answered after ${secs(took)}` : "never answered"} (sent at ${secs(s.sentAt)}; ${how.join(", ")})`,
    });
  }
  return f;
}

/** Which checks decide the exit code, in the order the report lists them. */
export function gates(f: Findings): Array<{ name: string; value: number; ok: boolean }> {
  const failed = [...f.failedByCode.values()].reduce((a, b) => a + b, 0);
  const rows = [
    { name: "lost tasks", value: f.lost.length },
    { name: "failed tasks", value: failed },
    { name: "duplicate upstream creates", value: f.duplicateCreates.length },
    { name: "keys with two tasks", value: f.keysWithTwoTasks.length },
    { name: "webhooks missing", value: f.webhooksMissing.length },
    { name: "webhooks unverifiable", value: f.webhooksUnverifiable.length },
    { name: "unexpected process exits", value: f.unexpectedExits.length },
  ];
  return rows.map((r) => ({ ...r, ok: r.value === 0 }));
}
