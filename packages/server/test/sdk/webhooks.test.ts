import assert from "node:assert/strict";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { type Task, VidRelay, verifyWebhook, WebhookVerificationError } from "@vidrelay/sdk";
import { startTestServer, type TestServer } from "../helpers/server.ts";

interface Received {
  body: Buffer;
  headers: IncomingHttpHeaders;
}

/** The SDK's verifyWebhook against deliveries the real gateway sends to a real receiver. */
describe("webhooks from a real server verify with the SDK", () => {
  let t: TestServer;
  let client: VidRelay;
  let receiver: Server;
  let hookUrl: string;
  const received: Received[] = [];
  const waiters: (() => void)[] = [];

  before(async () => {
    // Loopback callback targets are refused unless the operator allows them.
    t = await startTestServer({ allowPrivateTargets: "127.0.0.1" });
    client = new VidRelay({ apiKey: t.key, baseURL: t.url });
    receiver = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      received.push({ body: Buffer.concat(chunks), headers: req.headers });
      res.writeHead(204).end();
      for (const w of waiters.splice(0)) w();
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  });
  after(async () => {
    receiver.closeAllConnections();
    await new Promise((resolve) => receiver.close(resolve));
    await t.stop();
  });

  async function nextDelivery(count: number, timeoutMs = 20_000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    while (received.length < count) {
      if (Date.now() > deadline) throw new Error(`no webhook delivery #${count} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        waiters.push(resolve);
        setTimeout(resolve, 250);
      });
    }
    return received[count - 1]!;
  }

  test("a finished task's delivery verifies; a wrong secret or an altered body does not", async () => {
    const created = await client.videos.create({
      model: "seedance-1-5-pro-with-audio",
      prompt: "a webhook test",
      seconds: "4",
      metadata: { callback_url: hookUrl },
    });
    await client.videos.cancel(created.task_id); // failed is terminal too: no render needed
    const delivery = await nextDelivery(1);
    const { secret } = await client.webhooks.secret();
    assert.match(secret, /^whsec_/);

    const task = await verifyWebhook<Task>(delivery.body, delivery.headers, secret);
    assert.equal(task.task_id, created.task_id);
    assert.equal(task.status, "failed");
    assert.equal(task.error?.code, "cancelled");
    assert.equal(delivery.headers["content-type"], "application/json");

    const other = `whsec_${Buffer.from("a different secret, 32 bytes long").toString("base64")}`;
    await assert.rejects(verifyWebhook(delivery.body, delivery.headers, other), WebhookVerificationError);
    const altered = Buffer.from(delivery.body.toString().replace("cancelled", "succeeded"));
    await assert.rejects(verifyWebhook(altered, delivery.headers, secret), WebhookVerificationError);

    const deliveries = await client.webhooks.deliveries(created.task_id);
    assert.equal(deliveries.length, 1);
    assert.equal(deliveries[0]!.id, delivery.headers["webhook-id"]);
  });

  test("after a rotation with grace, deliveries carry both signatures and verify with either secret", async () => {
    const before = (await client.webhooks.secret()).secret;
    const rotated = await client.webhooks.rotateSecret({ graceSeconds: 600 });
    assert.notEqual(rotated.secret, before);
    assert.ok(rotated.previous_secret_expires_at);
    assert.equal((await client.webhooks.secret()).secret, rotated.secret);

    const count = received.length;
    const created = await client.videos.create({
      model: "seedance-1-5-pro-with-audio",
      prompt: "a rotation test",
      seconds: "4",
      metadata: { callback_url: hookUrl },
    });
    await client.videos.cancel(created.task_id);
    const delivery = await nextDelivery(count + 1);
    assert.equal(String(delivery.headers["webhook-signature"]).split(" ").length, 2);
    for (const secret of [rotated.secret, before]) {
      const task = await verifyWebhook<Task>(delivery.body, delivery.headers, secret);
      assert.equal(task.task_id, created.task_id);
    }
  });
});
