/**
 * Cancels that race the hand-over to a provider. The rule: a task is marked cancelled only when no
 * paid job can be running for it upstream — either nothing was sent, or the provider stopped it.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { until } from "../helpers/receiver.ts";
import { addChannel, startTestServer, submitTask, type TestServer } from "../helpers/server.ts";

const TASKS = "/api/v3/contents/generations/tasks";
const MODEL = "seedance-1-5-pro-with-audio";

// biome-ignore lint/suspicious/noExplicitAny: JSON bodies are inspected loosely.
type Json = any;

describe("cancel racing the dispatch to Ark", () => {
  let t: TestServer;
  let ark: ArkDouble;
  let channelId: string;
  before(async () => {
    ark = await startArkDouble({ profile: "cn" });
    t = await startTestServer({ upstreamPollScale: 0.01, upstreamSubmitTimeoutSeconds: 1 });
    channelId = (
      await addChannel(t, {
        provider: "ark",
        base_url: ark.baseUrl,
        api_key: ark.keys[0],
        models: { [MODEL]: "doubao-seedance-1-5-pro-251215" },
      })
    ).id;
  });
  after(async () => {
    await t.stop();
    await ark.close();
  });

  const submit = (prompt: string) =>
    submitTask(t, { model: MODEL, prompt, seconds: "5", metadata: { resolution: "480p" } });

  test("a cancel landing after the dispatcher read the task: nothing is sent upstream, the slot is given back", async () => {
    const repo = t.server.services.taskRepo;
    const original = repo.getById.bind(repo);
    let raced: string | undefined;
    // The dispatcher reads the task, then (before it reserves a channel) the client cancels.
    repo.getById = async (id: string) => {
      const row = await original(id);
      if (row && !raced && row.status === "submitted" && !row.channel_id) {
        raced = id;
        // The cancel's effect, committed between the read and the reservation. (Calling the
        // service from here would wait on this very dispatch job.)
        await t.server.services.db
          .updateTable("tasks")
          .set({
            status: "failed",
            error_code: "cancelled",
            error_message: "cancelled",
            completed_at: Date.now(),
          })
          .where("id", "=", id)
          .execute();
      }
      return row;
    };
    ark.journal.clear();
    try {
      const id = await submit("cancelled while being dispatched");
      await until(() => raced === id, 10_000, "the dispatcher's read");
      // Give the dispatcher time to have sent something, were it going to.
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(ark.journal.list({ method: "POST", path: TASKS }).length, 0, "no paid task upstream");
      const row = (await t.server.services.taskRepo.getById(id))!;
      assert.equal(row.channel_id, null);
      const channel = await t.server.services.channels.require(channelId);
      assert.equal(channel.in_flight, 0, "the reserved slot was given back");
    } finally {
      repo.getById = original;
    }
  });

  test("while the submit to the provider is in flight: 409 saying to retry; then a queued Ark task is stopped there", async () => {
    ark.journal.clear();
    const id = await submit("[[queue:3600]] slow to hand over");
    await until(
      async () => !!(await t.server.services.taskRepo.getById(id))?.upstream_id,
      10_000,
      "the upstream id",
    );
    // Between the reservation and the provider's answer the task holds a channel but no upstream id.
    const repo = t.server.services.taskRepo;
    const upstreamId = (await repo.getById(id))!.upstream_id!;
    await t.server.services.db.updateTable("tasks").set({ upstream_id: null }).where("id", "=", id).execute();
    const busy = await t.api(`/v1/video/generations/${id}/cancel`, { method: "POST" });
    assert.equal(busy.status, 409);
    const error = ((await busy.json()) as Json).error;
    assert.equal(error.code, "task_not_cancellable");
    assert.match(error.message, /being handed to ark at this moment; retry the cancel in a few seconds/);
    await t.server.services.db
      .updateTable("tasks")
      .set({ upstream_id: upstreamId })
      .where("id", "=", id)
      .execute();
    assert.equal((await repo.getById(id))?.upstream_status, "queued");
    const shown = (await (await t.api(`/v1/video/generations/${id}`)).json()) as Json;
    assert.equal(shown.cancellable, true);
    const stopped = await t.api(`/v1/video/generations/${id}/cancel`, { method: "POST" });
    assert.equal(stopped.status, 200, await stopped.clone().text());
    const del = ark.journal.last({ method: "DELETE" })!;
    assert.equal(del.status, 200, "Ark stopped the queued task");
  });
});
