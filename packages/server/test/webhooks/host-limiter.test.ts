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

test("a host that answers quickly earns slots one round at a time, up to the most allowed", async () => {
  const clock = { now: 0 };
  const limiter = new HostLimiter({ limit: 4, maxLimit: 8, clock: () => clock.now });
  assert.equal(limiter.slots("h"), 4);
  const quick = async (n: number, verdict: "ok" | "overloaded" | "neutral" = "ok") => {
    for (let i = 0; i < n; i++) {
      const release = await limiter.acquire("h", never);
      clock.now += 3;
      release!(verdict);
    }
  };
  await quick(4); // 4 + 1/4 + 1/4.25 + … ≈ 4.94: not yet a whole slot
  assert.equal(limiter.slots("h"), 4);
  await quick(1);
  assert.equal(limiter.slots("h"), 5, "about one slot per round of `allowed` successes");
  await quick(100);
  assert.equal(limiter.slots("h"), 8, "capped at maxLimit");
  await quick(5, "neutral");
  assert.equal(limiter.slots("h"), 8, "a neutral answer changes nothing");
  await quick(1, "overloaded");
  assert.equal(limiter.slots("h"), 4, "halved");
  await quick(1, "overloaded");
  assert.equal(limiter.slots("h"), 4, "never below the starting limit");
});

test("slow successes earn nothing; without maxLimit the limit is fixed", async () => {
  const clock = { now: 0 };
  const adaptive = new HostLimiter({ limit: 2, maxLimit: 16, quickMs: 100, clock: () => clock.now });
  const fixed = new HostLimiter({ limit: 2, clock: () => clock.now });
  for (const limiter of [adaptive, fixed]) {
    for (let i = 0; i < 50; i++) {
      const release = await limiter.acquire("h", never);
      clock.now += limiter === adaptive ? 150 : 1;
      release!("ok");
    }
    assert.equal(limiter.slots("h"), 2);
  }
});

test("a slot earned on release goes to a waiter at once", async () => {
  const limiter = new HostLimiter({ limit: 1, maxLimit: 4, minWaiting: 5 });
  const first = await limiter.acquire("h", never);
  const woken: string[] = [];
  const b = limiter.acquire("h", never).then((r) => {
    woken.push("b");
    return r;
  });
  const c = limiter.acquire("h", never).then((r) => {
    woken.push("c");
    return r;
  });
  await Promise.resolve();
  assert.equal(limiter.inFlight("h"), 1);
  first!("ok"); // 1 + 1/1 = 2 slots: b takes the freed one, c the earned one
  const [rb, rc] = await Promise.all([b, c]);
  assert.deepEqual(woken, ["b", "c"]);
  assert.equal(limiter.inFlight("h"), 2);
  rb!();
  rc!();
  assert.equal(limiter.inFlight("h"), 0);
});
