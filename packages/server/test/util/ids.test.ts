import assert from "node:assert/strict";
import { test } from "node:test";
import { newJobId, newTaskId, randomAlphanumeric, timeOrderedId } from "../../src/util/ids.ts";

test("randomAlphanumeric: base62 of the asked length, never repeating across many pool refills", () => {
  const seen = new Set<string>();
  // 20,000 × ~21 bytes ≈ 100 refills of the 4 KiB pool: a pool handed out twice would repeat ids.
  for (let i = 0; i < 20_000; i++) {
    const id = randomAlphanumeric(20);
    assert.match(id, /^[A-Za-z0-9]{20}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 20_000);
  assert.equal(randomAlphanumeric(0), "");
  assert.equal(randomAlphanumeric(5000).length, 5000, "longer than the pool");
});

test("randomAlphanumeric: every symbol about equally likely (no modulo bias)", () => {
  const counts = new Map<string, number>();
  const sample = randomAlphanumeric(620_000);
  for (const ch of sample) counts.set(ch, (counts.get(ch) ?? 0) + 1);
  assert.equal(counts.size, 62);
  // Expected 10,000 each; a modulo over 256 would give the first 8 symbols ~25 % more.
  // Chi-square with 61 degrees of freedom: 120 is far beyond p = 0.0001 (~ 107).
  let chi = 0;
  for (const n of counts.values()) chi += (n - 10_000) ** 2 / 10_000;
  assert.ok(chi < 120, `chi-square ${chi.toFixed(1)}`);
});

test("time-ordered ids sort as text in the order of their milliseconds, and keep their shape", async () => {
  assert.match(newTaskId(), /^task_[A-Za-z0-9]{32}$/);
  assert.match(newJobId(), /^job_[A-Za-z0-9]{24}$/);
  const earlier = timeOrderedId(32);
  await new Promise((resolve) => setTimeout(resolve, 3));
  const later = timeOrderedId(32);
  assert.ok(earlier.slice(0, 9) < later.slice(0, 9), `${earlier} then ${later}`);
  assert.ok(
    earlier < later,
    "plain string comparison, as SQLite's BINARY collation and Postgres's C order do",
  );
  const sameMs = new Set(Array.from({ length: 1000 }, () => timeOrderedId(32)));
  assert.equal(sameMs.size, 1000, "the random part keeps ids in one millisecond apart");
});
