/**
 * Test mode is a world of its own (as in Stripe): a test-mode key, even one of an admin account,
 * administers nothing, sees and changes only test tasks, files and deliveries, signs with its own
 * webhook secret, and its Idempotency-Keys never meet a live key's — and the other way round.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Webhook } from "standardwebhooks";
import { sample } from "../helpers/paths.ts";
import { type ReceivedRequest, startReceiver, until } from "../helpers/receiver.ts";
import { ADMIN_KEY, startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";

const SAMPLE_IMAGE = sample("landscape-600x450.jpg");

const SUBMIT = {
  model: "seedance-1-5-pro-with-audio",
  prompt: "a lighthouse in fog",
  seconds: "4",
  metadata: { ratio: "16:9", resolution: "480p" },
};

describe("test mode is its own world", () => {
  let t: TestServer;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let accountId: string;
  let testKey: string;
  const as = (key: string) => ({ authorization: `Bearer ${key}` });

  before(async () => {
    t = await startTestServer({ allowPrivateTargets: "127.0.0.1" });
    receiver = await startReceiver();
    accountId = ((await (await t.api("/v1/me")).json()) as { account: { id: string } }).account.id;
    const created = await t.api("/v1/admin/keys", {
      method: "POST",
      json: { account_id: accountId, test_mode: true },
    });
    testKey = ((await created.json()) as { key: string }).key;
  });
  after(async () => {
    await receiver.close();
    await t.stop();
  });

  test("a test-mode key of an admin account administers nothing (403)", async () => {
    const calls: Array<[string, string, unknown?]> = [
      ["POST", "/v1/admin/keys", { account_name: "minted", admin: true }],
      ["GET", "/v1/admin/keys"],
      ["GET", "/v1/admin/accounts"],
      ["POST", `/v1/admin/accounts/${accountId}/topup`, { amount: "100.00" }],
      ["PATCH", `/v1/admin/accounts/${accountId}`, { billing_mode: "prepaid" }],
      ["GET", "/v1/admin/channels"],
      ["GET", "/v1/admin/prices"],
      ["GET", `/v1/usage?account_id=acct_someone_else`],
    ];
    for (const [method, path, json] of calls) {
      const res = await t.api(path, { method, headers: as(testKey), ...(json ? { json } : {}) });
      const body = (await res.json()) as { error: { code: string; type: string } };
      assert.equal(res.status, 403, `${method} ${path}: ${JSON.stringify(body)}`);
      assert.equal(body.error.type, "permission_error");
    }
    const keys = (await (await t.api("/v1/admin/keys")).json()) as { data: Array<{ name: string }> };
    assert.ok(!keys.data.some((k) => k.name === "minted"), "no key was minted");
  });

  test("tasks: neither world sees, cancels, downloads or deletes the other's", async () => {
    const live = (await (await t.api("/v1/video/generations", { method: "POST", json: SUBMIT })).json()) as {
      task_id: string;
    };
    const testTask = (await (
      await t.api("/v1/video/generations", { method: "POST", json: SUBMIT, headers: as(testKey) })
    ).json()) as { task_id: string };
    for (const [key, foreign] of [
      [testKey, live.task_id],
      [ADMIN_KEY, testTask.task_id],
    ] as const) {
      for (const [method, path] of [
        ["GET", `/v1/video/generations/${foreign}`],
        ["POST", `/v1/video/generations/${foreign}/cancel`],
        ["GET", `/v1/video/generations/${foreign}/content`],
        ["GET", `/v1/video/generations/${foreign}/events`],
        ["GET", `/v1/video/generations/${foreign}/deliveries`],
        ["GET", `/v1/videos/${foreign}`],
        ["DELETE", `/v1/videos/${foreign}`],
      ]) {
        const res = await t.api(path!, { method, headers: as(key) });
        assert.equal(res.status, 404, `${method} ${path} with the other mode's key`);
        await res.body?.cancel();
      }
      const list = (await (await t.api("/v1/video/generations?limit=100", { headers: as(key) })).json()) as {
        data: Array<{ id: string }>;
      };
      assert.ok(!list.data.some((task) => task.id === foreign), "absent from the list");
      const openai = (await (await t.api("/v1/videos?limit=100", { headers: as(key) })).json()) as {
        data: Array<{ id: string }>;
      };
      assert.ok(!openai.data.some((video) => video.id === foreign));
    }
    assert.equal((await waitForTask(t, live.task_id)).status, "succeeded");
    assert.equal((await waitForTask(t, testTask.task_id, { key: testKey })).status, "succeeded");
  });

  test("files: a test upload is not a live file, and the other way round", async () => {
    const testFile = (await (await uploadFile(t, SAMPLE_IMAGE, { key: testKey })).json()) as { id: string };
    const liveFile = (await (await uploadFile(t, SAMPLE_IMAGE)).json()) as { id: string };
    assert.equal((await t.api(`/v1/files/${liveFile.id}`, { headers: as(testKey) })).status, 404);
    assert.equal((await t.api(`/v1/files/${testFile.id}`)).status, 404);
    assert.equal(
      (await t.api(`/v1/files/${liveFile.id}`, { method: "DELETE", headers: as(testKey) })).status,
      404,
    );
    const testList = (await (await t.api("/v1/files", { headers: as(testKey) })).json()) as {
      data: Array<{ id: string }>;
    };
    assert.deepEqual(
      testList.data.map((f) => f.id),
      [testFile.id],
    );
    const liveList = (await (await t.api("/v1/files")).json()) as { data: Array<{ id: string }> };
    assert.ok(
      liveList.data.some((f) => f.id === liveFile.id) && !liveList.data.some((f) => f.id === testFile.id),
    );
  });

  test("a test key reads and rotates its own webhook secret, and test tasks are signed with it", async () => {
    const secretOf = async (key: string) =>
      ((await (await t.api("/v1/webhook-secret", { headers: as(key) })).json()) as { secret: string }).secret;
    const liveSecret = await secretOf(ADMIN_KEY);
    const testSecret = await secretOf(testKey);
    assert.notEqual(testSecret, liveSecret);
    const rotated = await t.api("/v1/webhook-secret/rotate", {
      method: "POST",
      json: {},
      headers: as(testKey),
    });
    assert.equal(rotated.status, 200);
    const newTestSecret = ((await rotated.json()) as { secret: string }).secret;
    assert.notEqual(newTestSecret, testSecret);
    assert.equal(await secretOf(ADMIN_KEY), liveSecret, "rotating the test secret leaves the live one");

    const res = await t.api("/v1/video/generations", {
      method: "POST",
      headers: as(testKey),
      json: { ...SUBMIT, metadata: { ...SUBMIT.metadata, callback_url: receiver.url } },
    });
    const { task_id } = (await res.json()) as { task_id: string };
    await until(
      () => receiver.received.some((r) => r.body.includes(task_id)),
      60_000,
      "the test task's webhook",
    );
    const delivery = receiver.received.find((r) => r.body.includes(task_id)) as ReceivedRequest;
    const headers = delivery.headers as Record<string, string>;
    assert.doesNotThrow(() => new Webhook(newTestSecret).verify(delivery.body, headers));
    assert.throws(() => new Webhook(liveSecret).verify(delivery.body, headers));
  });

  test("an Idempotency-Key never crosses modes", async () => {
    const send = async (key: string) => {
      const res = await t.api("/v1/video/generations", {
        method: "POST",
        json: SUBMIT,
        headers: { ...as(key), "idempotency-key": "shared-key-1" },
      });
      return {
        replayed: res.headers.get("idempotent-replayed"),
        id: ((await res.json()) as { task_id: string }).task_id,
      };
    };
    const live = await send(ADMIN_KEY);
    const test1 = await send(testKey);
    const test2 = await send(testKey);
    assert.notEqual(test1.id, live.id, "a test submit does not replay a live task");
    assert.equal(test1.replayed, null);
    assert.equal(test2.id, test1.id, "within its mode the key still replays");
    assert.equal(test2.replayed, "true");
    assert.equal((await send(ADMIN_KEY)).id, live.id);
  });

  test("a test key sees no live money: its balance is empty, its usage only test tasks", async () => {
    const balance = (await (await t.api("/v1/balance", { headers: as(testKey) })).json()) as {
      balance_micros: number;
    };
    assert.equal(balance.balance_micros, 0);
    const liveBalance = (await (await t.api("/v1/balance")).json()) as { balance_micros: number };
    assert.ok(liveBalance.balance_micros > 0);
    const usage = async (key: string) =>
      (
        (await (await t.api("/v1/usage?group_by=", { headers: as(key) })).json()) as {
          totals: { tasks: number };
        }
      ).totals.tasks;
    const [liveTasks, testTasks] = [await usage(ADMIN_KEY), await usage(testKey)];
    assert.ok(liveTasks >= 2 && testTasks >= 2, `live ${liveTasks}, test ${testTasks}`);
    const list = async (key: string) =>
      (
        (await (await t.api("/v1/video/generations?limit=100", { headers: as(key) })).json()) as {
          data: unknown[];
        }
      ).data.length;
    assert.equal(testTasks, await list(testKey), "test usage counts exactly the test tasks");
    assert.equal(liveTasks, await list(ADMIN_KEY));
  });
});
