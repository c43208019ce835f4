/**
 * The task lifecycle on its own: `submit`, `start` and `finish` against a real store (SQLite and
 * Postgres), with the real task repository, billing, channel service, webhook outbox, presenter and
 * job queue wired as server.ts wires them. Collaborators are the real ones; a few are wrapped only
 * to record that they were (or were not) called, or to fail at a chosen step like a crash would.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import pino from "pino";
import { Billing } from "../../src/billing/billing.ts";
import type { BillingHolds } from "../../src/billing/holds.ts";
import { Catalog } from "../../src/catalog/models.ts";
import { ChannelRepository } from "../../src/channels/repository.ts";
import { loadConfig } from "../../src/config.ts";
import type { ApiError } from "../../src/domain/errors.ts";
import { StoreJobQueue } from "../../src/jobs/store-queue.ts";
import { parseAllowList } from "../../src/net/address-policy.ts";
import { Metrics } from "../../src/ops/metrics.ts";
import type { TaskRow } from "../../src/store/schema.ts";
import { ChannelSlots } from "../../src/tasks/channel-slots.ts";
import { TaskEvents } from "../../src/tasks/events.ts";
import { IdempotencyRepository } from "../../src/tasks/idempotency-repository.ts";
import { TaskLifecycle, type TaskLifecycleDeps } from "../../src/tasks/lifecycle.ts";
import { TaskPresenter } from "../../src/tasks/presenter.ts";
import { TaskRepository } from "../../src/tasks/repository.ts";
import { SecretBox } from "../../src/util/secret-box.ts";
import { WebhookRepository } from "../../src/webhooks/repository.ts";
import { WebhookService } from "../../src/webhooks/service.ts";
import { DIALECTS, newCustomer, openStore, type Store, taskRow } from "../billing/helpers.ts";

/** Seedance 1.5 pro with audio at 720p, at the default $0.07/s. */
const PER_SECOND_720P = 70_000;
const TTL_SECONDS = 3600;

interface Wired {
  lifecycle: TaskLifecycle;
  deps: TaskLifecycleDeps;
  /** Names of collaborator calls made through the recording wrappers, in order. */
  calls: string[];
  /** Task ids `events.changed` was told about, in order. */
  changed: string[];
  /** How many times the queue was poked. */
  pokes: () => number;
  /** The job kinds the queue was poked for, in order. */
  poked: Array<string | undefined>;
}

function wire(store: Store, billing: Billing, overrides: Partial<TaskLifecycleDeps> = {}): Wired {
  const config = loadConfig(
    {
      secret: "lifecycle-tests-secret",
      dataDir: "/nonexistent/lifecycle-tests",
      videoTtlSeconds: TTL_SECONDS,
    },
    {},
  );
  const queue = new StoreJobQueue(store.db);
  let pokes = 0;
  const poked: Array<string | undefined> = [];
  queue.onEnqueue((kind) => {
    pokes++;
    poked.push(kind);
  });
  const calls: string[] = [];
  const slots = new ChannelSlots({
    db: store.db,
    tasks: new TaskRepository(store.db),
    channels: new ChannelRepository(store.db),
  });
  const webhooks = new WebhookService(
    config,
    new WebhookRepository(store.db, new SecretBox(config.secret!)),
    queue,
    parseAllowList(null),
    pino({ level: "silent" }),
  );
  const presenter = new TaskPresenter(config, billing.usage);
  const events = new TaskEvents();
  const changed: string[] = [];
  const recordingEvents = Object.assign(Object.create(events) as TaskEvents, {
    changed(id: string) {
      changed.push(id);
      events.changed(id);
    },
  });
  const deps: TaskLifecycleDeps = {
    config,
    db: store.db,
    tasks: new TaskRepository(store.db),
    idempotency: new IdempotencyRepository(store.db),
    queue,
    slots: {
      releaseFor: async (trx, finished) => {
        if (finished.channel_id) calls.push(`releaseSlot:${finished.channel_id}`);
        return slots.releaseFor(trx, finished);
      },
    },
    billing: billing.holds,
    webhooks: {
      enqueueForTask: (trx, task, payload) => {
        calls.push(`enqueueForTask:${task.id}`);
        return webhooks.enqueueForTask(trx, task, payload);
      },
    },
    presenter,
    events: recordingEvents,
    metrics: new Metrics(),
    ...overrides,
  };
  return { lifecycle: new TaskLifecycle(deps), deps, calls, changed, pokes: () => pokes, poked };
}

