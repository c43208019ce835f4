import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { signPayload, verifySignature } from "../../src/webhooks/signing.ts";
import { startReceiver, until } from "../helpers/receiver.ts";
import { startTestServer, type TestServer, waitForTask } from "../helpers/server.ts";
import { quickTask, submit, submitAndCancel } from "./submit.ts";

test("signing matches the Standard Webhooks test vector", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const header = signPayload(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}');
  assert.equal(header, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
  assert.equal(
    verifySignature(
      secret,
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232314}',
      header,
      300,
      1614265330_000,
    ),
    true,
  );
  assert.equal(
    verifySignature(
      secret,
      "msg_p5jXN8AQM9LWM0D4loKWxJek",
      1614265330,
      '{"test": 2432232315}',
      header,
      300,
      1614265330_000,
    ),
    false,
  );
});

describe("webhook delivery", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({
      allowPrivateTargets: "127.0.0.1",
      webhookRetrySchedule: "0.05,0.05,0.05,0.05",
      webhookTimeoutSeconds: 1,
    });
  });
  after(() => t.stop());

  test("a real delivery verifies with the standardwebhooks package and equals GET byte for byte", async () => {
    const receiver = await startReceiver();
    try {
      const id = await submit(t, receiver.url);
      const task = await waitForTask(t, id);
      assert.equal(task.status, "succeeded");
      await until(() => receiver.received.length === 1, 10_000, "the delivery");
      const [req] = receiver.received;
      const { secret } = (await (await t.api("/v1/webhook-secret")).json()) as { secret: string };
      assert.match(secret, /^whsec_/);
      const verified = new Webhook(secret).verify(req!.body, {
        "webhook-id": String(req!.headers["webhook-id"]),
        "webhook-timestamp": String(req!.headers["webhook-timestamp"]),
        "webhook-signature": String(req!.headers["webhook-signature"]),
      }) as Record<string, unknown>;
      assert.equal(verified.task_id, id);
      assert.equal(req!.headers["content-type"], "application/json");
      assert.match(String(req!.headers["user-agent"]), /^vidrelay-webhook\/\d+\.\d+\.\d+$/);
      const get = await (await t.api(`/v1/video/generations/${id}`)).text();
      assert.equal(req!.body, get, "the webhook body is the task object exactly as GET returns it");
      // A tampered body does not verify.
      assert.throws(() =>
        new Webhook(secret).verify(req!.body.replace("succeeded", "failed"), {
          "webhook-id": String(req!.headers["webhook-id"]),
          "webhook-timestamp": String(req!.headers["webhook-timestamp"]),
          "webhook-signature": String(req!.headers["webhook-signature"]),
        }),
      );
    } finally {
      await receiver.close();
    }
  });

  test("500 three times then 200: exactly one success, one webhook-id, attempts listed by the API", async () => {
    const receiver = await startReceiver((_req, index, res) => {
      res.statusCode = index < 3 ? 500 : 200;
      res.end(index < 3 ? "boom" : "ok");
    });
    try {
      const id = await submitAndCancel(t, receiver.url);
      await until(() => receiver.received.length >= 4, 10_000, "four attempts");
      await new Promise((r) => setTimeout(r, 300)); // nothing more may arrive
      assert.equal(receiver.received.length, 4);
      const ids = new Set(receiver.received.map((r) => r.headers["webhook-id"]));
      assert.equal(ids.size, 1, "webhook-id is stable across retries");
      const body = (await (await t.api(`/v1/video/generations/${id}/deliveries`)).json()) as {
        data: Array<{
          id: string;
          status: string;
          attempts: Array<{ status_code: number; latency_ms: number }>;
        }>;
      };
      assert.equal(body.data.length, 1);
      const delivery = body.data[0]!;
      assert.equal(delivery.id, [...ids][0]);
      assert.equal(delivery.status, "delivered");
      assert.deepEqual(
        delivery.attempts.map((a) => a.status_code),
        [500, 500, 500, 200],
      );
      assert.ok(delivery.attempts.every((a) => typeof a.latency_ms === "number"));
      const payload = JSON.parse(receiver.received[3]!.body) as Record<string, unknown>;
      assert.equal(payload.status, "failed");
      assert.deepEqual((payload.error as Record<string, unknown>).code, "cancelled");
    } finally {
      await receiver.close();
    }
  });

  test("Retry-After on 429 is honoured; 410 Gone stops delivery to that URL", async () => {
    const receiver = await startReceiver((_req, index, res) => {
      if (index === 0) {
        res.writeHead(429, { "retry-after": "1" });
        res.end();
      } else {
        res.statusCode = 410;
        res.end();
      }
    });
    try {
      const id = await submitAndCancel(t, receiver.url);
      await until(() => receiver.received.length >= 2, 10_000, "the retry after Retry-After");
      const gap = receiver.received[1]!.at - receiver.received[0]!.at;
      assert.ok(gap >= 950, `retried after ${gap} ms despite Retry-After: 1`);
      const deliveries = (await (await t.api(`/v1/video/generations/${id}/deliveries`)).json()) as {
        data: Array<{ id: string; status: string }>;
      };
      await until(
        async () =>
          (
            (await (await t.api(`/v1/video/generations/${id}/deliveries`)).json()) as {
              data: Array<{ status: string }>;
            }
          ).data[0]?.status === "gone",
        5000,
        "status gone",
      );
      // Later tasks to the same URL are not sent at all.
      const second = await submitAndCancel(t, receiver.url);
      await until(
        async () =>
          (
            (await (await t.api(`/v1/video/generations/${second}/deliveries`)).json()) as {
              data: Array<{ status: string }>;
            }
          ).data[0]?.status === "gone",
        5000,
        "second delivery marked gone",
      );
      assert.equal(receiver.received.length, 2);
      // Replaying re-enables the URL.
      const replay = await t.api(`/v1/video/generations/${id}/deliveries/${deliveries.data[0]!.id}/replay`, {
        method: "POST",
      });
      assert.equal(replay.status, 200);
      await until(() => receiver.received.length === 3, 5000, "the replayed attempt");
    } finally {
      await receiver.close();
    }
  });

  test("an exhausted delivery can be replayed and then succeeds with the same webhook-id", async () => {
    let healthy = false;
    const receiver = await startReceiver((_req, _index, res) => {
      res.statusCode = healthy ? 204 : 503;
      res.end();
    });
    try {
      const id = await submitAndCancel(t, receiver.url);
      const list = async () =>
        (
          (await (await t.api(`/v1/video/generations/${id}/deliveries`)).json()) as {
            data: Array<{ id: string; status: string; attempts: unknown[] }>;
          }
        ).data[0]!;
      await until(async () => (await list()).status === "exhausted", 10_000, "exhaustion");
      assert.equal((await list()).attempts.length, 5, "first try + four retries from the schedule");
      const notReplayable = await t.api(`/v1/video/generations/${id}/deliveries/msg_nope/replay`, {
        method: "POST",
      });
      assert.equal(notReplayable.status, 404);
      healthy = true;
      const replayed = await t.api(`/v1/video/generations/${id}/deliveries/${(await list()).id}/replay`, {
        method: "POST",
      });
      assert.equal(replayed.status, 200);
      await until(async () => (await list()).status === "delivered", 5000, "delivery after replay");
      const ids = new Set(receiver.received.map((r) => r.headers["webhook-id"]));
      assert.equal(ids.size, 1);
      const again = await t.api(`/v1/video/generations/${id}/deliveries/${(await list()).id}/replay`, {
        method: "POST",
      });
      assert.equal(again.status, 409, "a delivered webhook is not replayed");
    } finally {
      await receiver.close();
    }
  });

  test("secret rotation: both signatures are sent during the grace period", async () => {
    const receiver = await startReceiver();
    try {
      const old = ((await (await t.api("/v1/webhook-secret")).json()) as { secret: string }).secret;
      const rotated = (await (
        await t.api("/v1/webhook-secret/rotate", { method: "POST", json: { grace_seconds: 3600 } })
      ).json()) as { secret: string; previous_secret_expires_at: number };
      assert.notEqual(rotated.secret, old);
      assert.ok(rotated.previous_secret_expires_at > Date.now() / 1000);
      await submitAndCancel(t, receiver.url);
      await until(() => receiver.received.length === 1, 5000, "delivery");
      const req = receiver.received[0]!;
      const headers = {
        "webhook-id": String(req.headers["webhook-id"]),
        "webhook-timestamp": String(req.headers["webhook-timestamp"]),
        "webhook-signature": String(req.headers["webhook-signature"]),
      };
      assert.equal(headers["webhook-signature"].split(" ").length, 2);
      new Webhook(old).verify(req.body, headers);
      new Webhook(rotated.secret).verify(req.body, headers);
      const other = await t.newAccountKey("rotation-other");
      const otherSecret = (await (
        await t.api("/v1/webhook-secret", { headers: { authorization: `Bearer ${other}` } })
      ).json()) as { secret: string };
      assert.throws(
        () => new Webhook(otherSecret.secret).verify(req.body, headers),
        "accounts have their own secrets",
      );
    } finally {
      await receiver.close();
    }
  });

  test("one slow receiver does not delay deliveries to a fast one", async () => {
    const slow = await startReceiver(() => {
      /* never answers: every attempt times out after webhookTimeoutSeconds */
    });
    const fast = await startReceiver();
    try {
      // 12 deliveries to the slow host first, then 12 to the fast host.
      const slowUrl = slow.url.replace("127.0.0.1", "localhost"); // a different host key
      for (let i = 0; i < 12; i++) await submitAndCancel(t, `${slowUrl}?n=${i}`);
      const started = Date.now();
      for (let i = 0; i < 12; i++) await submitAndCancel(t, `${fast.url}?n=${i}`);
      await until(() => fast.received.length >= 12, 10_000, "fast deliveries");
      const elapsed = Date.now() - started;
      assert.ok(elapsed < 3000, `fast deliveries took ${elapsed} ms behind a slow receiver`);
      assert.ok(slow.received.length >= 4, "the slow host was being tried meanwhile");
      assert.ok(
        slow.maxInFlight() <= 4,
        `the slow host had ${slow.maxInFlight()} requests in flight (limit 4)`,
      );
    } finally {
      await slow.close();
      await fast.close();
    }
  });
});

describe("callback_url SSRF guard at submit", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ workers: false });
  });
  after(() => t.stop());

  for (const url of [
    "http://127.0.0.1/hook",
    "http://[::1]/hook",
    "http://10.1.2.3/hook",
    "http://172.16.0.1/hook",
    "http://192.168.0.10/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://100.64.0.1/hook",
    "http://0.0.0.0/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://2130706433/hook",
    "http://0177.0.0.1/hook",
    "http://0x7f.0.0.1/hook",
    "http://localhost:9/hook",
    "http://[fd00:ec2::254]/hook",
  ]) {
    test(`refuses ${url}`, async () => {
      const res = await t.api("/v1/video/generations", {
        method: "POST",
        json: { ...quickTask, metadata: { callback_url: url } },
      });
      assert.equal(res.status, 400);
      const { error } = (await res.json()) as { error: Record<string, string> };
      assert.equal(error.param, "metadata.callback_url");
      assert.match(
        String(error.message),
        /private|loopback|link-local|metadata|reserved|blocked|not allowed|unspecified/i,
      );
    });
  }
});
