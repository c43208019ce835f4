/**
 * Housekeeping that must keep going whatever fails: expired files, expired videos, tasks past the
 * timeout (cancelled at their provider first), crash leftovers in tmp/; and thumbnails made once
 * however many ask at the same moment.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { billingView } from "../../src/billing/tables.ts";
import { type ArkDouble, startArkDouble } from "../doubles/ark/double.ts";
import { sample } from "../helpers/paths.ts";
import { until } from "../helpers/receiver.ts";
import { addChannel, startTestServer, type TestServer, uploadFile, waitForTask } from "../helpers/server.ts";

const SUBMIT = {
  model: "seedance-1-5-pro-with-audio",
  prompt: "waves on a pier",
  seconds: "4",
  metadata: { ratio: "16:9", resolution: "480p" },
};

async function submit(t: TestServer): Promise<string> {
  const res = await t.api("/v1/video/generations", { method: "POST", json: SUBMIT });
  assert.equal(res.status, 200, await res.clone().text());
  return ((await res.json()) as { task_id: string }).task_id;
}

describe("the sweep, step by step", () => {
  let t: TestServer;
  before(async () => {
    // A long interval: the test runs rounds itself.
    t = await startTestServer({ sweepIntervalSeconds: 3600, taskTimeoutSeconds: 60 });
  });
  after(() => t.stop());

  test("a blob that cannot be deleted does not stop the timeout step (or any other)", async () => {
    const { db, storage } = t.server.services;
    const file = (await (await uploadFile(t, sample("landscape-600x450.jpg"))).json()) as { id: string };
    await db
      .updateTable("files")
      .set({ expires_at: Date.now() - 1000 })
      .where("id", "=", file.id)
      .execute();
    // A task accepted 2 minutes ago and never started (no worker took it): past the 60 s timeout.
    const stuck = await submit(t);
    await t.server.runner?.stop(100);
    await db
      .updateTable("tasks")
      .set({ status: "submitted", created_at: Date.now() - 120_000 })
      .where("id", "=", stuck)
      .execute();
    const originalDelete = storage.delete.bind(storage);
    storage.delete = async (key: string) => {
      if (key.startsWith("files/")) throw new Error("storage unavailable");
      return originalDelete(key);
    };
    try {
      const outcome = await t.server.sweeper.runOnce();
      assert.equal(outcome["expired files"], "storage unavailable");
      assert.equal(outcome["task timeouts"], "ok");
      const task = (await (await t.api(`/v1/video/generations/${stuck}`)).json()) as {
        status: string;
        error: { code: string };
      };
      assert.equal(task.status, "failed");
      assert.equal(task.error.code, "timeout");
      const hold = await billingView(db)
        .selectFrom("billing_holds")
        .select("status")
        .where("task_id", "=", stuck)
        .executeTakeFirstOrThrow();
      assert.equal(hold.status, "released", "its hold is released, not kept");
      const row = await db.selectFrom("files").select("id").where("id", "=", file.id).executeTakeFirst();
      assert.ok(row, "the file whose blob could not be deleted is kept for the next round");
    } finally {
      storage.delete = originalDelete;
    }
    assert.equal((await t.server.sweeper.runOnce())["expired files"], "ok");
    assert.equal(
      await db.selectFrom("files").select("id").where("id", "=", file.id).executeTakeFirst(),
      undefined,
    );
  });

  test("crash leftovers in tmp/ go; what is in use stays", async () => {
    const tmp = join(t.dataDir, "tmp");
    await mkdir(tmp, { recursive: true });
    await writeFile(join(tmp, "upload-left-by-a-killed-process"), "x");
    const hourAgo = (Date.now() - 2 * 3600_000) / 1000;
    await utimes(join(tmp, "upload-left-by-a-killed-process"), hourAgo, hourAgo);
    await writeFile(join(tmp, "spool-in-use"), "x");
    await t.server.sweeper.runOnce();
    assert.equal(existsSync(join(tmp, "upload-left-by-a-killed-process")), false);
    assert.equal(existsSync(join(tmp, "spool-in-use")), true);
  });
});

describe("expired videos", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ sweepIntervalSeconds: 3600 });
  });
  after(() => t.stop());

  test("past expires_at a video is gone from every door, and the sweep deletes it", async () => {
    const id = await submit(t);
    const done = await waitForTask(t, id);
    assert.equal(done.status, "succeeded");
    const { db, storage } = t.server.services;
    const publicUrl = String(done.url);
    assert.equal((await fetch(publicUrl)).status, 200);
    await db
      .updateTable("tasks")
      .set({ expires_at: Date.now() - 1000 })
      .where("id", "=", id)
      .execute();

    const task = (await (await t.api(`/v1/video/generations/${id}`)).json()) as Record<string, unknown>;
    assert.equal(task.status, "succeeded");
    assert.equal(task.url, undefined, "no url past expiry");
    for (const path of [`/v1/video/generations/${id}/content`, `/v1/videos/${id}/content`]) {
      const res = await t.api(path);
      const body = (await res.json()) as { error: { code: string } };
      assert.equal(res.status, 410, path);
      assert.equal(body.error.code, "video_expired");
    }
    assert.equal((await fetch(publicUrl)).status, 404);

    const before = await db
      .selectFrom("tasks")
      .select(["output_key", "poster_key"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    assert.ok(before.output_key);
    assert.equal((await t.server.sweeper.runOnce())["expired videos"], "ok");
    const afterRow = await db
      .selectFrom("tasks")
      .select(["output_key", "poster_key", "last_frame_key"])
      .where("id", "=", id)
      .executeTakeFirstOrThrow();
    assert.deepEqual(afterRow, { output_key: null, poster_key: null, last_frame_key: null });
    assert.equal(await storage.size(before.output_key!), null, "the blob is deleted");
  });

  test("a thumbnail asked for by 12 clients at once is made once", async () => {
    const id = await submit(t);
    const done = await waitForTask(t, id);
    const { db, storage } = t.server.services;
    await db.updateTable("tasks").set({ poster_key: null }).where("id", "=", id).execute();
    const put = storage.putFile.bind(storage);
    let posters = 0;
    storage.putFile = async (key, path, type) => {
      if (key.endsWith(".jpg")) posters++;
      return put(key, path, type);
    };
    try {
      const thumbnail = String(done.thumbnail_url);
      const answers = await Promise.all(
        Array.from({ length: 12 }, (_, i) => fetch(thumbnail, { method: i % 3 === 0 ? "HEAD" : "GET" })),
      );
      assert.deepEqual(new Set(answers.map((r) => r.status)), new Set([200]));
      assert.equal(posters, 1, "one download and one ffmpeg run for all of them");
    } finally {
      storage.putFile = put;
    }
  });
});

describe("a relayed task past the timeout", () => {
  let t: TestServer;
  let ark: ArkDouble;
  before(async () => {
    // The upstream queue never moves: the task waits there until the gateway gives up on it.
    ark = await startArkDouble({ profile: "cn", queueDelayMs: 10 * 24 * 3600_000 });
    t = await startTestServer({
      upstreamPollScale: 0.01,
      sweepIntervalSeconds: 3600,
      taskTimeoutSeconds: 30,
    });
    await addChannel(t, {
      provider: "ark",
      base_url: ark.baseUrl,
      api_key: ark.keys[0],
      models: { [SUBMIT.model]: "doubao-seedance-1-5-pro-251215" },
    });
  });
  after(async () => {
    await t.stop();
    await ark.close();
  });

  test("is cancelled at its provider, then fails with timeout and is not billed", async () => {
    const id = await submit(t);
    const { db } = t.server.services;
    await until(
      async () =>
        Boolean(
          (await db.selectFrom("tasks").select("upstream_id").where("id", "=", id).executeTakeFirst())
            ?.upstream_id,
        ),
      20_000,
      "the task to reach Ark",
    );
    await db
      .updateTable("tasks")
      .set({ created_at: Date.now() - 60_000 })
      .where("id", "=", id)
      .execute();
    assert.equal((await t.server.sweeper.runOnce())["task timeouts"], "ok");
    const deletes = ark.journal.list({
      method: "DELETE",
      path: /^\/api\/v3\/contents\/generations\/tasks\/cgt-/,
    });
    assert.equal(deletes.length, 1, "the gateway asked Ark to stop it");
    const task = (await (await t.api(`/v1/video/generations/${id}`)).json()) as {
      status: string;
      error: { code: string; message: string };
      usage?: { cost: string };
    };
    assert.equal(task.status, "failed");
    assert.equal(task.error.code, "timeout");
    assert.match(task.error.message, /cancelled at the provider/);
    assert.equal(Number(task.usage?.cost ?? 0), 0);
  });
});
