/**
 * The report's prose: the summary against the targets and the notes under each table, written from
 * the measured values so the explanation in docs/benchmarks.md always matches its numbers.
 */
import {
  BASELINE,
  type CaseResult,
  FASTIFY,
  GATEWAY,
  GATEWAY_TMPFS,
  type StoreResult,
} from "../cases/api.ts";
import type { UploadCase } from "../cases/uploads.ts";
import { int, mib, ms, pct, table } from "../lib/markdown.ts";
import type { HotPaths } from "../lib/micro.ts";
import { GET_TARGET, POST_TARGET, RSS_TARGET } from "../lib/settings.ts";

const statsOf = (c: CaseResult, label: string) => c.targets.find((t) => t.label === label)?.stats;

export function summary(api: StoreResult[], uploads: UploadCase[]): string {
  const rows: string[][] = [];
  for (const [name, pick, target] of [
    ["GET task", (r: StoreResult) => r.get, GET_TARGET],
    ["POST submit", (r: StoreResult) => r.post, POST_TARGET],
  ] as const) {
    for (const r of api) {
      const g = statsOf(pick(r), GATEWAY)!;
      const b = statsOf(pick(r), BASELINE)!;
      const ratio = g.rps / b.rps;
      rows.push([
        `${name}, ${r.store}`,
        `${int(g.rps)} req/s`,
        `${int(b.rps)} req/s`,
        `${pct(ratio)} (CPU/req: ${pct(b.cpuUsPerRequest / g.cpuUsPerRequest)})`,
        `≥ ${pct(target)}`,
        ratio >= target ? "met" : "**missed**",
      ]);
    }
  }
  for (const c of uploads) {
    rows.push([
      `upload ${c.label}, throughput`,
      `${c.gateway.mibPerSecond.toFixed(0)} MiB/s`,
      `${c.baseline.mibPerSecond.toFixed(0)} MiB/s`,
      pct(c.gateway.mibPerSecond / c.baseline.mibPerSecond),
      "",
      "",
    ]);
    if (c.label.includes("200")) {
      rows.push([
        `upload ${c.label}, peak RSS growth`,
        mib(c.gateway.peakGrowth),
        mib(c.baseline.peakGrowth),
        "",
        "< 64 MiB",
        c.gateway.peakGrowth < RSS_TARGET ? "met" : "**missed**",
      ]);
    }
  }
  return table(["case", "gateway", "baseline", "gateway/baseline", "target", ""], rows);
}

/** "framework" and "vidrelay" shares of the gateway's CPU per request, from the bare-Fastify reference. */
function split(c: CaseResult): string {
  const g = statsOf(c, GATEWAY)!;
  const b = statsOf(c, BASELINE)!;
  const f = statsOf(c, FASTIFY);
  const base = `${int(g.cpuUsPerRequest)} µs of gateway CPU per request against ${int(b.cpuUsPerRequest)} µs for the baseline`;
  if (!f) return `${base}.`;
  return (
    `${base} and ${int(f.cpuUsPerRequest)} µs for bare Fastify: Fastify itself accounts for ` +
    `${int(f.cpuUsPerRequest - b.cpuUsPerRequest)} µs, vidrelay's own path (plugins, hooks, auth, store, ` +
    `serialisation) for ${int(g.cpuUsPerRequest - f.cpuUsPerRequest)} µs.`
  );
}

function otherLoadNote(results: StoreResult[], pick: (r: StoreResult) => CaseResult): string {
  const worst = Math.max(...results.flatMap((r) => pick(r).targets.map((t) => t.stats.otherCores)));
  if (worst < 0.25) return "";
  return (
    `- Other processes used up to ${worst.toFixed(2)} cores during these rounds (for Postgres, the Postgres ` +
    `server's own work counts here too); req/s and latency are then understated for whichever server ran ` +
    `during the busy moments, while CPU µs/request is much less affected: compare on that column.`
  );
}

/** What the target leaves the gateway, in CPU per request, next to what bare Fastify and one query cost. */
function budget(c: CaseResult, target: number, what: string, floor: string): string {
  const b = statsOf(c, BASELINE)!;
  const f = statsOf(c, FASTIFY);
  const allowed = b.cpuUsPerRequest / target;
  return (
    `- Scale of the target: both servers are CPU-bound here, so ${pct(target)} of the baseline's req/s means ` +
    `at most ≈ ${int(allowed)} µs of gateway CPU per request` +
    (f
      ? `; bare Fastify already uses ${int(f.cpuUsPerRequest)} µs of that, leaving ≈ ${int(allowed - f.cpuUsPerRequest)} µs`
      : "") +
    ` for ${what}. ${floor}`
  );
}

