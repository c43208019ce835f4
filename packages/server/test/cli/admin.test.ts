import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { startTestServer, type TestServer, waitForTask } from "../helpers/server.ts";
import { runCli } from "./run.ts";

describe("vidrelay channels and webhooks commands", () => {
  let t: TestServer;
  let ark: ArkDouble;
  let env: Record<string, string>;
  before(async () => {
    ark = await startArkDouble({ profile: "cn" });
    t = await startTestServer({ upstreamPollScale: 0.01 });
    env = { VIDRELAY_BASE_URL: t.url, VIDRELAY_API_KEY: t.key };
  });
  after(async () => {
    await t.stop();
    await ark.close();
  });

  test("channels add (the documented example) | list | test | disable, then a task relays through it", async () => {
    const added = await runCli(
      [
        "channels",
        "add",
        "--provider",
        "ark",
        "--base-url",
        ark.baseUrl,
        "--api-key",
        ark.keys[0]!,
        "--models",
        "seedance-1-5-pro-with-audio=doubao-seedance-1-5-pro-251215",
        "--json",
      ],
      env,
    );
    assert.equal(added.code, 0, added.stderr);
    const channel = JSON.parse(added.stdout) as {
      id: string;
      api_key_hint: string;
      models: Record<string, string>;
    };
    assert.equal(channel.models["seedance-1-5-pro-with-audio"], "doubao-seedance-1-5-pro-251215");
    assert.equal(added.stdout.includes(ark.keys[0]!), false, "the upstream key is never printed");

    const list = await runCli(["channels", "list"], env);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, new RegExp(channel.id));
    assert.match(list.stdout, /0\/10/);

    const tested = await runCli(["channels", "test", channel.id], env);
    assert.equal(tested.code, 0, tested.stderr);
    assert.match(tested.stdout, /key/);

    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "seedance-1-5-pro-with-audio",
        prompt: "via the CLI's channel",
        metadata: { resolution: "480p" },
      },
    });
    const { task_id } = (await res.json()) as { task_id: string };
    const task = await waitForTask(t, task_id, { timeoutMs: 30_000 });
    assert.equal(task.status, "succeeded");
    assert.equal(task.provider, "ark");

    const updated = await runCli(
      ["channels", "update", channel.id, "--priority", "5", "--max-concurrent", "3", "--json"],
      env,
    );
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal((JSON.parse(updated.stdout) as { priority: number }).priority, 5);

    const disabled = await runCli(["channels", "disable", channel.id], env);
    assert.equal(disabled.code, 0);
    assert.match(disabled.stdout, /disabled/);

    const doctor = await runCli(["doctor"], env);
    assert.match(doctor.stdout + doctor.stderr, /channel/);

    const usage = await runCli(["channels", "add", "--provider", "ark"], env);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /needs --base-url/);
  });

  test("webhooks secret and --rotate", async () => {
    const first = await runCli(["webhooks", "secret"], env);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout.trim(), /^whsec_/);
    const rotated = await runCli(["webhooks", "secret", "--rotate", "--grace-seconds", "60"], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.notEqual(rotated.stdout.trim(), first.stdout.trim());
    assert.match(rotated.stderr, /previous secret/);
    const help = await runCli(["webhooks", "--help"], env);
    assert.match(help.stdout, /Example/);
  });
});
