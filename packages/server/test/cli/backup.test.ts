/**
 * `vidrelay backup`: a consistent copy of a SQLite store taken while the gateway keeps accepting
 * tasks, which a second gateway then serves; and the refusals (an existing FILE without --force,
 * a Postgres store).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { migrateToLatest, openDatabase } from "../../src/store/db.ts";
import { openSqlite } from "../../src/store/sqlite-driver.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { runCli } from "./run.ts";

const TASK = {
  model: "seedance-1-5-pro-no-audio",
  prompt: "a backup's worth of tasks",
  seconds: "4",
  metadata: { resolution: "480p" },
};

/** Rows of a statement on a SQLite file, through the store's own driver. */
function query(file: string, statement: string): Record<string, unknown>[] {
  const sqlite = openSqlite(file);
  try {
    // Copied into plain objects: node:sqlite (Node 24) returns null-prototype rows.
    return (sqlite.prepare(statement).all([]) as Record<string, unknown>[]).map((row) => ({ ...row }));
  } finally {
    sqlite.close();
  }
}

describe("vidrelay backup", () => {
  let work: string;
  before(async () => {
    // The CLI runs here, so no .env of the repository reaches it.
    work = await mkdtemp(join(tmpdir(), "vidrelay-backup-"));
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  test("copies the store while tasks keep coming in; a gateway started on the copy serves them", async () => {
    // No workers: tasks stay as submitted, so the machine's cores go to the submits and the copy.
    const t: TestServer = await startTestServer({ workers: false });
    const file = join(work, "snapshot.db");
    let restored: TestServer | undefined;
    const restoredDir = await mkdtemp(join(tmpdir(), "vidrelay-restored-"));
    try {
      const acknowledged: string[] = [];
      const refused: string[] = [];
      let submitting = true;
      const submitter = async () => {
        while (submitting) {
          const res = await t.api("/v1/video/generations", { method: "POST", json: TASK });
          if (res.status === 200) acknowledged.push(((await res.json()) as { task_id: string }).task_id);
          else refused.push(`${res.status} ${await res.text()}`);
        }
      };
      // Three clients at once, so submits also share group commits while the copy is taken.
      const submitters = [submitter(), submitter(), submitter()];
      while (acknowledged.length < 30) await new Promise((r) => setTimeout(r, 20));

      const beforeBackup = [...acknowledged];
      const result = await runCli(["backup", file, "--data-dir", t.dataDir], {}, { cwd: work });
      const duringBackup = acknowledged.length - beforeBackup.length;
      submitting = false;
      await Promise.all(submitters);

      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(refused, [], "every submit during the backup was accepted");
      assert.ok(duringBackup > 0, "the gateway acknowledged tasks while the backup ran");
      assert.match(result.stdout, new RegExp(`backed up ${join(t.dataDir, "vidrelay.db")}`));
      assert.match(result.stdout, new RegExp(`to ${file}\\s+\\(\\d+\\.\\d (KiB|MiB)`));
      assert.match(result.stdout, /not included: the blobs .* in .*\/blobs/);
      assert.match(result.stdout, /secret\.key/);
      assert.equal(existsSync(`${file}.partial`), false, "the partial file became the backup");

      assert.deepEqual(query(file, "pragma integrity_check"), [{ integrity_check: "ok" }]);
      const copied = new Set(query(file, "select id from tasks").map((row) => row.id as string));
      const missing = beforeBackup.filter((id) => !copied.has(id));
      assert.deepEqual(missing, [], "every task acknowledged before the backup began is in it");
      // One transaction writes a task, its billing hold and its first job: a consistent copy has
      // all three of every task or none.
      const [counts] = query(
        file,
        `select (select count(*) from tasks) as tasks, (select count(*) from billing_holds) as holds,
                (select count(*) from jobs) as jobs`,
      );
      assert.deepEqual(
        counts,
        { tasks: copied.size, holds: copied.size, jobs: copied.size },
        "tasks, holds and jobs of one snapshot",
      );

      // Restore as docs/deployment.md says: the backup as vidrelay.db of a data dir, with the secret.
      await copyFile(file, join(restoredDir, "vidrelay.db"));
      await copyFile(join(t.dataDir, "secret.key"), join(restoredDir, "secret.key"));
      restored = await startTestServer({ dataDir: restoredDir, workers: false }, { asInstalled: true });
      const id = beforeBackup[beforeBackup.length - 1]!;
      const res = await restored.api(`/v1/video/generations/${id}`);
      assert.equal(res.status, 200, await res.clone().text());
      const task = (await res.json()) as { task_id: string; status: string; prompt: string };
      assert.deepEqual([task.task_id, task.status, task.prompt], [id, "submitted", TASK.prompt]);
    } finally {
      await restored?.stop();
      await t.stop();
      await rm(restoredDir, { recursive: true, force: true });
    }
  });

  test("takes no write lock: it copies what is committed (WAL included) while another connection writes", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-locked-"));
    const store = join(dataDir, "vidrelay.db");
    const file = join(work, "beside-a-writer.db");
    const handle = openDatabase(`sqlite:${store}`);
    await migrateToLatest(handle.db, ALL_MIGRATIONS);
    await handle.db.insertInto("kv").values({ key: "committed", value: "1", updated_at: 1 }).execute();
    await handle.close();
    // A writer as the gateway is at any moment: a commit still only in the WAL (the connection stays
    // open, so nothing checkpoints it into the file) and a transaction under way. A backup that
    // copied the file would miss the first; one that wanted the write lock would wait out its busy
    // timeout and fail.
    const writer = openSqlite(store);
    writer.exec("insert into kv (key, value, updated_at) values ('committed-in-wal', '2', 2)");
    writer.exec("begin immediate");
    writer.exec("insert into kv (key, value, updated_at) values ('uncommitted', '3', 3)");
    try {
      const result = await runCli(["backup", file, "--data-dir", dataDir], {}, { cwd: work });
      assert.equal(result.code, 0, result.stderr);
      assert.deepEqual(
        query(file, "select key from kv order by key").map((row) => row.key),
        ["committed", "committed-in-wal"],
        "the store as committed when the copy began",
      );
    } finally {
      writer.exec("rollback");
      writer.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  test("an existing FILE is replaced only with --force", async () => {
    const t = await startTestServer({ workers: false });
    try {
      const file = join(work, "existing.db");
      await writeFile(file, "an earlier backup");
      const refused = await runCli(["backup", file, "--data-dir", t.dataDir], {}, { cwd: work });
      assert.equal(refused.code, 2, refused.stdout);
      assert.match(refused.stderr, /exists; pass --force to replace it/);
      assert.equal(refused.stderr.trim().split("\n").length, 1, "one line, no stack");
      assert.equal(await readFile(file, "utf8"), "an earlier backup", "left as it was");

      const forced = await runCli(["backup", file, "--data-dir", t.dataDir, "--force"], {}, { cwd: work });
      assert.equal(forced.code, 0, forced.stderr);
      assert.deepEqual(query(file, "pragma integrity_check"), [{ integrity_check: "ok" }]);
      assert.equal(query(file, "select id from accounts").length, 1, "the store's admin account");
    } finally {
      await t.stop();
    }
  });

  test("a Postgres store is pointed to pg_dump, and --help prints the usage", async () => {
    const file = join(work, "pg.dump");
    const pg = await runCli(
      ["backup", file, "--database-url", "postgres://vidrelay@127.0.0.1:1/vidrelay"],
      {},
      { cwd: work },
    );
    assert.equal(pg.code, 2, pg.stdout);
    assert.match(pg.stderr, /pg_dump --format=custom --file=\S+ "\$VIDRELAY_DATABASE_URL"/);
    assert.match(pg.stderr, /pg-boss/);
    assert.match(pg.stderr, /docs\/deployment\.md/);
    assert.equal(pg.stderr.trim().split("\n").length, 1, "one paragraph, no stack");
    assert.equal(existsSync(file), false);

    const help = await runCli(["backup", "--help"], {}, { cwd: work });
    assert.equal(help.code, 0);
    assert.match(help.stdout, /vidrelay backup FILE \[--data-dir DIR\] \[--database-url URL\] \[--force\]/);
  });
});
