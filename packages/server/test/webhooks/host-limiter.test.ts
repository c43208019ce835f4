import assert from "node:assert/strict";
import { test } from "node:test";
import { HostLimiter } from "../../src/webhooks/host-limiter.ts";

const never = new AbortController().signal;

/** Run one delivery to `host` that holds its slot for `ms` of the fake clock. */
async function deliver(limiter: HostLimiter, clock: { now: number }, host: string, ms: number) {
  const release = await limiter.acquire(host, never);
  assert.ok(release, "a free slot");
  clock.now += ms;
  release();
}

test("how many may wait for a host follows how fast it answers", async () => {
  const clock = { now: 0 };
  const limiter = new HostLimiter({ limit: 4, clock: () => clock.now });
  assert.equal(limiter.maxWaiting("new.example"), 8, "unknown: twice the limit");
  for (let i = 0; i < 20; i++) await deliver(limiter, clock, "fast.example", 2);
  // 4 slots × 1000 ms budget ÷ 2 ms per delivery = 2000, capped at 64 × the limit.
  assert.equal(limiter.maxWaiting("fast.example"), 256);
  for (let i = 0; i < 20; i++) await deliver(limiter, clock, "ok.example", 40);
  assert.equal(limiter.maxWaiting("ok.example"), 100, "4 × 1000 ÷ 40");
  for (let i = 0; i < 5; i++) await deliver(limiter, clock, "slow.example", 3000);
  assert.equal(limiter.maxWaiting("slow.example"), 8, "a slow host keeps the floor");
});

test("a host that slows down loses its long queue gradually (moving average)", async () => {
  const clock = { now: 0 };
  const limiter = new HostLimiter({ limit: 2, minWaiting: 1, maxWaiting: 1000, clock: () => clock.now });
  for (let i = 0; i < 30; i++) await deliver(limiter, clock, "h", 10);
  assert.equal(limiter.maxWaiting("h"), 200);
  await deliver(limiter, clock, "h", 1010); // one slow answer: average 10 + 0.2 × 1000 = 210 ms
  assert.equal(limiter.maxWaiting("h"), 9);
});

test("past the host's waiting room a job is refused (handed back), and slots pass to waiters in order", async () => {
  const limiter = new HostLimiter({ limit: 1, minWaiting: 2 });
  const first = await limiter.acquire("h", never);
  const order: string[] = [];
  const a = limiter.acquire("h", never).then((r) => {
    order.push("a");
    return r;
  });
  const b = limiter.acquire("h", never).then((r) => {
    order.push("b");
    return r;
  });
  assert.equal(await limiter.acquire("h", never), null, "a third waiter is refused");
  assert.equal(limiter.inFlight("h"), 1);
  first!();
  (await a)!();
  (await b)!();
  assert.deepEqual(order, ["a", "b"]);
  assert.equal(limiter.inFlight("h"), 0);
});

test("a waiter whose job is aborted leaves the queue", async () => {
  const limiter = new HostLimiter({ limit: 1, minWaiting: 1 });
  const held = await limiter.acquire("h", never);
  const controller = new AbortController();
  const waiting = limiter.acquire("h", controller.signal);
  controller.abort(new Error("stopping"));
  await assert.rejects(waiting, /stopping/);
  const next = limiter.acquire("h", never);
  held!();
  assert.ok(await next, "the aborted waiter did not take the slot");
});
