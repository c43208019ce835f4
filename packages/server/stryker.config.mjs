// Mutation testing (`npm run mutation`): not part of CI, it takes tens of minutes. It checks that
// the tests of the security and money paths fail when the code under them changes. Scores and the
// survivors we accept live in docs/mutation.md. Narrow a run with
// `npm run mutation -- --mutate src/net/address-policy.ts`.
//
// Several narrowed runs may go at once (one per module group): `MUTATION_RUN=net npm run mutation
// -- --mutate 'src/net/*.ts'` keeps that run's sandbox and reports apart (.stryker-tmp-net,
// .stryker/net.html, .stryker/net.json).
const run = process.env.MUTATION_RUN ? `-${process.env.MUTATION_RUN.replace(/[^\w-]/g, "_")}` : "";

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: "tap",
  tap: {
    // The focused tests of these modules; each file runs as its own node process per mutant, so the
    // slow end-to-end files (the 3-minute billing property run, the HTTP and two-gateway suites)
    // stay out: a mutant here must be killed by a test that names the behaviour.
    testFiles: [
      "test/net/*.test.ts",
      "test/billing/@(money|ledger|limits|routes|prices|holds|usage)*.test.ts",
      "test/tasks/*.test.ts",
    ],
    nodeArgs: ["--import", "tsx", "--test-reporter=tap", "-r", "{{hookFile}}", "{{testFile}}"],
  },
  mutate: [
    "src/net/*.ts",
    "src/billing/*.ts",
    "src/tasks/lifecycle.ts",
    // Declarations, not logic: zod request/response schemas, table types, DDL and route wiring are
    // exercised by the HTTP suite rather than scored here.
    "!src/billing/schemas.ts",
    "!src/billing/tables.ts",
    "!src/billing/migrations.ts",
    "!src/billing/routes.ts",
    "!src/billing/*-routes.ts",
    "!src/billing/route-helpers.ts",
  ],
  coverageAnalysis: "perTest",
  checkers: [],
  concurrency: 2,
  timeoutMS: 20000,
  reporters: ["clear-text", "progress", "html", "json"],
  htmlReporter: { fileName: `.stryker/report${run}.html` },
  jsonReporter: { fileName: `.stryker/report${run}.json` },
  tempDirName: `.stryker-tmp${run}`,
  // Other runs' sandboxes and reports must not be copied into this one's (they change under it).
  ignorePatterns: [".stryker-tmp*", ".stryker", "data", "bench/results"],
  incremental: false,
  cleanTempDir: "always",
};
