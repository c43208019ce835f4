import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { runCli } from "../cli/run.ts";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { until } from "../helpers/receiver.ts";
import { startTestServer, type TestServer, waitForTask } from "../helpers/server.ts";

const MODEL = "seedance-1-5-pro-with-audio";

/** Billing over real HTTP: holds at submit, release on failure, capture on success, limits. */
describe("billing through the API", () => {
  let t: TestServer;
  let ark: ArkDouble;
  let userKey: string;
  let accountId: string;
  let keyId: string;
  before(async () => {
    ark = await startArkDouble({ profile: "cn", queueDelayMs: 3_600_000 });
    t = await startTestServer({ upstreamPollScale: 0.01 });
    await t.api("/v1/admin/channels", {
      method: "POST",
      json: {
        provider: "ark",
        base_url: ark.baseUrl,
        api_key: ark.keys[0],
        models: { [MODEL]: "doubao-seedance-1-5-pro-251215" },
      },
    });
    const created = (await (
      await t.api("/v1/admin/keys", { method: "POST", json: { account_name: "customer" } })
    ).json()) as { key: string; id: string; account: { id: string } };
    userKey = created.key;
    accountId = created.account.id;
    keyId = created.id;
  });
  after(async () => {
    await t.stop();
    await ark.close();
  });

  const asUser = () => ({ headers: { authorization: `Bearer ${userKey}` } });
  const submit = (prompt: string) =>
    t.api("/v1/video/generations", {
      method: "POST",
      ...asUser(),
      json: { model: MODEL, prompt, seconds: "5", metadata: { resolution: "480p" } },
    });

  test("/v1/models shows prices", async () => {
    const models = (await (await t.api("/v1/models", asUser())).json()) as {
      data: Array<{ id: string; pricing?: Record<string, unknown> }>;
    };
    const model = models.data.find((m) => m.id === MODEL)!;
    assert.ok(model.pricing, "a price is listed");
    assert.match(JSON.stringify(model.pricing), /0\.0315/);
  });

  test("balance for exactly N tasks: N accepted, the N+1st refused with 403, accepted again after one fails", async () => {
    const none = await submit("no money yet");
    assert.equal(none.status, 403);
    const refused = ((await none.json()) as { error: Record<string, string> }).error;
    assert.equal(refused.type, "insufficient_quota");
    assert.match(String(refused.message), /top up/);

    // 480p 5 s at $0.0315/s = $0.1575 per task: top up exactly three (with the CLI).
    const topup = await runCli(["accounts", "topup", accountId, "0.4725", "--idempotency-key", "inv-1"], {
      VIDRELAY_BASE_URL: t.url,
      VIDRELAY_API_KEY: t.key,
    });
    assert.equal(topup.code, 0, topup.stderr);
    const again = await runCli(["accounts", "topup", accountId, "0.4725", "--idempotency-key", "inv-1"], {
      VIDRELAY_BASE_URL: t.url,
      VIDRELAY_API_KEY: t.key,
    });
    assert.equal(again.code, 0, "a retried top-up is accepted but credits once");

    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await submit(`paid ${i}`);
      assert.equal(res.status, 200, await res.clone().text());
      ids.push(((await res.json()) as { task_id: string }).task_id);
    }
    const fourth = await submit("one too many");
    assert.equal(fourth.status, 403);
    assert.equal(((await fourth.json()) as { error: { type: string } }).error.type, "insufficient_quota");

    const cancelled = await t.api(`/v1/video/generations/${ids[0]}/cancel`, { method: "POST", ...asUser() });
    assert.equal(cancelled.status, 200);
    const cancelledTask = (await cancelled.json()) as { usage?: { cost: string } };
    assert.equal(cancelledTask.usage?.cost, "0.0000", "a failed task is never billed");
    const retry = await submit("after a release");
    assert.equal(retry.status, 200, await retry.clone().text());
    ids.push(((await retry.json()) as { task_id: string }).task_id);

    // Let the provider finish: each succeeded task is charged what it was quoted.
    ark.updateSettings({ queueDelayMs: 100 });
    for (const id of ids.slice(1)) {
      const task = await waitForTask(t, id, { key: userKey, timeoutMs: 60_000 });
      assert.equal(task.status, "succeeded", JSON.stringify(task.error));
      const usage = task.usage as { cost: string; currency: string };
      assert.equal(usage.currency, "USD");
      assert.ok(Number(usage.cost) > 0 && Number(usage.cost) <= 0.1575, `charged ${usage.cost}`);
    }
    const balance = (await (await t.api("/v1/balance", asUser())).json()) as Record<string, unknown>;
    assert.equal(JSON.stringify(balance).includes("held"), true);
    const report = await runCli(["usage", "--group-by", "model", "--json"], {
      VIDRELAY_BASE_URL: t.url,
      VIDRELAY_API_KEY: userKey,
    });
    assert.equal(report.code, 0, report.stderr);
    const rows = JSON.parse(report.stdout) as { data: Array<{ model: string; tasks: number; cost: string }> };
    const row = rows.data.find((r) => r.model === MODEL)!;
    assert.ok(row.tasks >= 3);
    assert.ok(Number(row.cost) > 0);
  });

  test("requests per minute: 429 with Retry-After and RateLimit headers", async () => {
    const set = await t.api(`/v1/admin/keys/${keyId}/limits`, {
      method: "PUT",
      json: { requests_per_minute: 3 },
    });
    assert.equal(set.status, 200, await set.clone().text());
    await until(
      async () => (await t.api("/v1/models", asUser())).headers.get("ratelimit-limit") === "3",
      10_000,
      "the limit to apply (cached up to 5 s)",
    );
    let last: Response | undefined;
    for (let i = 0; i < 5; i++) last = await t.api("/v1/models", asUser());
    assert.equal(last!.status, 429);
    assert.ok(Number(last!.headers.get("retry-after")) > 0);
    assert.equal(last!.headers.get("ratelimit-limit"), "3");
    const { error } = (await last!.json()) as { error: Record<string, string> };
    assert.equal(error.type, "rate_limit_error");
    await t.api(`/v1/admin/keys/${keyId}/limits`, { method: "PUT", json: { requests_per_minute: null } });
  });
});
