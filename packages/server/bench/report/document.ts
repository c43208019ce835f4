/**
 * docs/benchmarks.md, assembled from one run's results. (Biome, the repo's formatter, does not read
 * Markdown, so the file is written as it stays.)
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { StoreResult } from "../cases/api.ts";
import type { UploadResults } from "../cases/uploads.ts";
import type { Machine } from "../lib/machine.ts";
import { pct, profileDetails, table } from "../lib/markdown.ts";
import type { HotPaths } from "../lib/micro.ts";
import {
  CONNECTIONS,
  GET_TARGET,
  log,
  OUTPUT,
  PLAN,
  POST_TARGET,
  QUICK,
  REPO_DIR,
  SUBMIT_BODY,
} from "../lib/settings.ts";
import { costNotes, getNotes, postNotes, summary, uploadNotes } from "./notes.ts";
import { LOAD_HEADER, loadRows, roundsLine, uploadTable } from "./tables.ts";

/** Everything one run measured; each field becomes a section (or a row) of the document. */
export interface BenchResults {
  machine: Machine;
  /** loadavg() before and after the run (the header table shows both). */
  loadBefore: number[];
  loadAfter: number[];
  api: StoreResult[];
  postgresNote: string;
  uploads: UploadResults;
  render: string;
  webhooksSection: string;
  upstreamSection: string;
  /** Section 5.3: the relay (and local renders) on the cluster of docs/deployment.md. */
  clusterSection: string;
  /** Section 6: the web console's weight and first render (packages/console/bench/first-render.ts). */
  consoleSection: string;
  hot: HotPaths;
}

