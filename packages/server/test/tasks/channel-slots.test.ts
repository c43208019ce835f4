import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ChannelRepository } from "../../src/channels/repository.ts";
import { addChannel, startTestServer, submitTask, type TestServer } from "../helpers/server.ts";

/**
 * A channel's `in_flight` equals the active tasks holding it (tasks/channel-slots.ts). The
 * housekeeping step "channel slots" restores that after a leak, and only where no slot was taken
 * or given back in the meantime.
 */
describe("channel slots", () => {
  let t: TestServer;
  let channelId: string;
  before(async () => {
    t = await startTestServer({ workers: false });
    channelId = (
      await addChannel(t, {
        provider: "ark",
        base_url: "http://127.0.0.1:9",
        api_key: "ark-key",
        models: { "seedance-1-5-pro-with-audio": "doubao-seedance-1-5-pro" },
        max_concurrent: 3,
      })
    ).id;
  });
  after(() => t.stop());

  const inFlight = async () =>
    (
      await t.server.services.db
        .selectFrom("channels")
        .select("in_flight")
        .where("id", "=", channelId)
        .executeTakeFirstOrThrow()
    ).in_flight;
  const leak = (n: number) =>
    t.server.services.db.updateTable("channels").set({ in_flight: n }).where("id", "=", channelId).execute();

  test("a leaked slot is given back by the sweep: a full channel takes work again", async () => {
    await leak(3); // full, with no task holding it
    const outcome = await t.server.sweeper.runOnce();
    assert.equal(outcome["channel slots"], "ok");
    assert.equal(await inFlight(), 0);
  });

  test("slots held by active tasks are counted, not cleared", async () => {
    const id = await submitTask(t, { model: "seedance-1-5-pro-with-audio", prompt: "a held slot" });
    // What dispatch does when it takes the channel for the task (no worker runs here).
    const task = await t.server.services.db
      .selectFrom("tasks")
      .selectAll()
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    const channel = (await t.server.services.channels.get(channelId))!;
    assert.equal(await t.server.services.slots.reserve(task, channel), "reserved");
    assert.equal(await inFlight(), 1);
    await leak(0); // a lost count: the channel would admit one task too many
    await t.server.sweeper.runOnce();
    assert.equal(await inFlight(), 1);
    // Finishing the task gives its slot back, once.
    await t.server.services.lifecycle.finish(id, "failed", { error_code: "timeout", error_message: "test" });
    assert.equal(await inFlight(), 0);
    await t.server.sweeper.runOnce();
    assert.equal(await inFlight(), 0);
  });

  test("a correction loses to a slot taken meanwhile (compare-and-set)", async () => {
    const slots = t.server.services.slots;
    await leak(2);
    const repository = new ChannelRepository(t.server.services.db);
    // The sweep read 2 holders-less slots; before it writes, another dispatcher took one (3).
    await leak(3);
    assert.equal(await repository.correctSlots(channelId, 2, 0), false);
    assert.equal(await inFlight(), 3);
    await slots.reconcile();
    assert.equal(await inFlight(), 0);
  });
});