let suffix = 0;
const uniqueSuffix = () => `${process.pid}_${Date.now()}_${suffix++}`;

async function finishedCount(metrics: Metrics, labels: Record<string, string>): Promise<number> {
  const { values } = await metrics.taskFinished.get();
  const matches = values.filter((v) =>
    Object.entries(labels).every(([k, want]) => (v.labels as Record<string, unknown>)[k] === want),
  );
  return matches.reduce((sum, v) => sum + v.value, 0);
}

for (const { name, make } of DIALECTS) {
  describe(`task lifecycle on ${name}`, () => {
    let store: Store;
    let billing: Billing;

    before(async () => {
      store = await openStore(make);
      billing = new Billing(store.db, new Catalog(), { limitsCacheMs: 0 });
      await billing.prices.ensureDefaultPrices();
    });
    after(async () => {
      await store.close();
    });

    async function funded(amount = 10_000_000) {
      const customer = await newCustomer(store.accounts);
      await billing.ledger.topup(customer.account.id, amount, `seed-${customer.account.id}`);
      return customer;
    }

    const jobsOf = (taskId: string) =>
      store.db
        .selectFrom("jobs")
        .select(["kind", "status"])
        .where("task_id", "=", taskId)
        .orderBy("created_at")
        .execute();
    const deliveriesOf = (taskId: string) =>
      store.db.selectFrom("webhook_deliveries").selectAll().where("task_id", "=", taskId).execute();
    const holdOf = (taskId: string) =>
      store.bdb.selectFrom("billing_holds").selectAll().where("task_id", "=", taskId).executeTakeFirst();

    test("submit commits the task, its hold, its Idempotency-Key record and its first job, then wakes workers", async () => {
      const { account, key } = await funded();
      const w = wire(store, billing);
      const task = taskRow(account.id, key.id);
      const idem = {
        account_id: account.id,
        test_mode: 0,
        idem_key: "k-1",
        request_hash: "h",
        task_id: task.id,
        created_at: Date.now(),
      };
      await w.lifecycle.submit(task, { kind: "dispatch", taskId: task.id }, idem);

      assert.equal((await w.deps.tasks.getById(task.id))?.status, "submitted");
      assert.equal(Number((await holdOf(task.id))?.amount_held), 5 * PER_SECOND_720P);
      assert.equal(
        (await w.deps.idempotency.find({ accountId: account.id, testMode: 0 }, "k-1"))?.task_id,
        task.id,
      );
      assert.deepEqual(await jobsOf(task.id), [{ kind: "dispatch", status: "queued" }]);
      assert.ok(w.pokes() >= 1, "workers are woken once the job is committed");
      assert.deepEqual(w.changed, [task.id]);
      assert.equal((await billing.ledger.balance(account.id)).held_micros, 5 * PER_SECOND_720P);
    });

    test("submit without an Idempotency-Key records none", async () => {
      const { account, key } = await funded();
      const w = wire(store, billing);
      const task = taskRow(account.id, key.id);
      await w.lifecycle.submit(task, { kind: "render", taskId: task.id });
      const records = await store.db
        .selectFrom("idempotency_keys")
        .selectAll()
        .where("task_id", "=", task.id)
        .execute();
      assert.deepEqual(records, []);
      assert.deepEqual(await jobsOf(task.id), [{ kind: "render", status: "queued" }]);
    });

    test("a submit refused by billing writes nothing: no task, no job, no idempotency record, no event", async () => {
      const { account, key } = await funded(5 * PER_SECOND_720P - 1);
      const w = wire(store, billing);
      const task = taskRow(account.id, key.id);
      const idem = {
        account_id: account.id,
        test_mode: 0,
        idem_key: "k-poor",
        request_hash: "h",
        task_id: task.id,
        created_at: Date.now(),
      };
      await assert.rejects(
        w.lifecycle.submit(task, { kind: "dispatch", taskId: task.id }, idem),
        (e: ApiError) => {
          assert.equal(e.status, 403);
          assert.equal(e.type, "insufficient_quota");
          assert.equal(e.code, "insufficient_balance");
          return true;
        },
      );
      assert.equal(await w.deps.tasks.getById(task.id), undefined);
      assert.deepEqual(await jobsOf(task.id), []);
      assert.equal(
        await w.deps.idempotency.find({ accountId: account.id, testMode: 0 }, "k-poor"),
        undefined,
      );
      assert.equal(await holdOf(task.id), undefined);
      assert.deepEqual(w.changed, []);
      assert.equal((await billing.ledger.balance(account.id)).held_micros, 0);
    });

    test("a submit whose job cannot be written leaves no task and no hold behind", async () => {
      const { account, key } = await funded();
      const w = wire(store, billing);
      const queue = w.deps.queue;
      const failing = wire(store, billing, {
        queue: Object.assign(Object.create(queue) as StoreJobQueue, {
          enqueue: async () => {
            throw new Error("the queue is down");
          },
        }),
      });
      const task = taskRow(account.id, key.id);
      await assert.rejects(
        failing.lifecycle.submit(task, { kind: "dispatch", taskId: task.id }),
        /the queue is down/,
      );
      assert.equal(await w.deps.tasks.getById(task.id), undefined);
      assert.equal(await holdOf(task.id), undefined);
      assert.equal((await billing.ledger.balance(account.id)).held_micros, 0);
      assert.deepEqual(failing.changed, []);
    });

    test("start moves submitted → running once, and tells listeners only when it did", async () => {
      const { account, key } = await funded();
      const w = wire(store, billing);
      const task = taskRow(account.id, key.id);
      await w.lifecycle.submit(task, { kind: "render", taskId: task.id });
      w.changed.length = 0;
      assert.equal(await w.lifecycle.start(task.id), true);
      const running = await w.deps.tasks.getById(task.id);
      assert.equal(running?.status, "running");
      assert.ok(running?.started_at);
      assert.deepEqual(w.changed, [task.id]);
      assert.equal(await w.lifecycle.start(task.id), false, "a running task is not started again");
      assert.equal(await w.lifecycle.start("task_missing"), false);
      assert.deepEqual(w.changed, [task.id], "no event for a start that did nothing");
    });

    async function runningTaskOnChannel(w: Wired, options: { callback?: string } = {}) {
      const { account, key } = await funded();
      // A channel with one of its three slots taken by this task, as dispatch leaves it.
      const channel = { id: `ch_${uniqueSuffix()}` };
      const now = Date.now();
      await store.db
        .insertInto("channels")
        .values({
          id: channel.id,
          name: "ark-test",
          provider: "ark",
          base_url: "https://ark.example.test/api/v3",
          api_key_sealed: new SecretBox("lifecycle-tests-secret").seal("ark-key"),
          models_json: JSON.stringify({ "seedance-1-5-pro-with-audio": "seedance-1-5-pro-251215" }),
          priority: 0,
          weight: 1,
          max_concurrent: 3,
          in_flight: 1,
          enabled: 1,
          callback_token: `cb_${uniqueSuffix()}`,
          created_at: now,
          updated_at: now,
        })
        .execute();
      const task: TaskRow = { ...taskRow(account.id, key.id), callback_url: options.callback ?? null };
      await w.lifecycle.submit(task, { kind: "dispatch", taskId: task.id });
      await store.db.updateTable("tasks").set({ channel_id: channel.id }).where("id", "=", task.id).execute();
      await w.lifecycle.start(task.id);
      w.changed.length = 0;
      w.calls.length = 0;
      const inFlight = async () =>
        Number(
          (
            await store.db
              .selectFrom("channels")
              .select("in_flight")
              .where("id", "=", channel.id)
              .executeTakeFirstOrThrow()
          ).in_flight,
        );
      assert.equal(await inFlight(), 1);
      return { account, key, task, channel, inFlight };
    }

    test("finish(succeeded): status, expiry, slot, billing on the reported usage, webhook with the GET object, metric, event", async () => {
      const w = wire(store, billing);
      const { account, task, channel, inFlight } = await runningTaskOnChannel(w, {
        callback: "https://hooks.example.test/done",
      });
      const pokesBefore = w.pokes();
      const before = Date.now();
      const finished = await w.lifecycle.finish(
        task.id,
        "succeeded",
        { output_key: "videos/out.mp4", upstream_status: "succeeded" },
        { seconds: 3 },
      );
      const afterFinish = Date.now();
      assert.ok(finished);
      assert.equal(finished.status, "succeeded");
      assert.equal(finished.progress, 100);
      assert.equal(finished.output_key, "videos/out.mp4", "the patch is written with the transition");
      assert.ok(finished.completed_at! >= before && finished.completed_at! <= afterFinish);
      assert.ok(
        finished.expires_at! >= before + TTL_SECONDS * 1000 &&
          finished.expires_at! <= afterFinish + TTL_SECONDS * 1000,
      );
      assert.equal(await inFlight(), 0, "the channel slot is given back");
      assert.deepEqual(w.calls, [`releaseSlot:${channel.id}`, `enqueueForTask:${task.id}`]);

      const hold = await holdOf(task.id);
      assert.equal(hold?.status, "captured");
      assert.equal(
        Number(hold?.amount_captured),
        3 * PER_SECOND_720P,
        "billed on the provider's 3 s, not the 5 s asked",
      );
      assert.equal(Number(hold?.billed_seconds), 3);
      const balance = await billing.ledger.balance(account.id);
      assert.equal(balance.held_micros, 0);
      assert.equal(balance.balance_micros, 10_000_000 - 3 * PER_SECOND_720P);

      const deliveries = await deliveriesOf(task.id);
      assert.equal(deliveries.length, 1);
      assert.equal(deliveries[0]?.url, "https://hooks.example.test/done");
      const delivered = JSON.parse(deliveries[0]!.payload);
      const shown = await w.deps.presenter.present((await w.deps.tasks.getById(task.id))!);
      assert.deepEqual(
        delivered,
        JSON.parse(JSON.stringify(shown)),
        "the webhook carries the object GET shows",
      );
      assert.equal(delivered.status, "succeeded");
      assert.equal(delivered.usage?.seconds, 3);
      assert.ok((await jobsOf(task.id)).some((j) => j.kind === "deliver" && j.status === "queued"));

      assert.equal(
        await finishedCount(w.deps.metrics, { status: "succeeded", model: task.model, provider: "ark" }),
        1,
      );
      assert.ok(w.pokes() > pokesBefore, "workers are woken for the delivery job");
      assert.equal(w.poked.at(-1), "deliver", "the delivery workers, not every kind");
      assert.deepEqual(w.changed, [task.id]);
    });

    test("finish(failed): no expiry, the hold released in full, a failed webhook, the failed metric", async () => {
      const w = wire(store, billing);
      const { account, task, inFlight } = await runningTaskOnChannel(w, {
        callback: "https://hooks.example.test/failed",
      });
      const finished = await w.lifecycle.finish(task.id, "failed", {
        error_code: "upstream_error",
        error_message: "the provider failed",
        progress: 40,
      });
      assert.equal(finished?.status, "failed");
      assert.equal(finished?.expires_at, null, "nothing to expire for a failed task");
      assert.equal(finished?.progress, 40);
      assert.equal(await inFlight(), 0);
      const hold = await holdOf(task.id);
      assert.equal(hold?.status, "released");
      assert.equal(Number(hold?.amount_captured), 0);
      const balance = await billing.ledger.balance(account.id);
      assert.equal(balance.balance_micros, 10_000_000, "failed tasks are never billed");
      assert.equal(balance.held_micros, 0);
      const [delivery] = await deliveriesOf(task.id);
      const payload = JSON.parse(delivery!.payload);
      assert.equal(payload.status, "failed");
      assert.deepEqual(payload.error, { code: "upstream_error", message: "the provider failed" });
      assert.equal(
        await finishedCount(w.deps.metrics, { status: "failed", model: task.model, provider: "ark" }),
        1,
      );
      assert.equal(await finishedCount(w.deps.metrics, { status: "succeeded" }), 0);
    });

    test("checkSubmit says whether submit would accept the task, and writes nothing either way", async () => {
      const w = wire(store, billing);
      const { account, key } = await funded();
      const accepted = taskRow(account.id, key.id);
      await w.lifecycle.checkSubmit(accepted);
      assert.equal(await w.deps.tasks.getById(accepted.id), undefined);
      assert.equal(await holdOf(accepted.id), undefined);
      assert.equal((await billing.ledger.balance(account.id)).held_micros, 0);

      const broke = await newCustomer(store.accounts);
      const refused = taskRow(broke.account.id, broke.key.id);
      await assert.rejects(w.lifecycle.checkSubmit(refused), (e: { code?: string }) => {
        assert.equal(e.code, "insufficient_balance");
        return true;
      });
      assert.equal(await w.deps.tasks.getById(refused.id), undefined);
      assert.deepEqual(w.changed, [], "a dry run tells no one");
    });

    test("upstreamRunning: submitted → running, progress forward only and at most 95, next poll scheduled", async () => {
      const { account, key } = await funded();
      const w = wire(store, billing);
      const task = taskRow(account.id, key.id);
      await w.lifecycle.submit(task, { kind: "dispatch", taskId: task.id });
      w.changed.length = 0;
      const before = Date.now();
      const read = async () => (await w.deps.tasks.getById(task.id))!;

      // Running with no progress yet: the status alone is a change worth telling.
      await w.lifecycle.upstreamRunning(await read(), 0, 5000);
      assert.equal((await read()).status, "running");
      assert.deepEqual(w.changed, [task.id]);
      w.changed.length = 0;

      await w.lifecycle.upstreamRunning(await read(), 40.4, 5000);
      let row = await read();
      assert.equal(row.upstream_status, "running");
      assert.equal(row.progress, 40);
      assert.ok(row.started_at !== null && row.started_at >= before);
      assert.ok(Number(row.next_poll_at) >= before + 5000, "the next poll is the given delay away");
      assert.ok(Number(row.next_poll_at) <= Date.now() + 5000);
      assert.deepEqual(w.changed, [task.id]);

      // A lower estimate moves nothing back, keeps when it started, and tells no one.
      const startedAt = row.started_at;
      w.changed.length = 0;
      await w.lifecycle.upstreamRunning(row, 10, 5000);
      row = await read();
      assert.equal(row.progress, 40);
      assert.equal(row.started_at, startedAt);
      assert.deepEqual(w.changed, []);

      // Progress stops at 95 until the task has finished.
      await w.lifecycle.upstreamRunning(row, 120, 5000);
      row = await read();
      assert.equal(row.progress, 95);
      assert.deepEqual(w.changed, [task.id]);

      // A task that finished meanwhile is left as it is.
      await w.lifecycle.finish(task.id, "failed", {
        error_code: "cancelled",
        error_message: "by the client",
      });
      const finished = await read();
      await w.lifecycle.upstreamRunning({ ...finished, status: "running" }, 99, 5000);
      const after = await read();
      assert.equal(after.status, "failed");
      assert.equal(after.progress, finished.progress);
    });

    test("a task finishes once: the second finish changes nothing and reports undefined", async () => {
      const w = wire(store, billing);
      const { task, inFlight } = await runningTaskOnChannel(w, {
        callback: "https://hooks.example.test/once",
      });
      assert.ok(await w.lifecycle.finish(task.id, "succeeded", {}, { seconds: 5 }));
      const pokes = w.pokes();
      w.calls.length = 0;
      w.changed.length = 0;
      assert.equal(await w.lifecycle.finish(task.id, "failed", { error_code: "late" }), undefined);
      assert.equal(await w.lifecycle.finish(task.id, "succeeded"), undefined);
      assert.equal((await w.deps.tasks.getById(task.id))?.status, "succeeded");
      assert.equal(await inFlight(), 0, "the slot is not released twice (another task's slot would be lost)");
      assert.deepEqual(w.calls, [], "no second slot release, no second webhook");
      assert.equal((await deliveriesOf(task.id)).length, 1);
      assert.equal(w.pokes(), pokes);
      assert.deepEqual(w.changed, []);
      assert.equal(await finishedCount(w.deps.metrics, { status: "failed" }), 0);
      assert.equal(await finishedCount(w.deps.metrics, { status: "succeeded" }), 1);
    });

    test("a task with no channel and no callback: no slot to release, no outbox row", async () => {
      const { account, key } = await funded();
      const w = wire(store, billing);
      const task = taskRow(account.id, key.id, { provider: "local" });
      await w.lifecycle.submit(task, { kind: "render", taskId: task.id });
      w.calls.length = 0;
      const finished = await w.lifecycle.finish(task.id, "succeeded", { output_key: "videos/local.mp4" });
      assert.equal(finished?.status, "succeeded");
      assert.deepEqual(w.calls, [], "neither releaseSlot nor the webhook outbox is touched");
      assert.deepEqual(await deliveriesOf(task.id), []);
      assert.equal((await holdOf(task.id))?.status, "captured");
    });

    test("a crash inside finish's transaction leaves the task active, its slot held, its hold open and no webhook", async () => {
      const w = wire(store, billing);
      const { task, inFlight } = await runningTaskOnChannel(w, {
        callback: "https://hooks.example.test/crash",
      });
      const holds = billing.holds;
      const crashing = wire(store, billing, {
        billing: {
          holdForTaskRow: (trx, t) => holds.holdForTaskRow(trx, t),
          async settleFinishedTask(trx, t, usage) {
            await holds.settleFinishedTask(trx, t, usage);
            throw new Error("process died mid-commit");
          },
        } satisfies Pick<BillingHolds, "holdForTaskRow" | "settleFinishedTask">,
      });
      await assert.rejects(
        crashing.lifecycle.finish(task.id, "succeeded", { output_key: "x.mp4" }),
        /died mid-commit/,
      );
      const row = await w.deps.tasks.getById(task.id);
      assert.equal(row?.status, "running");
      assert.equal(row?.output_key, null);
      assert.equal(await inFlight(), 1);
      assert.equal((await holdOf(task.id))?.status, "open");
      assert.deepEqual(await deliveriesOf(task.id), []);
      assert.deepEqual(crashing.changed, []);
      assert.equal(await finishedCount(crashing.deps.metrics, { status: "succeeded" }), 0);
      // After the crash the task still finishes, once, as usual.
      assert.equal(
        (await w.lifecycle.finish(task.id, "succeeded", { output_key: "x.mp4" }))?.status,
        "succeeded",
      );
      assert.equal((await deliveriesOf(task.id)).length, 1);
    });
  });
}