export function getNotes(results: StoreResult[], hot: HotPaths): string {
  const lines = results.map((r) => `- ${r.store}: ${split(r.get)}`);
  const cached = hot.costs.find((c) => c.name.startsWith("GET: the same SELECT on a cached"));
  lines.push(
    budget(
      results[0]!.get,
      GET_TARGET,
      "hooks, auth, the task object and serialisation",
      cached
        ? `A store read alone costs ${cached.cpuUs.toFixed(0)} µs even on a cached statement, which is why an ` +
            "unchanged task is served from memory on SQLite (below); Postgres reads it every time."
        : "",
    ),
  );
  lines.push(
    "- Per GET the gateway's path is: `genReqId` (src/server.ts) takes a random id from a pooled CSPRNG buffer " +
      "(`randomAlphanumeric`); an onRequest hook sets `x-request-id`; the /v1 onRequest hook runs " +
      "`AuthService.authenticate` (regex, SHA-256 of the key, then a cache hit: no query); the route asks " +
      "`TaskObjectReader` (src/tasks/object-cache.ts): on SQLite one `PRAGMA data_version` (has another process " +
      "committed?) and, when nothing changed the task, the presented object from memory with its ETag; otherwise " +
      "`TaskRepository.get` (one SELECT through Kysely), `toApi`, and the object is kept. Fastify serialises; " +
      "the onResponse hook observes the prom-client histogram.",
  );
  const note = otherLoadNote(results, (r) => r.get);
  if (note) lines.push(note);
  return lines.join("\n");
}

export function postNotes(results: StoreResult[], hot: HotPaths): string {
  const submit = hot.costs.find((c) => c.name.startsWith("POST: `TaskService.submit`, SQLite file on tmpfs"));
  const lines = results.map((r) => {
    let line = `- ${r.store}: ${split(r.post)}`;
    const disk = statsOf(r.post, GATEWAY)!;
    const tmpfs = statsOf(r.post, GATEWAY_TMPFS);
    if (tmpfs) {
      line +=
        ` With the SQLite file on tmpfs the same gateway does ${int(tmpfs.rps)} req/s ` +
        `(${int(tmpfs.cpuUsPerRequest)} µs CPU/req, p99 ${ms(tmpfs.p99Ms)} ms) against ${int(disk.rps)} req/s ` +
        `(p99 ${ms(disk.p99Ms)} ms) on disk: that difference is waiting on WAL writes to the disk.`;
    }
    return line;
  });
  lines.push(
    budget(
      results[0]!.post,
      POST_TARGET,
      "validation and a durable transaction",
      submit
        ? `\`TaskService.submit\` alone, one at a time with the store on tmpfs, costs ${submit.cpuUs.toFixed(0)} µs of ` +
            `CPU against the ≈ ${int(statsOf(results[0]!.post, BASELINE)!.cpuUsPerRequest / POST_TARGET)} µs the ` +
            "target allows a whole request: fewer and cheaper statements per submit are what would move this number."
        : "",
    ),
    "- Per submit: JSON body parse (secure-json-parse), `normalizeSubmit`, random ids, then one transaction " +
      "with the task insert, the billing hold (`BillingHolds.holdForTask`: price lookup and usage counters) " +
      "and the job insert; the statements are listed under the table below (Kysely compiles each, better-sqlite3 " +
      "reuses the prepared statement). On SQLite the submits that arrive in one event-loop turn share one " +
      "transaction, a savepoint each, and one COMMIT (`store/transaction-group.ts`); better-sqlite3 still runs it " +
      "all synchronously on the event loop, so a COMMIT that waits on the disk holds up every other request too " +
      "(see the p99s). With Postgres, each statement is a round trip to a server that shares the same two cores.",
  );
  const note = otherLoadNote(results, (r) => r.post);
  if (note) lines.push(note);
  return lines.join("\n");
}

