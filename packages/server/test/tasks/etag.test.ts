import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { openDatabase } from "../../src/store/db.ts";
import { freshPostgres, type TestDatabase } from "../helpers/databases.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";

const task = {
  model: "seedance-1-5-pro-no-audio",
  prompt: "etag",
  seconds: "4",
  metadata: { resolution: "480p" },
};

for (const store of ["SQLite", "Postgres"] as const) {
  describe(`GET a task: ETag, 304 and changes made anywhere (${store})`, () => {
    let t: TestServer;
    let database: TestDatabase | undefined;
    before(async () => {
      database = store === "Postgres" ? await freshPostgres() : undefined;
      // No workers: a task stays as submitted until a test changes it.
      t = await startTestServer({ workers: false, databaseUrl: database?.url });
    });
    after(async () => {
      await t.stop();
      await database?.drop();
    });

    async function submit(): Promise<string> {
      const res = await t.api("/v1/video/generations", { method: "POST", json: task });
      assert.equal(res.status, 200);
      return ((await res.json()) as { task_id: string }).task_id;
    }

    test("the ETag comes back as 304 with no body until the task changes", async () => {
      const id = await submit();
      const first = await t.api(`/v1/video/generations/${id}`);
      assert.equal(first.status, 200);
      const etag = first.headers.get("etag")!;
      assert.match(etag, /^"[A-Za-z0-9_-]{27}"$/);
      const body = await first.text();
      const again = await t.api(`/v1/video/generations/${id}`);
      assert.equal(again.headers.get("etag"), etag, "the same object, the same tag");
      assert.equal(await again.text(), body, "byte for byte");

      const notModified = await t.api(`/v1/video/generations/${id}`, { headers: { "if-none-match": etag } });
      assert.equal(notModified.status, 304);
      assert.equal(notModified.headers.get("etag"), etag);
      assert.equal(await notModified.text(), "");

      const cancel = await t.api(`/v1/video/generations/${id}/cancel`, { method: "POST" });
      assert.equal(cancel.status, 200);
      const changed = await t.api(`/v1/video/generations/${id}`, { headers: { "if-none-match": etag } });
      assert.equal(changed.status, 200, "changed since the tag: the new object");
      assert.notEqual(changed.headers.get("etag"), etag);
      const object = (await changed.json()) as { status: string; error: { code: string } };
      assert.equal(object.status, "failed");
      assert.equal(object.error.code, "cancelled");
    });

    test("a change committed by another process shows at the next GET", async () => {
      const id = await submit();
      const read = async () => {
        const res = await t.api(`/v1/video/generations/${id}`);
        return { etag: res.headers.get("etag"), object: (await res.json()) as { progress: number } };
      };
      const first = await read();
      assert.equal((await read()).etag, first.etag); // cached now where the store allows it
      // Another process on the same store (a `vidrelay worker`): its own connection.
      const other = openDatabase(database?.url ?? `sqlite:${t.dataDir}/vidrelay.db`);
      try {
        await other.db.updateTable("tasks").set({ progress: 42 }).where("id", "=", id).execute();
      } finally {
        await other.close();
      }
      const second = await read();
      assert.equal(second.object.progress, 42);
      assert.notEqual(second.etag, first.etag);
    });

    test("another account's key gets 404 for a task that is cached", async () => {
      const id = await submit();
      assert.equal((await t.api(`/v1/video/generations/${id}`)).status, 200);
      const stranger = await t.newAccountKey(`stranger-${store}`);
      const res = await t.api(`/v1/video/generations/${id}`, {
        headers: { authorization: `Bearer ${stranger}` },
      });
      assert.equal(res.status, 404);
      assert.equal(res.headers.get("etag"), null);
    });
  });
}
