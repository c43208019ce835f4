import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { Webhook } from "standardwebhooks";
import { freePort, spawnServer } from "../helpers/process.ts";
import { startReceiver, until } from "../helpers/receiver.ts";

const KEY = `sk-hook${"H".repeat(40)}`;

test("a receiver that is down while the gateway is SIGKILLed and restarted still gets its delivery", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-hook-restart-"));
  const port = await freePort();
  const receiverPort = await freePort(); // nothing listens here yet: connections are refused
  const env = {
    VIDRELAY_PORT: String(port),
    VIDRELAY_DATA_DIR: dataDir,
    VIDRELAY_BOOTSTRAP_KEY: KEY,
    VIDRELAY_ALLOW_PRIVATE_TARGETS: "127.0.0.1",
    VIDRELAY_WEBHOOK_RETRY_SCHEDULE: "0.3,0.5,1,1,1,1,1,1,1,1,1,1",
    VIDRELAY_JOB_LEASE_SECONDS: "1",
    VIDRELAY_LOG_LEVEL: "warn",
  };
  const base = `http://127.0.0.1:${port}`;
  const headers = { authorization: `Bearer ${KEY}`, "content-type": "application/json" };
  let server = await spawnServer(env);
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined;
  try {
    const submitted = await fetch(`${base}/v1/video/generations`, {
      method: "POST",
      headers,
      body: JSON.stringify({
        model: "seedance-1-5-pro-no-audio",
        prompt: "deliver me later",
        metadata: { resolution: "480p", callback_url: `http://127.0.0.1:${receiverPort}/hooks` },
      }),
    });
    const { task_id } = (await submitted.json()) as { task_id: string };
    await fetch(`${base}/v1/video/generations/${task_id}/cancel`, { method: "POST", headers });
    const deliveries = async () =>
      (
        (await (await fetch(`${base}/v1/video/generations/${task_id}/deliveries`, { headers })).json()) as {
          data: Array<{ status: string; attempts: Array<{ error: string | null }> }>;
        }
      ).data[0];
    await until(
      async () => ((await deliveries())?.attempts.length ?? 0) >= 1,
      10_000,
      "a failed first attempt",
    );
    assert.match(String((await deliveries())?.attempts[0]?.error), /refused|connect/i);

    server.child.kill("SIGKILL");
    await server.exited;
    server = await spawnServer(env);
    receiver = await startReceiver(undefined, receiverPort);
    await until(() => receiver!.received.length >= 1, 20_000, "the delivery after restart");
    const req = receiver.received[0]!;
    const { secret } = (await (await fetch(`${base}/v1/webhook-secret`, { headers })).json()) as {
      secret: string;
    };
    const task = new Webhook(secret).verify(req.body, {
      "webhook-id": String(req.headers["webhook-id"]),
      "webhook-timestamp": String(req.headers["webhook-timestamp"]),
      "webhook-signature": String(req.headers["webhook-signature"]),
    }) as { task_id: string; status: string };
    assert.equal(task.task_id, task_id);
    assert.ok(task.status === "failed" || task.status === "succeeded", "a terminal task object");
    await until(async () => (await deliveries())?.status === "delivered", 5000, "delivered status");
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(receiver.received.length, 1, "delivered once");
  } finally {
    server.child.kill("SIGKILL");
    await receiver?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