export function costNotes(hot: HotPaths): string {
  const find = (prefix: string) => hot.costs.find((c) => c.name.startsWith(prefix));
  const lines: string[] = [];
  const get = find("GET: `TaskRepository.get`");
  const fresh = find("GET: the same SELECT, prepared");
  const cached = find("GET: the same SELECT on a cached");
  if (get && fresh && cached) {
    lines.push(
      `- One store read through Kysely costs ${get.cpuUs.toFixed(0)} µs of CPU. Kysely's SQLite driver ` +
        "(`SqliteConnection.executeQuery` in kysely/dist/esm/dialect/sqlite/sqlite-driver.js) calls " +
        `\`db.prepare(sql)\` for every query: the same SELECT costs ${fresh.cpuUs.toFixed(0)} µs prepared ` +
        `each time and ${cached.cpuUs.toFixed(0)} µs on a cached statement, so about ` +
        `${(fresh.cpuUs - cached.cpuUs).toFixed(0)} µs of every statement is compiling SQL that never changes.`,
    );
  }
  const { get: getSql, submit: submitSql } = hot.statements;
  if (submitSql.length) {
    lines.push(
      `- One GET runs ${getSql.length} statement(s); one submit runs **${submitSql.length}** (listed below): ` +
        "each is compiled by Kysely and prepared anew by better-sqlite3, and with Postgres each is a round trip.",
    );
  }
  const disk = find("POST: `TaskService.submit`, SQLite file in the data dir");
  const tmpfs = find("POST: `TaskService.submit`, SQLite file on tmpfs");
  if (disk) {
    lines.push(
      `- A submit costs ${disk.cpuUs.toFixed(0)} µs of CPU and ${disk.wallUs.toFixed(0)} µs of wall time with the ` +
        "SQLite file on this machine's disk" +
        (tmpfs
          ? `, against ${tmpfs.cpuUs.toFixed(0)} µs CPU / ${tmpfs.wallUs.toFixed(0)} µs wall on tmpfs: wall above ` +
            "CPU is the WAL writes waiting on the disk inside the synchronous better-sqlite3 call, with the " +
            "event loop blocked."
          : "."),
    );
  }
  if (Number.isFinite(hot.walPagesPerSubmit)) {
    lines.push(
      `- Each submit writes ${hot.walPagesPerSubmit.toFixed(1)} pages (4 KiB each) to the SQLite WAL (measured ` +
        "with auto-checkpoints off): the rows it inserts or updates and every index they touch. `tasks` has " +
        `${hot.indexes["tasks"] ?? "?"} indexes (its text primary key and unique media token included) and ` +
        `\`jobs\` ${hot.indexes["jobs"] ?? "?"}; random \`task_…\`/\`job_…\` ids and tokens put each insert ` +
        "on a different leaf page of the indexes keyed by them.",
    );
  }
  return lines.join("\n");
}

export function uploadNotes(cases: UploadCase[]): string {
  const lines: string[] = [];
  for (const c of cases) {
    const g = c.gateway;
    const b = c.baseline;
    const big = c.label.includes("200");
    const verdict = big ? ` (${g.peakGrowth < RSS_TARGET ? "meets" : "**misses**"} < 64 MiB)` : "";
    lines.push(
      `- ${c.label}: gateway ${g.mibPerSecond.toFixed(0)} MiB/s (${pct(g.mibPerSecond / b.mibPerSecond)} of the ` +
        `baseline's ${b.mibPerSecond.toFixed(0)} MiB/s), ${ms(g.cpuMsPerUpload)} ms of CPU per upload against ` +
        `${ms(b.cpuMsPerUpload)} ms; peak RSS growth ${mib(g.peakGrowth)}${verdict} against ` +
        `${mib(b.peakGrowth)} for the bare server.`,
    );
  }
  lines.push(
    "- The gateway's extra work per upload: busboy scanning the multipart body for the boundary, SHA-256 of " +
      "every byte (`IntakeGate` in src/media/intake.ts), then inspection after the last byte: for a JPEG, " +
      "sharp reads the header and decodes a downscaled frame in-process (most of the 1 MB case's time); for " +
      "an MP4, ffprobe runs as a child process (its CPU and memory are not in these columns). Memory stays " +
      "bounded because the body is streamed through `pipeline()` to a file: the RSS growth, of the same order " +
      "in the bare server, is chunk buffers and young-generation garbage awaiting GC, not the file.",
  );
  return lines.join("\n");
}