export async function writeReport(results: BenchResults): Promise<void> {
  const {
    machine,
    loadBefore,
    loadAfter,
    api,
    postgresNote,
    uploads,
    render,
    webhooksSection,
    upstreamSection,
    clusterSection,
    consoleSection,
    hot,
  } = results;
  const sqlite = api[0]!;
  const la = (l: number[]) => l.map((x) => x.toFixed(2)).join(", ");
  const sections = [
    "# Benchmarks",
    "",
    "_Written by `npm run bench` (`packages/server/bench/run.ts`); edit the harness, not this file._",
    "",
    table(
      ["", ""],
      [
        ["date", machine.date],
        ["machine", `${machine.cpu}, ${machine.cores} cores, ${machine.ramGiB} GiB RAM`],
        ["OS", machine.os],
        ["Node", machine.node],
        ["commit", `\`${machine.commit}\``],
        ["run", QUICK ? "quick (`BENCH_QUICK=1`)" : "full"],
        ["load average (1, 5, 15 min)", `before: ${la(loadBefore)}; after: ${la(loadAfter)}`],
      ],
    ),
    "",
    "## Summary",
    "",
    summary(api, uploads.cases),
    "",
    "## How to reproduce",
    "",
    "```sh",
    "npm ci",
    "npm run bench                 # full run, a few minutes; rewrites docs/benchmarks.md",
    "BENCH_QUICK=1 npm run bench   # one short round each; no 200 MB upload, profiles or render section",
    "BENCH_PROFILE=0 npm run bench # full run without the CPU profiles",
    "```",
    "",
    "## Method",
    "",
    `- The gateway (\`bench/serve-child.ts\`: \`startServer\` with \`workers: false\`, log level silent, a fresh data dir) and each baseline (\`bench/baseline-child.ts\`, bare \`node:http\`) run in their own child processes, started the same way (\`node --import tsx\`). The load generator (autocannon, ${CONNECTIONS} keep-alive connections, loopback) runs in the parent. **All three share this machine's ${machine.cores} cores**, so req/s of a CPU-bound server is also bounded by the CPU the load generator leaves it.`,
    `- Each case: a ${PLAN.warmupSeconds} s warm-up per server, then ${PLAN.rounds} round(s) of ${PLAN.seconds} s per server, alternating which goes first; the tables show the median round (all rounds are listed under each table). Latency is measured per response by the load generator (float ms, not autocannon's 1 ms histogram).`,
    "- _server CPU µs/req_ is the server process's user+system CPU time (all threads, from `/proc/<pid>/stat`) over the round divided by its 2xx responses: the cost of one request, less sensitive to the load generator than req/s. _server CPU_ is that process's CPU use over the round (100 % = one core).",
    "- The baselines answer with the gateway's exact bytes: for GET the status, headers and body captured from the gateway's response; for POST the same after reading and `JSON.parse`-ing the body. _bytes/response_ (headers + body, as received) shows both send the same.",
    "- Two reference rows help place the gap (SQLite run only): _bare Fastify_ (`bench/fastify-child.ts`: the same Fastify, one route on the same path answering the same body, no plugins, hooks, auth or store) and, for POST, a second gateway whose SQLite file is on tmpfs (`/dev/shm`), to tell waiting on the disk from CPU.",
    "- _other processes_ (under each table) is the machine's busy CPU time minus the server's and the load generator's, from `/proc/stat`: anything else running at the same time. When it is well above 0 the req/s are understated; compare on CPU µs/request, which contention moves much less.",
    "",
    "## 1. GET a task",
    "",
    `\`GET /v1/video/generations/{id}\` with a Bearer key, for a task submitted just before (status \`submitted\`, ${sqlite.get.bodyBytes} B body). Target: gateway ≥ ${pct(GET_TARGET)} of baseline req/s.`,
    "",
    table(
      LOAD_HEADER,
      loadRows(api, (r) => r.get, GET_TARGET),
    ),
    "",
    roundsLine(api, (r) => r.get),
    postgresNote ? `\n${postgresNote}` : "",
    "",
    getNotes(api, hot),
    "",
    ...api.flatMap((r) => (r.get.profile ? [profileDetails(`GET, ${r.store}`, r.get.profile), ""] : [])),
    "## 2. POST a task (submit)",
    "",
    `\`POST /v1/video/generations\` with \`${SUBMIT_BODY}\`; workers off, so each request is validated and stored (task, billing hold, job) in one transaction. Baseline: read the body, \`JSON.parse\` it, answer the gateway's ${sqlite.post.bodyBytes} B response. Target: gateway ≥ ${pct(POST_TARGET)} of baseline req/s.`,
    "",
    table(
      LOAD_HEADER,
      loadRows(api, (r) => r.post, POST_TARGET),
    ),
    "",
    roundsLine(api, (r) => r.post),
    "",
    postNotes(api, hot),
    "",
    ...api.flatMap((r) => (r.post.profile ? [profileDetails(`POST, ${r.store}`, r.post.profile), ""] : [])),
    "### Where the time goes: hot-path pieces, timed alone",
    "",
    "Each piece called one call after another in the bench process (no HTTP, no concurrency) against a gateway started in-process with the same config: mean CPU and wall time per call. Wall ≫ CPU means the event loop was blocked waiting (better-sqlite3 is synchronous, so a slow write stalls every request in flight).",
    "",
    table(
      ["piece", "CPU µs/call", "wall µs/call"],
      hot.costs.map((c) => [c.name, c.cpuUs.toFixed(1), c.wallUs.toFixed(1)]),
    ),
    "",
    costNotes(hot),
    "",
    "<details>",
    `<summary>The ${hot.statements.submit.length} SQL statements of one submit (SQLite), in order</summary>`,
    "",
    ...hot.statements.submit.map(
      (sql, i) => `${i + 1}. \`${sql.length > 160 ? `${sql.slice(0, 157)}…` : sql}\``,
    ),
    "",
    "</details>",
    "",
    "## 3. Uploads: `POST /v1/files`",
    "",
    "One multipart request at a time (a `purpose` field, then the file), streamed from disk by the load generator with a Content-Length. Gateway (SQLite): multipart parsing, sniffing, SHA-256, the write to disk, then inspection (sharp decodes the JPEG; ffprobe, a child process whose memory is not counted, probes the MP4), the move into blob storage and the row. Baseline: a bare `node:http` server streaming the same request body to a file. MiB/s is file bytes over the median request time. Each file size runs against fresh server processes (the 1 MB case after 3 warm-up uploads, the 200 MB case without warm-up). _Peak RSS growth_ is the largest (peak RSS during one upload − RSS just before it), from the kernel's `VmHWM` after resetting it per upload (`/proc/<pid>/clear_refs`). Target: peak RSS growth < 64 MiB for the 200 MB upload.",
    "",
    uploadTable(uploads.cases),
    "",
    uploads.skipped ? `${uploads.skipped}\n` : "",
    uploadNotes(uploads.cases),
    "",
    // benchRender() returns its own section, heading included, which goes in as is; a note gets ours.
    render.startsWith("#") ? render : `## 4. Render\n\n${render}`,
    "",
    "## 5. Webhooks and upstream relay",
    "",
    "5.1 and 5.2 run in-process (gateway, receiver or Ark double, and the load generator share one Node process and the 2 cores); 5.3 runs the same relay on the cluster of docs/deployment.md, as separate processes on the same machine.",
    "",
    webhooksSection.replace(/^### /m, "### 5.1 "),
    "",
    upstreamSection.replace(/^### /m, "### 5.2 "),
    "",
    clusterSection.replace(/^### /m, "### 5.3 "),
    "",
    consoleSection,
    "",
  ];
  await mkdir(join(REPO_DIR, "docs"), { recursive: true });
  await writeFile(
    OUTPUT,
    `${sections
      .join("\n")
      .replace(/\n{3,}/g, "\n\n")
      .trim()}\n`,
  );
  log(`wrote ${OUTPUT}`);
}
