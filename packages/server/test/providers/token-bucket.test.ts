import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenBucket } from "../../src/channels/token-bucket.ts";

test("a token bucket holds callers to its rate after the burst", async () => {
  const bucket = new TokenBucket(20, 5);
  const started = performance.now();
  const times: number[] = [];
  for (let i = 0; i < 15; i++) {
    await bucket.take();
    times.push(performance.now() - started);
  }
  // 5 at once (the burst), then 10 more at 20/s ≈ 500 ms.
  assert.ok(times[4]! < 50, `burst took ${times[4]} ms`);
  assert.ok(times[14]! >= 450, `15 takes finished after ${times[14]} ms, faster than 20/s`);
  assert.ok(times[14]! < 1500, `15 takes took ${times[14]} ms`);
});
