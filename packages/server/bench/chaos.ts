/**
 * The chaos soak: the cluster of docs/deployment.md (two API processes, two workers, Postgres with
 * pg-boss, an S3 API, an upstream provider, a webhook receiver) as real processes on loopback, under
 * a steady load and a seeded schedule of faults (processes SIGKILLed and restarted, Postgres
 * connections dropped and refused, S3 and the provider failing for a while), then a count of
 * everything that was lost, doubled or left unsaid. `npm run chaos -- --help`; docs/reliability.md
 * explains each number. Exit 0 only when every check passes; 1 when one fails; 2 when the harness
 * itself could not run; 130 on Ctrl-C.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setTimeout as sleep } from "node:timers/promises";
import { clusterEnv } from "../test/cluster/env.ts";
import { freePort } from "../test/helpers/process.ts";
import {
  analyse,
  type Evidence,
  type FinalTask,
  gates,
  type StoreTask,
  type TimelineEntry,
} from "./chaos/analyse.ts";
import { explain, injectFakes, strike } from "./chaos/faults.ts";
import { type Infra, startInfra } from "./chaos/infra.ts";
import { callAny, MODEL, Submitter, tokenPattern, UPSTREAM_MODEL } from "./chaos/load.ts";
import { gitCommit, logErrors, type RunFacts, renderReport, writeResults } from "./chaos/report.ts";
import { buildSchedule, type ChaosOptions, PROCESS_NAMES, parseOptions } from "./chaos/schedule.ts";
import { type ExitRecord, processEnv, Supervised } from "./chaos/supervisor.ts";

const ADMIN_KEY = `sk-chaos${randomBytes(24).toString("hex")}`;
const log = (text: string) => process.stderr.write(`[chaos] ${text}\n`);

function cpuTicks(): { busy: number; total: number } {
  const fields = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.reduce((a, b) => a + b, 0);
  // idle + iowait
  return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
}

async function main(options: ChaosOptions, abort: AbortController, cleanup: Array<() => Promise<unknown>>) {
  const startedAt = new Date();
  const started = performance.now();
  const cpuBefore = cpuTicks();
  const loadBefore = loadavg()[0]!;
  const harnessCpuBefore = process.cpuUsage();
  const runId = randomBytes(3).toString("hex");
  const logDir = await mkdtemp(join(tmpdir(), `vidrelay-chaos-${runId}-logs-`));
  // Pushed first, so it runs last (after the children are gone); kept only when they explain a failure.
  let keepLogDir = options.keepLogs;
  cleanup.push(async () => {
    if (!keepLogDir) await rm(logDir, { recursive: true, force: true });
  });
  const commitAtStart = gitCommit();
  const dataRoot = await mkdtemp(join(tmpdir(), `vidrelay-chaos-${runId}-data-`));
  cleanup.push(() => rm(dataRoot, { recursive: true, force: true }));
  log(`run ${runId}, seed ${options.seed}: logs in ${logDir}`);

  const timeline: TimelineEntry[] = [];
  // Run times count from the start of the load; until then from the harness's start, shifted below.
  let loadStart = performance.now();
  const clock = () => performance.now() - loadStart;
  const note = (what: string, fault = false, lastsMs = 0) => {
    timeline.push({ at: clock(), what, fault, until: clock() + lastsMs });
    log(`${(clock() / 1000).toFixed(1).padStart(7)} s  ${what}`);
  };

  const infra: Infra = await startInfra(options, cleanup);
  log(`database ${infra.databaseName}; Postgres ${infra.postgresVersion}`);

  const ports = new Map<string, number>();
  for (const name of PROCESS_NAMES) ports.set(name, await freePort());
  const apis = ["api-1", "api-2"].map((n) => `http://127.0.0.1:${ports.get(n)}`);
  const exits: ExitRecord[] = [];
  const procs = new Map<string, Supervised>();
  for (const name of PROCESS_NAMES) {
    const dataDir = join(dataRoot, name);
    const base = clusterEnv(
      {
        databaseUrl: infra.proxiedUrl,
        storageUrl: infra.storageUrl,
        pgbossSchema: "pgboss",
        // Both API processes build URLs on api-1's origin, as if behind one balancer address.
        publicUrl: apis[0]!,
        bootstrapKey: ADMIN_KEY,
        secret: `chaos-${runId}-secret-shared-by-every-process`,
      },
      { port: ports.get(name)!, dataDir },
      {
        VIDRELAY_LOG_LEVEL: options.logLevel,
        // clusterEnv's 0.01 suits doubles finishing at once; the double's tasks here take a tenth of
        // a real Seedance task's time (infra.ts), so the polls come a tenth as far apart.
        VIDRELAY_UPSTREAM_POLL_SCALE: "0.1",
      },
    );
    const { command, env } = processEnv(base, name);
    const proc = new Supervised(
      name,
      command,
      env,
      logDir,
      clock,
      (exit) => {
        exits.push(exit);
        note(
          `UNEXPECTED EXIT ${exit.name} pid ${exit.pid} (${exit.phase}, ${exit.code}); log ${exit.log}`,
          true,
        );
      },
      note,
    );
    procs.set(name, proc);
  }
  cleanup.push(() => Promise.all([...procs.values()].map((p) => p.stop())));
  const killAll = () => {
    for (const p of procs.values()) p.killNow();
  };
  process.once("exit", killAll);

  // api-1 alone first: it runs the migrations and installs pg-boss's schema without a race.
  await procs.get("api-1")!.start();
  await Promise.all(["api-2", "worker-1", "worker-2"].map((n) => procs.get(n)!.start()));
  if (abort.signal.aborted) return 130;

  // Setup, as an operator would: the Ark channel, a prepaid customer account with a key, money.
  const admin = (path: string, json?: unknown) => callAny(apis, ADMIN_KEY, path, { json });
  const channel = await admin("/v1/admin/channels", {
    provider: "ark",
    base_url: infra.ark.baseUrl,
    api_key: infra.ark.keys[0],
    models: { [MODEL]: UPSTREAM_MODEL },
    max_concurrent: 1000,
  });
  if (channel.status !== 200) throw new Error(`adding the Ark channel: ${JSON.stringify(channel.json)}`);
  const created = await admin("/v1/admin/keys", { account_name: `chaos ${runId}`, name: "chaos soak" });
  const customer = created.json as { key?: string; account_id?: string; account?: { billing_mode?: string } };
  if (created.status !== 200 || !customer.key || !customer.account_id)
    throw new Error(`creating the customer key: ${JSON.stringify(created.json)}`);
  const topup = await admin(`/v1/admin/accounts/${customer.account_id}/topup`, {
    amount: "1000000",
    idempotency_key: `chaos-${runId}`,
  });
  if (topup.status !== 200) throw new Error(`top-up: ${JSON.stringify(topup.json)}`);
  // The soak is about faults, not quotas: a default tasks-in-flight or per-minute limit would turn
  // tasks held up by the chaos into 429s, and fewer accepted tasks into a weaker test.
  const limits = await callAny(apis, ADMIN_KEY, `/v1/admin/accounts/${customer.account_id}/limits`, {
    method: "PUT",
    json: { requests_per_minute: 1_000_000, max_concurrent: 1_000_000 },
  });
  if (limits.status !== 200) throw new Error(`raising the account's limits: ${JSON.stringify(limits.json)}`);
  const secret = await callAny(apis, customer.key, "/v1/webhook-secret");
  infra.setWebhookSecret((secret.json as { secret: string }).secret);
  const account = `a ${customer.account?.billing_mode ?? "?"} account (${customer.account_id}) topped up with 1,000,000, its rate and in-flight limits raised to 1,000,000, and its own non-admin key`;

  // Watchers for the report: load, connections, the harness's own responsiveness.
  const loads: number[] = [];
  let peakDb = 0;
  const loop = monitorEventLoopDelay({ resolution: 20 });
  loop.enable();
  const watcher = setInterval(() => {
    loads.push(loadavg()[0]!);
    infra
      .query<{ n: string }>("select count(*) as n from pg_stat_activity where datname = current_database()")
      .then((r) => {
        peakDb = Math.max(peakDb, Number(r[0]?.n ?? 0));
      })
      .catch(() => {});
  }, 2_000);
  cleanup.push(async () => clearInterval(watcher));

  // The load and the chaos start together.
  const durationMs = options.durationS * 1000;
  const schedule = buildSchedule(options.seed, durationMs);
  const setupMs = performance.now() - loadStart;
  for (const entry of timeline) {
    entry.at -= setupMs;
    if (entry.until !== undefined) entry.until -= setupMs;
  }
  for (const exit of exits) exit.at -= setupMs;
  loadStart = performance.now();
  const loadStartWall = Date.now();
  note(
    `load starts: ${options.rate} submits/s for ${options.durationS} s; ${schedule.length} faults scheduled`,
  );
  const timers = schedule.map((event) => setTimeout(() => void strike(event, infra, procs, note), event.at));
  cleanup.push(async () => timers.forEach(clearTimeout));
  const submitter = new Submitter(apis, customer.key, runId, options.seed, infra.receiverUrl, clock);
  await submitter.run(options.rate, durationMs, abort.signal);
  note(`load stops: ${submitter.submits.length} submits sent, ${submitter.inFlight()} still unanswered`);
  await submitter.settle(abort.signal.aborted ? 0 : 60_000);
  timers.forEach(clearTimeout);
  if (abort.signal.aborted) return 130;

  // Drain: until every accepted task is terminal and has a signed webhook, within the bound.
  const drainStart = performance.now();
  const accepted = () => submitter.submits.flatMap((s) => s.taskIds);
  let drainComplete = false;
  for (let lastLog = 0; performance.now() - drainStart < options.drainS * 1000 && !abort.signal.aborted; ) {
    const ids = accepted();
    const rows = await infra
      .query<{ id: string; status: string }>("select id, status from tasks where id = any($1)", [ids])
      .catch(() => []);
    const terminal = rows.filter((r) => r.status === "succeeded" || r.status === "failed").map((r) => r.id);
    const hooked = new Set(infra.deliveries.filter((d) => d.verified).map((d) => d.taskId));
    const waitingHooks = terminal.filter((id) => !hooked.has(id)).length;
    const open = ids.length - terminal.length;
    if (open === 0 && waitingHooks === 0) {
      drainComplete = true;
      break;
    }
    if (performance.now() - lastLog > 10_000) {
      lastLog = performance.now();
      note(`draining: ${open} task(s) not terminal, ${waitingHooks} terminal task(s) without a webhook`);
    }
    await sleep(2_000);
  }
  const drainedS = (performance.now() - drainStart) / 1000;
  note(drainComplete ? "drained: every task terminal and every webhook in" : "drain bound reached");
  if (abort.signal.aborted) return 130;

  const injected = options.injectFakes ? await injectFakes(submitter, infra, runId) : [];

  // The evidence: GET every accepted task through the API, the store's rows, the double's journal.
  const finals = new Map<string, FinalTask>();
  const ids = [...new Set(accepted())];
  for (let i = 0; i < ids.length; i += 16) {
    await Promise.all(
      ids.slice(i, i + 16).map(async (id) => {
        const res = await callAny(apis, customer.key!, `/v1/video/generations/${id}`).catch(() => undefined);
        const json = res?.json as
          | { status?: string; error?: { code?: string; message?: string } }
          | undefined;
        finals.set(id, { httpStatus: res?.status ?? 0, status: json?.status, error: json?.error });
      }),
    );
  }
  const store = await infra.query<StoreTask>(
    `select id, status, prompt, error_code, error_message, upstream_id, created_at::text, completed_at::text
       from tasks where account_id = $1`,
    [customer.account_id],
  );
  const pattern = tokenPattern(runId);
  const creates = infra.ark.journal
    .list({ method: "POST", path: "/api/v3/contents/generations/tasks" })
    .flatMap((e) => {
      const m = pattern.exec(JSON.stringify(e.body ?? ""));
      return m ? [{ realTime: e.realTime, status: e.status, seq: Number(m[1]) }] : [];
    });
  const evidence: Evidence = {
    submits: submitter.submits,
    finals,
    store,
    creates,
    deliveries: infra.deliveries,
    exits,
    timeline,
    loadStartWall,
    tokenPattern: pattern,
  };
  const findings = analyse(evidence);
  await explain(findings, infra);

  loop.disable();
  const cpuAfter = cpuTicks();
  const harnessCpu = process.cpuUsage(harnessCpuBefore);
  const pass = gates(findings).every((g) => g.ok);
  const keepLogs = options.keepLogs || !pass;
  const facts: RunFacts = {
    options,
    startedAt,
    wallS: (performance.now() - started) / 1000,
    postgresVersion: infra.postgresVersion,
    logErrors: logErrors(logDir),
    loadavg: {
      before: loadBefore,
      max: Math.max(0, ...loads),
      mean: loads.length ? loads.reduce((a, b) => a + b, 0) / loads.length : 0,
    },
    cpuBusyPct: (100 * (cpuAfter.busy - cpuBefore.busy)) / Math.max(1, cpuAfter.total - cpuBefore.total),
    harnessCpuS: (harnessCpu.user + harnessCpu.system) / 1e6,
    eventLoopP99Ms: loop.percentile(99) / 1e6,
    eventLoopMaxMs: loop.max / 1e6,
    peakDbConnections: peakDb,
    drainedS,
    drainComplete,
    logDir,
    logsKept: keepLogs,
    commit: { start: commitAtStart, end: gitCommit() },
    account,
    timeline,
    injected,
  };
  keepLogDir = keepLogs;
  const report = renderReport(findings, facts);
  process.stdout.write(report);
  if (options.report) {
    // npm runs workspace scripts in the package folder; a relative path means where npm was run.
    const path = resolve(process.env.INIT_CWD ?? process.cwd(), options.report);
    writeResults(path, report);
    log(`results written to ${path}`);
  }
  return pass ? 0 : 1;
}

async function run(): Promise<number> {
  let options: ChaosOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 2;
  }
  const abort = new AbortController();
  const cleanup: Array<() => Promise<unknown>> = [];
  let interrupts = 0;
  const onSignal = () => {
    interrupts++;
    if (interrupts > 1) {
      log("second interrupt: exiting now (children SIGKILLed; the database may be left behind)");
      process.exit(130);
    }
    log("interrupted: cleaning up (Ctrl-C again to exit at once)");
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  let code: number;
  try {
    code = await main(options, abort, cleanup);
  } catch (error) {
    log(`harness error: ${(error as Error).stack ?? error}`);
    code = 2;
  } finally {
    log("cleaning up");
    for (const fn of cleanup.reverse()) {
      await Promise.race([fn().catch((e) => log(`cleanup: ${(e as Error).message}`)), sleep(30_000)]);
    }
  }
  return abort.signal.aborted ? 130 : code;
}

process.exitCode = await run();
// Keep-alive sockets of the fetch pool would hold the process open for a few seconds more.
setTimeout(() => process.exit(), 100).unref();
