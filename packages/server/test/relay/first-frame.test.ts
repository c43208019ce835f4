/**
 * A task's conformed first frame is stored once, whatever happens to the steps that need it: two
 * attempts at once end with one file (the loser's storage object removed), a later attempt finds
 * it, and a copy that expired meanwhile does not block a new one.
 */
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Catalog, DEFAULT_CATALOG } from "../../src/catalog/models.ts";
import { loadConfig } from "../../src/config.ts";
import type { NormalizedRequest } from "../../src/domain/request.ts";
import { FileRepository } from "../../src/files/repository.ts";
import { FileService } from "../../src/files/service.ts";
import { AccountRepository } from "../../src/keys/repository.ts";
import { ALL_MIGRATIONS } from "../../src/migrations.ts";
import { parseAllowList } from "../../src/net/address-policy.ts";
import { conformedFileId, conformFirstFrame, type FirstFrameDeps } from "../../src/relay/first-frame.ts";
import { DiskStorage } from "../../src/storage/disk.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "../../src/store/db.ts";
import { freshSqlite } from "../helpers/databases.ts";

const PHOTO = fileURLToPath(new URL("../../../../examples/media/landscape-600x450.jpg", import.meta.url));

describe("conformFirstFrame: one stored copy per task", () => {
  let handle: DatabaseHandle;
  let files: FileService;
  let storageRoot: string;
  let deps: FirstFrameDeps;
  let photo: { url: string; token: string };
  let accountId: string;

  before(async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-first-frame-test-"));
    storageRoot = join(dataDir, "storage");
    const database = await freshSqlite();
    handle = openDatabase(database.url);
    await migrateToLatest(handle.db, ALL_MIGRATIONS);
    const config = loadConfig({
      dataDir,
      bootstrapKey: "sk-first-frame-test-bootstrap-key-0000000000000000",
    });
    const storage = new DiskStorage(storageRoot);
    files = new FileService(config, new FileRepository(handle.db), storage);
    deps = {
      catalog: new Catalog(DEFAULT_CATALOG),
      materialize: {
        files,
        storage,
        limits: files.limits,
        allowPrivate: parseAllowList(""),
        fetchTimeoutMs: 5000,
      },
    };
    accountId = (await new AccountRepository(handle.db).createAccount("first frame", false)).id;
    const row = await files.create({ accountId, testMode: 0 }, createReadStream(PHOTO), "photo.jpg");
    photo = { url: files.urlOf(row), token: row.token };
  });
  after(() => handle.close());

  const request = (ratio: "16:9" | "1:1" | "9:16"): NormalizedRequest => ({
    model: "happyhorse-1.0-i2v",
    mode: "first_frame",
    prompt: "@image1 the camera pushes in",
    seconds: 5,
    ratio,
    resolution: "720p",
    generateAudio: false,
    fit: "crop",
    content: [
      { kind: "image", role: "first_frame", index: 1, position: 0, url: photo.url, fileToken: photo.token },
    ],
    citations: ["image1"],
  });

  /** Storage objects of one file id (the derived id prefixes each attempt's object). */
  async function objectsOf(fileId: string): Promise<string[]> {
    const dir = join(storageRoot, "files", fileId.slice(-2));
    return (await readdir(dir).catch(() => [])).filter((name) => name.startsWith(fileId));
  }

  test("two attempts at once: one file, one storage object, both given its URL", async () => {
    const task = { id: "task_concurrent", account_id: accountId, test_mode: 0 };
    const fileId = conformedFileId(task.id, "16:9", "crop");
    const [a, b] = await Promise.all([
      conformFirstFrame(request("16:9"), task, deps),
      conformFirstFrame(request("16:9"), task, deps),
    ]);
    assert.equal(a.content[0]!.url, b.content[0]!.url);
    assert.notEqual(a.content[0]!.url, photo.url, "the conformed copy, not the photo");
    const stored = await files.find({ accountId, testMode: 0 }, fileId);
    assert.ok(stored, "stored under the task's derived id");
    assert.equal(a.content[0]!.fileToken, stored.token);
    assert.equal((await objectsOf(fileId)).length, 1, "the losing attempt removed its own object");
    const again = await conformFirstFrame(request("16:9"), task, deps);
    assert.equal(again.content[0]!.url, a.content[0]!.url, "a later attempt finds it");
    assert.equal((await objectsOf(fileId)).length, 1);
  });

  test("another task, or another ratio of the same task, gets its own copy", async () => {
    const one = await conformFirstFrame(
      request("1:1"),
      { id: "task_one", account_id: accountId, test_mode: 0 },
      deps,
    );
    const two = await conformFirstFrame(
      request("1:1"),
      { id: "task_two", account_id: accountId, test_mode: 0 },
      deps,
    );
    const tall = await conformFirstFrame(
      request("9:16"),
      { id: "task_one", account_id: accountId, test_mode: 0 },
      deps,
    );
    assert.equal(new Set([one, two, tall].map((r) => r.content[0]!.url)).size, 3);
  });

  test("an expired copy not yet swept does not block a new one", async () => {
    const task = { id: "task_expired", account_id: accountId, test_mode: 0 };
    const fileId = conformedFileId(task.id, "16:9", "crop");
    const first = await conformFirstFrame(request("16:9"), task, deps);
    await handle.db
      .updateTable("files")
      .set({ expires_at: Date.now() - 1 })
      .where("id", "=", fileId)
      .execute();
    const second = await conformFirstFrame(request("16:9"), task, deps);
    assert.notEqual(second.content[0]!.url, first.content[0]!.url);
    const token = second.content[0]!.fileToken!;
    const live = await files.byToken(token);
    assert.ok(live, "the new copy is live");
    assert.equal(live.account_id, accountId);
  });
});
