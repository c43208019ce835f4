import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { sample } from "../helpers/paths.ts";
import { startTestServer, type TestServer, uploadFile } from "../helpers/server.ts";

async function listBlobs(dataDir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    let entries: import("node:fs").Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else out.push(path);
    }
  };
  await walk(join(dataDir, "blobs"));
  await walk(join(dataDir, "tmp"));
  return out;
}

describe("files API", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.stop());

  const good: Array<[string, string, number, number]> = [
    ["landscape-600x450.jpg", "image/jpeg", 600, 450],
    ["exif-orientation-6.jpg", "image/jpeg", 0, 0], // dimensions checked below: portrait after rotation
    ["photo-1024x772.webp", "image/webp", 1024, 772],
    ["alpha-2048x1536.png", "image/png", 2048, 1536],
    ["cmyk-500x333.jpg", "image/jpeg", 500, 333],
    ["grey-400x267.jpg", "image/jpeg", 400, 267],
    ["wide-4096x800.avif", "image/avif", 4096, 800],
    ["animated-80x80.gif", "image/gif", 80, 80],
  ];
  for (const [name, type, width, height] of good) {
    test(`accepts ${name} as ${type}, sniffed from the bytes`, async () => {
      // A misleading declared type and extension must not matter.
      const res = await uploadFile(t, sample(name), { filename: "upload.bin", contentType: "text/plain" });
      assert.equal(res.status, 200, await res.clone().text());
      const file = (await res.json()) as Record<string, number | string>;
      assert.equal(file.content_type, type);
      assert.equal(file.kind, "image");
      if (width) {
        assert.equal(file.width, width);
        assert.equal(file.height, height);
      } else {
        assert.ok(Number(file.height) > Number(file.width), "EXIF orientation 6 reports portrait dimensions");
      }
      const original = await readFile(sample(name));
      assert.equal(file.bytes, original.length);
      const served = await fetch(String(file.url));
      assert.equal(served.status, 200);
      assert.equal(served.headers.get("content-type"), type);
      assert.deepEqual(Buffer.from(await served.arrayBuffer()), original);
    });
  }

  for (const [name, status] of [
    ["bad/corrupt-header.jpg", 400],
    ["bad/pixel-bomb-65536x65536.png", 413],
    ["bad/giant-20000x14000.jpg", 413],
  ] as const) {
    test(`refuses ${name} with ${status} and keeps nothing`, async () => {
      const before = await (await t.api("/v1/files?limit=100")).json();
      const blobsBefore = await listBlobs(t.dataDir);
      const res = await uploadFile(t, sample(name));
      assert.equal(res.status, status);
      const { error } = (await res.json()) as { error: Record<string, unknown> };
      assert.equal(error.type, "invalid_request_error");
      assert.equal(error.param, "file");
      assert.ok(String(error.message).length > 20, "a message a person can act on");
      assert.deepEqual(await (await t.api("/v1/files?limit=100")).json(), before, "nothing in the store");
      assert.deepEqual(await listBlobs(t.dataDir), blobsBefore, "nothing on disk");
      // The server is unharmed.
      assert.equal((await fetch(`${t.url}/healthz`)).status, 200);
    });
  }

  test("refuses a text file named .jpg with 415, and a multipart without 'file' with 400", async () => {
    const form = new FormData();
    form.append("file", new Blob(["hello, this is not an image at all".repeat(20)]), "photo.jpg");
    const res = await t.api("/v1/files", { method: "POST", body: form });
    assert.equal(res.status, 415);
    assert.equal(((await res.json()) as { error: { param: string } }).error.param, "file");

    const noFile = new FormData();
    noFile.append("purpose", "x");
    const res2 = await t.api("/v1/files", { method: "POST", body: noFile });
    assert.equal(res2.status, 400);
    assert.equal(((await res2.json()) as { error: { param: string } }).error.param, "file");

    const json = await t.api("/v1/files", { method: "POST", json: { file: "x" } });
    assert.equal(json.status, 400);
  });

  test("get, list with cursor, Range on the capability URL, delete", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await uploadFile(t, sample("landscape-600x450.jpg"));
      ids.push(((await res.json()) as { id: string }).id);
    }
    const page1 = (await (await t.api("/v1/files?limit=2")).json()) as {
      data: Array<{ id: string }>;
      has_more: boolean;
      next_cursor: string;
    };
    assert.deepEqual(
      page1.data.map((f) => f.id),
      [ids[2], ids[1]],
    );
    assert.equal(page1.has_more, true);
    const page2 = (await (await t.api(`/v1/files?limit=2&after=${page1.next_cursor}`)).json()) as {
      data: Array<{ id: string }>;
    };
    assert.equal(page2.data[0]!.id, ids[0]);
    const badCursor = await t.api("/v1/files?after=zzz");
    assert.equal(badCursor.status, 400);

    const file = (await (await t.api(`/v1/files/${ids[0]}`)).json()) as { url: string; bytes: number };
    const head = await fetch(file.url, { method: "HEAD" });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get("accept-ranges"), "bytes");
    assert.equal(Number(head.headers.get("content-length")), file.bytes);
    const part = await fetch(file.url, { headers: { range: "bytes=2-5" } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get("content-range"), `bytes 2-5/${file.bytes}`);
    assert.equal((await part.arrayBuffer()).byteLength, 4);

    const del = await t.api(`/v1/files/${ids[0]}`, { method: "DELETE" });
    assert.deepEqual(await del.json(), { id: ids[0], object: "file", deleted: true });
    assert.equal((await t.api(`/v1/files/${ids[0]}`)).status, 404);
    assert.equal((await fetch(file.url)).status, 404, "the capability URL dies with the file");
    assert.equal((await fetch(`${t.url}/files/${"x".repeat(32)}.jpg`)).status, 404);
  });
});

describe("file expiry", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ fileTtlSeconds: 1 });
  });
  after(() => t.stop());

  test("expired files stop being served, cannot be cited, and the sweep removes them", async () => {
    const res = await uploadFile(t, sample("landscape-600x450.jpg"));
    const file = (await res.json()) as { id: string; url: string; expires_at: number; created_at: number };
    assert.equal(file.expires_at - file.created_at, 1);
    await new Promise((r) => setTimeout(r, 1200));
    assert.equal((await fetch(file.url)).status, 404);
    assert.equal((await t.api(`/v1/files/${file.id}`)).status, 404);
    const submit = await t.api("/v1/video/generations", {
      method: "POST",
      json: {
        model: "seedance-1-5-pro-with-audio",
        prompt: "@image1",
        metadata: { content: [{ type: "image_url", image_url: { url: file.url } }] },
      },
    });
    assert.equal(submit.status, 400);
    const error = ((await submit.json()) as { error: Record<string, unknown> }).error;
    assert.equal(error.param, "metadata.content[0].image_url.url");
    const removed = await t.server.services.files.sweepExpired();
    assert.equal(removed, 1);
    assert.deepEqual(await listBlobs(t.dataDir), []);
  });
});
