/**
 * `npm run bench`: the gateway against bare node:http baselines, measured in one run on this machine,
 * written to docs/benchmarks.md.
 *
 * - BENCH_QUICK=1: a short development run (one short round per server; no 200 MB upload, no profiles, no
 *   render section).
 * - BENCH_PROFILE=0/1: CPU profiles of the gateway in the API cases off/on (default: on in a full run).
 * - BENCH_RENDER=1: include bench/render.ts's section in a quick run too.
 * - VIDRELAY_TEST_POSTGRES_URL: the Postgres to use (default postgres://postgres@127.0.0.1:5432/test);
 *   when it is unreachable the Postgres cases are skipped with a note.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { POSTGRES_URL } from "../test/helpers/databases.ts";
import { apiCases, postgresProblem, type StoreResult } from "./cases/api.ts";
import { renderSection } from "./cases/render.ts";
import { type UploadResults, uploadCases } from "./cases/uploads.ts";
import { describeMachine } from "./lib/machine.ts";
import { type HotPaths, hotPathCosts } from "./lib/micro.ts";
import { KEY, log, QUICK, REPO_DIR, SUBMIT_BODY } from "./lib/settings.ts";
import { writeReport } from "./report/document.ts";

async function main(): Promise<void> {
  const machine = describeMachine(REPO_DIR);
  log(
    `vidrelay bench (${QUICK ? "quick" : "full"}) on ${machine.cpu}, ${machine.cores} cores, ${machine.node}`,
  );
  const loadBefore = loadavg();
  const root = await mkdtemp(join(tmpdir(), "vidrelay-bench-"));
  const api: StoreResult[] = [];
  let postgresNote = "";
  let uploads: UploadResults = { cases: [] };
  let render = "";
  let webhooksSection = "_Not run._";
  let upstreamSection = "_Not run._";
  let clusterSection = "";
  let consoleSection = "";
  let hot: HotPaths = {
    costs: [],
    walPagesPerSubmit: Number.NaN,
    indexes: {},
    statements: { get: [], submit: [] },
  };
  try {
    api.push(await apiCases("SQLite", root, undefined, true));
    const problem = await postgresProblem();
    if (problem) {
      postgresNote = `Postgres was not reachable at \`${POSTGRES_URL}\` (${problem}): SQLite only.`;
      log(postgresNote);
    } else {
      const { freshPostgres } = await import("../test/helpers/databases.ts");
      const db = await freshPostgres();
      try {
        api.push(await apiCases("Postgres", root, db.url, false));
      } finally {
        await db.drop();
      }
    }
    log("hot-path costs, in-process");
    hot = await hotPathCosts(root, KEY, JSON.parse(SUBMIT_BODY), QUICK);
    log(`    WAL pages written per submit: ${hot.walPagesPerSubmit.toFixed(1)}`);
    log(`    statements: ${hot.statements.get.length} per GET, ${hot.statements.submit.length} per submit`);
    for (const c of hot.costs)
      log(`    ${c.name}: ${c.cpuUs.toFixed(1)} µs CPU, ${c.wallUs.toFixed(1)} µs wall`);
    uploads = await uploadCases(root);
    if (QUICK && process.env.BENCH_RENDER !== "1") {
      render = "_Skipped: `BENCH_QUICK=1` (set `BENCH_RENDER=1` to include it)._";
    } else {
      log("render: bench/render.ts benchRender() (a few minutes)");
      render = await renderSection();
    }
    log("webhooks: bench/webhooks.ts");
    webhooksSection = await (await import("./webhooks.ts")).benchWebhooks(QUICK ? 100 : 500);
    log("webhooks due at once: bench/webhook-burst.ts");
    webhooksSection += `\n${await (await import("./webhook-burst.ts")).benchWebhookBurst(QUICK ? 200 : 2000)}`;
    log("upstream relay at scale: bench/upstream.ts");
    upstreamSection = await (await import("./upstream.ts")).benchUpstream(QUICK ? 200 : 2000);
    if (problem) {
      clusterSection = "### Upstream relay at scale, cluster mode\n\n_Not run: Postgres was not reachable._";
    } else {
      log("upstream relay at scale, cluster mode: bench/cluster.ts (API + 2 workers on Postgres, s3rver)");
      clusterSection = await (await import("./cluster.ts")).benchCluster({
        workers: 2,
        relayed: QUICK ? 100 : 2000,
        renders: QUICK ? 2 : 8,
      });
    }
    log("web console: packages/console/bench/first-render.ts (Chromium)");
    consoleSection = await (await import("../../console/bench/first-render.ts")).benchConsole();
  } finally {
    await rm(root, { recursive: true, force: true });
  }

  const loadAfter = loadavg();
  await writeReport({
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
  });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
