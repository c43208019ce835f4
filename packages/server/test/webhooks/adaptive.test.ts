import assert from "node:assert/strict";
import { test } from "node:test";
import { startReceiver, until } from "../helpers/receiver.ts";
import { startTestServer } from "../helpers/server.ts";
import { submitAndCancel } from "./submit.ts";

test("a receiver that answers quickly is given more than the starting four at once; one answering 429 never is", async () => {
  const fast = await startReceiver((_req, _i, res) => {
    setTimeout(() => res.end("ok"), 20);
  });
  const busy = await startReceiver((_req, _i, res) => {
    res.statusCode = 429;
    res.end("slow down");
  });
  // The outbox fills while no process delivers, then a delivering gateway finds it all due at once.
  const filler = await startTestServer({ allowPrivateTargets: "127.0.0.1", workers: false });
  const busyUrl = busy.url.replace("127.0.0.1", "localhost"); // its own host key
  for (let i = 0; i < 80; i++) await submitAndCancel(filler, `${fast.url}?n=${i}`);
  for (let i = 0; i < 20; i++) await submitAndCancel(filler, `${busyUrl}?n=${i}`);
  await filler.server.close(2000);
  const sender = await startTestServer({
    dataDir: filler.dataDir,
    allowPrivateTargets: "127.0.0.1",
    workerKinds: "deliver",
    webhookRetrySchedule: "0.05,0.05",
  });
  try {
    await until(() => fast.received.length >= 80, 20_000, "the fast receiver's deliveries");
    await until(() => busy.received.length >= 60, 20_000, "the busy receiver's three attempts each");
    assert.ok(fast.maxInFlight() > 4, `the fast receiver had at most ${fast.maxInFlight()} at once`);
    assert.ok(fast.maxInFlight() <= 32, `the fast receiver had ${fast.maxInFlight()} at once (most is 32)`);
    assert.ok(busy.maxInFlight() <= 4, `the receiver answering 429 had ${busy.maxInFlight()} at once`);
  } finally {
    await sender.stop();
    await fast.close();
    await busy.close();
  }
});
