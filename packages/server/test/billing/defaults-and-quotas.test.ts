/**
 * What a customer's key gets without any setting of its own: default limits (the operator's admin
 * keys start unlimited), a storage quota per account, and data: URLs that are stored only once the
 * submit's balance and limits have been checked — a key that may not submit cannot fill storage.
 */
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sample } from "../helpers/paths.ts";
import { startTestServer, type TestServer, uploadFile } from "../helpers/server.ts";

const SUBMIT = { model: "seedance-1-5-pro-no-audio", prompt: "@image1 a slow pan", seconds: "4" };

async function filesOf(t: TestServer, key: string): Promise<number> {
  const list = (await (await t.api("/v1/files", { headers: { authorization: `Bearer ${key}` } })).json()) as {
    data: unknown[];
  };
  return list.data.length;
}

async function blobCount(t: TestServer): Promise<number> {
  const root = join(t.dataDir, "blobs", "files");
  let n = 0;
  for (const dir of await readdir(root).catch(() => [] as string[]))
    n += (await readdir(join(root, dir))).length;
  return n;
}

describe("default limits for customers' keys", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ workers: false, defaultRequestsPerMinute: 3, defaultMaxConcurrent: 2 });
  });
  after(() => t.stop());

  test("a non-admin key is limited by default; an admin key is not", async () => {
    const key = await t.newAccountKey("customer");
    const headers = { authorization: `Bearer ${key}` };
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.api("/v1/models", { headers })).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const admin = await t.api("/v1/models");
    assert.equal(admin.status, 200);
    assert.equal(admin.headers.get("ratelimit-limit"), null, "the operator's key has no default limit");
  });

  test("tasks in flight are capped by default for a non-admin key", async () => {
    const key = await t.newAccountKey("busy");
    const account = (
      (await (await t.api("/v1/me", { headers: { authorization: `Bearer ${key}` } })).json()) as {
        account: { id: string };
      }
    ).account.id;
    await t.api(`/v1/admin/accounts/${account}/topup`, { method: "POST", json: { amount: "100.00" } });
    // Its rate limit is raised, so that only the concurrency default is tested.
    await t.api(`/v1/admin/accounts/${account}/limits`, {
      method: "PUT",
      json: { requests_per_minute: 100 },
    });
    const codes: Array<number | string> = [];
    for (let i = 0; i < 3; i++) {
      const res = await t.api("/v1/video/generations", {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
        json: { ...SUBMIT, prompt: "text only" },
      });
      codes.push(res.status === 200 ? 200 : ((await res.json()) as { error: { code: string } }).error.code);
    }
    assert.deepEqual(codes, [200, 200, "concurrency_limit_exceeded"]);
  });
});

describe("data: URLs are stored only for a submit that may go ahead", () => {
  let t: TestServer;
  before(async () => {
    // Local renders priced like the model, so a key without balance cannot submit.
    t = await startTestServer({ workers: false, localRendersBilled: true });
  });
  after(() => t.stop());

  test("a key without balance sending a data: URL is refused and nothing is stored", async () => {
    const key = await t.newAccountKey("broke");
    const image = (await readFile(sample("landscape-600x450.jpg"))).toString("base64");
    const before = await blobCount(t);
    // Not stored and deleted again: never written at all.
    const storage = t.server.services.storage;
    const put = storage.putFile.bind(storage);
    let writes = 0;
    storage.putFile = (...args) => {
      writes++;
      return put(...args);
    };
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      headers: { authorization: `Bearer ${key}` },
      json: {
        ...SUBMIT,
        metadata: {
          content: [
            { type: "image_url", image_url: { url: `data:image/jpeg;base64,${image}` }, role: "first_frame" },
          ],
        },
      },
    });
    assert.equal(res.status, 403);
    assert.equal(((await res.json()) as { error: { type: string } }).error.type, "insufficient_quota");
    storage.putFile = put;
    assert.equal(writes, 0, "no blob was written");
    assert.equal(await filesOf(t, key), 0);
    assert.equal(await blobCount(t), before);
  });

  test("a submit refused after its data: URLs were stored leaves none of them behind", async () => {
    const image = (await readFile(sample("landscape-600x450.jpg"))).toString("base64");
    const before = await blobCount(t);
    // The first image is stored, the second is not an image at all: the submit is refused.
    const res = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "doubao-seedance-2-0-720p",
        prompt: "@image1 and @image2",
        seconds: "5",
        metadata: {
          content: [
            {
              type: "image_url",
              image_url: { url: `data:image/jpeg;base64,${image}` },
              role: "reference_image",
            },
            {
              type: "image_url",
              image_url: { url: `data:image/png;base64,${Buffer.from("not a picture").toString("base64")}` },
              role: "reference_image",
            },
          ],
        },
      },
    });
    assert.ok(res.status >= 400 && res.status < 500, String(res.status));
    assert.equal(await blobCount(t), before);
    assert.equal(await filesOf(t, t.key), 0);
  });
});

describe("a storage quota per account", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ workers: false, storageQuotaBytes: 200_000 });
  });
  after(() => t.stop());

  test("uploads past the quota are refused (403 storage_quota_exceeded); deleting makes room", async () => {
    const key = await t.newAccountKey("hoarder");
    const photo = sample("exif-orientation-6.jpg"); // 136 KB
    const first = await uploadFile(t, photo, { key });
    assert.equal(first.status, 200);
    const second = await uploadFile(t, photo, { key });
    assert.equal(second.status, 403);
    const body = (await second.json()) as { error: { code: string; type: string; param: string } };
    assert.equal(body.error.code, "storage_quota_exceeded");
    assert.equal(body.error.type, "insufficient_quota");
    assert.equal(body.error.param, "file");
    assert.equal(await filesOf(t, key), 1);
    const { id } = (await first.json()) as { id: string };
    await t.api(`/v1/files/${id}`, { method: "DELETE", headers: { authorization: `Bearer ${key}` } });
    assert.equal((await uploadFile(t, photo, { key })).status, 200);
  });
});
