/**
 * The faults: the scheduled ones (`strike`, each noted in the timeline with what it actually did),
 * the planted ones that prove the checks work (`injectFakes`), and the gateway's own record of what
 * went wrong, added to the sampled findings (`explain`).
 */
import type { Findings } from "./analyse.ts";
import type { Infra } from "./infra.ts";
import type { Submitter } from "./load.ts";
import { type ChaosEvent, describeEvent } from "./schedule.ts";
import type { Supervised } from "./supervisor.ts";

/** One scheduled fault, noted in the timeline with what it actually did. */
export async function strike(
  event: ChaosEvent,
  infra: Infra,
  procs: Map<string, Supervised>,
  note: (what: string, fault?: boolean, lastsMs?: number) => void,
): Promise<void> {
  switch (event.kind) {
    case "kill": {
      const proc = procs.get(event.target)!;
      const done = await proc.kill(event.restartAfterMs);
      note(`${describeEvent(event)}: ${done}`, !done.startsWith("skipped"), event.restartAfterMs);
      return;
    }
    case "pg-drop":
      note(`${describeEvent(event)}: ${infra.pgProxy.dropAll()} connections dropped`, true);
      return;
    case "pg-restart": {
      const before = infra.pgProxy.stats().live;
      infra.pgProxy.restart(event.downMs);
      note(`${describeEvent(event)}: ${before} connections dropped`, true, event.downMs);
      setTimeout(
        () => note(`Postgres accepts again (${infra.pgProxy.stats().refused} refused in all)`),
        event.downMs,
      );
      return;
    }
    case "s3-outage": {
      infra.s3Proxy.fail({ status: 503, ms: event.ms });
      note(describeEvent(event), true, event.ms);
      setTimeout(() => note(`S3 back (${infra.s3Proxy.stats().failed} requests failed in all)`), event.ms);
      return;
    }
    case "upstream-outage": {
      const rule = infra.ark.faults.add({
        match: { path: "^/api/v3/" },
        action: { error: "InternalServiceError" },
        count: -1,
      });
      note(describeEvent(event), true, event.ms);
      setTimeout(() => {
        const fired = infra.ark.faults.list().find((r) => r.id === rule.id)?.fired ?? 0;
        infra.ark.faults.remove(rule.id);
        note(`Ark back (${fired} requests answered 500)`);
      }, event.ms);
      return;
    }
  }
}

/**
 * Proof that the checks see what they claim to (--inject-fakes): one of each fault is planted in
 * the evidence the way the gateway would have caused it, and the report must count each one.
 */
export async function injectFakes(submitter: Submitter, infra: Infra, runId: string): Promise<string[]> {
  const done: string[] = [];
  const victim = submitter.submits.find((s) => s.state === "accepted");
  const create = infra.ark.journal
    .list({ method: "POST", path: "/api/v3/contents/generations/tasks" })
    .find((e) => e.status === 200 && victim && JSON.stringify(e.body).includes(victim.token));
  if (victim && create) {
    // A second real create of the same prompt at the double, as a repeated dispatch would send.
    const res = await fetch(`${infra.ark.baseUrl}/contents/generations/tasks`, {
      method: "POST",
      headers: { authorization: `Bearer ${infra.ark.keys[0]}`, "content-type": "application/json" },
      body: JSON.stringify(create.body),
    });
    done.push(`a second upstream create of submit #${victim.seq} (HTTP ${res.status})`);
  }
  const other = submitter.submits.find((s) => s.state === "accepted" && s !== victim);
  if (other) {
    // An answer naming a task the gateway never made: unknown to it (lost), and a key with two tasks.
    other.taskIds.push(`task_FAKE${runId}${"0".repeat(26 - runId.length)}`);
    done.push(
      `submit #${other.seq} told of a second, non-existent task (a lost task and a key with two tasks)`,
    );
  }
  const third = submitter.submits.find((s) => s.state === "accepted" && s !== victim && s !== other);
  if (third) {
    // Forget its deliveries: a terminal task without a webhook.
    const before = infra.deliveries.length;
    for (let i = infra.deliveries.length - 1; i >= 0; i--)
      if (third.taskIds.includes(infra.deliveries[i]!.taskId ?? "")) infra.deliveries.splice(i, 1);
    done.push(
      `submit #${third.seq}'s ${before - infra.deliveries.length} webhook(s) forgotten (a missing webhook)`,
    );
  }
  // A delivery signed with the wrong secret, straight to the receiver.
  await fetch(infra.receiverUrl, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "webhook-id": "msg_forged",
      "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
      "webhook-signature": "v1,Zm9yZ2VkIHNpZ25hdHVyZSBmb3JnZWQgc2lnbmF0dXJlIQ==",
    },
    body: JSON.stringify({ task_id: victim?.taskIds[0] ?? "task_none", status: "succeeded" }),
  });
  done.push("a delivery with a forged signature (an unverifiable webhook)");
  return done;
}

/** More of the gateway's own record for the sampled lost tasks and missing webhooks. */
export async function explain(findings: Findings, infra: Infra): Promise<void> {
  for (const sample of findings.lost.slice(0, 10)) {
    const jobs = await infra
      .query<{ name: string; state: string; retry_count: number; output: unknown }>(
        `select name, state, retry_count, output from pgboss.job where data->>'taskId' = $1
         union all select name, state, retry_count, output from pgboss.archive where data->>'taskId' = $1`,
        [sample.id],
      )
      .catch(() => []);
    sample.text += `; jobs: ${jobs.length ? jobs.map((j) => `${j.name} ${j.state} (retries ${j.retry_count}${j.output ? `, ${JSON.stringify(j.output).slice(0, 160)}` : ""})`).join(", ") : "none"}`;
  }
  for (const sample of findings.webhooksMissing.slice(0, 10)) {
    const rows = await infra
      .query<{
        id: string;
        status: string;
        attempts: number;
        last_status_code: number | null;
        last_error: string | null;
      }>(
        "select id, status, attempts, last_status_code, last_error from webhook_deliveries where task_id = $1",
        [sample.id],
      )
      .catch(() => []);
    sample.text += `; outbox: ${rows.length ? rows.map((r) => `${r.id} ${r.status}, ${r.attempts} attempts, last ${r.last_status_code ?? "-"} ${r.last_error ?? ""}`.trim()).join("; ") : "no delivery row"}`;
  }
}
