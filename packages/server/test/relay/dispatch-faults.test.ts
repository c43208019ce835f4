/**
 * Dispatch under upstream faults, against the Ark double:
 * - an outage holds tasks in `submitted` (spending no attempt) instead of failing them, the open
 *   breaker lets one probe through at a time, and the tasks go out once the provider is back;
 * - a create whose answer was lost (the provider made the task, the connection broke) is found at
 *   the provider and carried on, once — no second paid task;
 * - a task that holds a channel but whose create never reached the provider (a crash before the
 *   send) is sent once the provider's list proves it was never made.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { seedFor } from "../../src/providers/ark/adapter.ts";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { addChannel, startTestServer, type TestServer, waitForTask } from "../helpers/server.ts";

const TASKS = "/api/v3/contents/generations/tasks";
const MODEL = "seedance-1-5-pro-no-audio";
const UPSTREAM = "doubao-seedance-1-5-pro-251215";

async function setUp(options: Record<string, unknown> = {}) {
  // Real time (clockScale 1): a lookup compares Ark's created_at with our clock, as in production.
  const ark = await startArkDouble({
    profile: "cn",
    clockScale: 1,
    queueDelayMs: 300,
    runTimeScale: 0.02,
    jitter: 0,
  });
  const t = await startTestServer({
    upstreamPollScale: 0.01,
    upstreamSubmitTimeoutSeconds: 1,
    breakerThreshold: 2,
    breakerCooldownSeconds: 1,
    ...options,
  });
  const channel = await addChannel(t, {
    provider: "ark",
    base_url: ark.baseUrl,
    api_key: ark.keys[0],
    models: { [MODEL]: UPSTREAM },
  });
  return { ark, t, channel };
}

async function submit(t: TestServer, prompt: string): Promise<string> {
  const res = await t.api("/v1/video/generations", {
    method: "POST",
    json: { model: MODEL, prompt, seconds: "5", metadata: { resolution: "480p", ratio: "16:9" } },
  });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { task_id: string }).task_id;
}

describe("an upstream outage holds tasks; it does not fail them", () => {
  let ark: ArkDouble;
  let t: TestServer;
  before(async () => ({ ark, t } = await setUp()));
  after(async () => {
    await t.stop();
    await ark.close();
  });

  test("12 tasks submitted into a 6 s outage all succeed; creates during it stay few", async () => {
    const rule = ark.faults.add({
      match: { method: "POST", path: `^${TASKS}$` },
      action: { error: "InternalServiceError" },
      count: -1,
    });
    const ids: string[] = [];
    for (let i = 0; i < 12; i++) ids.push(await submit(t, `outage ${i}`));
    await sleep(6000);
    const duringOutage = ark.journal.list({ method: "POST", path: TASKS }).length;
    ark.faults.remove(rule.id);
    const tasks = await Promise.all(ids.map((id) => waitForTask(t, id, { timeoutMs: 90_000 })));
    assert.deepEqual(
      tasks.map((x) => x.status),
      ids.map(() => "succeeded"),
      JSON.stringify(tasks.filter((x) => x.status !== "succeeded").map((x) => x.error)),
    );
    // 2 failures open the breaker; after each 1 s cool-down one probe goes: a handful of creates,
    // not a dozen tasks retrying every second.
    assert.ok(duringOutage <= 16, `${duringOutage} creates during a 6 s outage of 12 waiting tasks`);
    const creates = ark.journal.list({ method: "POST", path: TASKS }).filter((e) => e.status === 200);
    assert.equal(creates.length, 12, "one upstream task per gateway task");
  });
});

describe("crash-safe dispatch on Ark", () => {
  let ark: ArkDouble;
  let t: TestServer;
  let channelId: string;
  before(async () => {
    ({ ark, t } = await setUp());
    channelId = ((await t.api("/v1/admin/channels").then((r) => r.json())) as { data: Array<{ id: string }> })
      .data[0]!.id;
  });
  after(async () => {
    await t.stop();
    await ark.close();
  });

  test("a create whose answer was cut off is found at Ark and carried on, with no second create", async () => {
    // The double makes the task, then sends half its answer and cuts the connection.
    ark.faults.add({ match: { method: "POST", path: `^${TASKS}$` }, action: { truncate: true }, count: 1 });
    const since = ark.journal.lastSeq;
    const id = await submit(t, "a cut-off answer");
    const task = await waitForTask(t, id, { timeoutMs: 60_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    const creates = ark.journal.list({ method: "POST", path: TASKS, since });
    assert.equal(creates.length, 1, "the create was not sent again");
    const row = await t.server.services.db
      .selectFrom("tasks")
      .select("upstream_id")
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    assert.equal(
      row.upstream_id,
      ark.tasks.list().at(-1)?.id,
      "the task carries on with the Ark task that create made",
    );
  });

  test("a task that holds its channel but never reached Ark (killed before the send) is sent, once", async () => {
    // What a process killed after reserving the channel and before sending leaves behind.
    await t.server.runner?.stop(1000);
    const id = await submit(t, "killed before the send");
    const { db } = t.server.services;
    await db
      .updateTable("tasks")
      .set({ channel_id: channelId, updated_at: Date.now() - 60_000 })
      .where("id", "=", id)
      .execute();
    const since = ark.journal.lastSeq;
    t.server.runner?.start();
    const task = await waitForTask(t, id, { timeoutMs: 60_000 });
    assert.equal(task.status, "succeeded", JSON.stringify(task.error));
    const lookups = ark.journal.list({ method: "GET", path: TASKS, since });
    assert.ok(
      lookups.some((e) => e.query["filter.model"] === UPSTREAM),
      "Ark's list was asked first",
    );
    assert.equal(ark.journal.list({ method: "POST", path: TASKS, since }).length, 1);
  });

  test("two Ark tasks that both match: the task fails honestly instead of guessing", async () => {
    await t.server.runner?.stop(1000);
    const id = await submit(t, "two lookalikes");
    const { db } = t.server.services;
    await db
      .updateTable("tasks")
      .set({ channel_id: channelId, updated_at: Date.now() - 30_000 })
      .where("id", "=", id)
      .execute();
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${ark.baseUrl}/contents/generations/tasks`, {
        method: "POST",
        headers: { authorization: `Bearer ${ark.keys[0]}`, "content-type": "application/json" },
        body: JSON.stringify({
          model: UPSTREAM,
          content: [{ type: "text", text: "two lookalikes" }],
          resolution: "480p",
          ratio: "16:9",
          duration: 5,
          generate_audio: false,
          seed: seedFor(id),
        }),
      });
      assert.equal(res.status, 200);
    }
    t.server.runner?.start();
    const task = (await waitForTask(t, id, { timeoutMs: 60_000 })) as {
      status: string;
      error: { code: string; message: string };
    };
    assert.equal(task.status, "failed");
    assert.equal(task.error.code, "upstream_unknown");
    assert.match(task.error.message, /2 Ark tasks match/);
  });
});

describe("crash-safe dispatch where the provider offers no way to look", () => {
  test("is documented by the adapter contract: only Ark and a RelayDance peer can look", async () => {
    const { createAdapters } = await import("../../src/providers/registry.ts");
    const { loadConfig } = await import("../../src/config.ts");
    const adapters = createAdapters(loadConfig({}, {}));
    const canLook = [...adapters]
      .filter(([, a]) => typeof a.findSubmitted === "function")
      .map(([name]) => name);
    assert.deepEqual(canLook.sort(), ["ark", "relaydance"]);
  });
});
