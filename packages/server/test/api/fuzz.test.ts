import assert from "node:assert/strict";
import { test } from "node:test";
import { formatViolation, fuzz } from "../fuzz/openapi-fuzz.ts";
import { ADMIN_KEY, startTestServer } from "../helpers/server.ts";

/**
 * A short, fixed-seed run of the OpenAPI fuzz (test/fuzz/openapi-fuzz.ts) over every documented
 * operation: no 5xx, every error in the contract's envelope, no echoed oversized input, a 401 for
 * every bad key. Longer runs with other seeds: `npm run fuzz -- --seed N --per-operation 40`.
 */
const SEED = 20_240_611;
/** About 20 s of requests on 2 busy cores; each operation sees about half its mutations. */
const PER_OPERATION = 16;

test("a seeded fuzz of every documented operation finds no violation", { timeout: 180_000 }, async () => {
  const t = await startTestServer();
  try {
    const user = await t.newAccountKey("fuzz-user");
    const testKey = await t.newAccountKey("fuzz-test", true);
    const report = await fuzz({
      baseUrl: t.url,
      keys: { admin: ADMIN_KEY, user, test: testKey },
      seed: SEED,
      requestsPerOperation: PER_OPERATION,
    });
    // Every operation was reached (a gateway that stopped answering ends the run early).
    assert.ok(report.requests >= 50 * PER_OPERATION, `only ${report.requests} requests were made`);
    const shown = report.violations.map(formatViolation).join("\n\n");
    assert.equal(report.violations.length, 0, `${report.violations.length} violations:\n\n${shown}`);
  } finally {
    await t.stop();
  }
});
