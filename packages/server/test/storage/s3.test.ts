import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { DiskStorage } from "../../src/storage/disk.ts";
import { openStorage } from "../../src/storage/open-storage.ts";
import { PART_SIZE, S3Storage } from "../../src/storage/s3.ts";
import { parseStorageUrl } from "../../src/storage/storage-url.ts";
import { SERVER_ROOT } from "../helpers/paths.ts";
import { BUCKET, startTestBucket, type TestBucket } from "./s3rver.ts";

const run = promisify(execFile);

async function bytesOf(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe("S3Storage against a real S3 API (s3rver)", () => {
  let bucket: TestBucket;
  let work: string;
  let storage: S3Storage;
  const source = async (name: string, bytes: Buffer) => {
    const path = join(work, name);
    await writeFile(path, bytes);
    return path;
  };
  before(async () => {
    bucket = await startTestBucket();
    work = await mkdtemp(join(tmpdir(), "vidrelay-s3-unit-"));
    storage = (await openStorage({ storageUrl: bucket.storageUrl("unit"), dataDir: work })) as S3Storage;
  });
  after(async () => {
    await bucket.stop();
    await rm(work, { recursive: true, force: true });
  });

  test("openStorage gives an S3Storage for s3:// with the prefix, and localPath is null", () => {
    assert.ok(storage instanceof S3Storage);
    assert.equal(storage.bucket, BUCKET);
    assert.equal(storage.prefix, "unit/");
    assert.equal(storage.localPath("files/ab/file_x.jpg"), null);
  });

  test("putFile stores the bytes under prefix/key with the content type, and consumes the source", async () => {
    const bytes = randomBytes(100_000);
    const path = await source("small.bin", bytes);
    assert.deepEqual(await storage.putFile("files/ab/file_1.jpg", path, "image/jpeg"), { bytes: 100_000 });
    await assert.rejects(stat(path), { code: "ENOENT" }, "the source file is removed");
    assert.deepEqual(await bucket.keys("unit/"), ["unit/files/ab/file_1.jpg"]);
    const head = await bucket.client.send(
      new HeadObjectCommand({ Bucket: BUCKET, Key: "unit/files/ab/file_1.jpg" }),
    );
    assert.equal(head.ContentType, "image/jpeg");

    assert.equal(await storage.size("files/ab/file_1.jpg"), 100_000);
    assert.deepEqual(await bytesOf(await storage.read("files/ab/file_1.jpg")), bytes);
    const ranged = await bytesOf(await storage.read("files/ab/file_1.jpg", { start: 10, end: 19 }));
    assert.deepEqual(ranged, bytes.subarray(10, 20), "the range is inclusive at both ends");
    const tail = await bytesOf(await storage.read("files/ab/file_1.jpg", { start: 99_990, end: 99_999 }));
    assert.deepEqual(tail, bytes.subarray(99_990));

    await storage.delete("files/ab/file_1.jpg");
    assert.equal(await storage.size("files/ab/file_1.jpg"), null);
    assert.deepEqual(await bucket.keys("unit/"), []);
  });

  test("a missing key: size is null, read rejects like a missing file (ENOENT), delete is a no-op", async () => {
    assert.equal(await storage.size("videos/task_missing.mp4"), null);
    await assert.rejects(storage.read("videos/task_missing.mp4"), (error: NodeJS.ErrnoException) => {
      assert.equal(error.code, "ENOENT");
      assert.match(error.message, /s3:\/\/vidrelay\/unit\/videos\/task_missing\.mp4/);
      return true;
    });
    await assert.rejects(storage.read("videos/task_missing.mp4", { start: 0, end: 9 }), { code: "ENOENT" });
    await storage.delete("videos/task_missing.mp4");
  });

  test("an empty file round-trips", async () => {
    const path = await source("empty.bin", Buffer.alloc(0));
    assert.deepEqual(await storage.putFile("files/00/empty.txt", path, "text/plain"), { bytes: 0 });
    assert.equal(await storage.size("files/00/empty.txt"), 0);
    assert.equal((await bytesOf(await storage.read("files/00/empty.txt"))).length, 0);
    await storage.delete("files/00/empty.txt");
  });

  test("a file larger than one part goes up as a multipart upload and comes back identical", async () => {
    const bytes = randomBytes(PART_SIZE * 2 + 12_345);
    const path = await source("big.bin", bytes);
    assert.deepEqual(await storage.putFile("videos/task_big.mp4", path, "video/mp4"), {
      bytes: bytes.length,
    });
    assert.equal(await storage.size("videos/task_big.mp4"), bytes.length);
    const back = await bytesOf(await storage.read("videos/task_big.mp4"));
    assert.equal(
      createHash("sha256").update(back).digest("hex"),
      createHash("sha256").update(bytes).digest("hex"),
    );
    const across = await bytesOf(
      await storage.read("videos/task_big.mp4", { start: PART_SIZE - 5, end: PART_SIZE + 4 }),
    );
    assert.deepEqual(
      across,
      bytes.subarray(PART_SIZE - 5, PART_SIZE + 5),
      "a range across the part boundary",
    );
    await storage.delete("videos/task_big.mp4");
  });

  test("prefixes keep deployments apart; no prefix writes at the bucket root", async () => {
    const other = (await openStorage({
      storageUrl: bucket.storageUrl("tenant-b/media"),
      dataDir: work,
    })) as S3Storage;
    const root = (await openStorage({ storageUrl: bucket.storageUrl(), dataDir: work })) as S3Storage;
    await other.putFile("files/aa/f.png", await source("b.png", Buffer.from("b")), "image/png");
    await root.putFile("files/aa/f.png", await source("r.png", Buffer.from("root")), "image/png");
    assert.equal(await storage.size("files/aa/f.png"), null, "not visible under another prefix");
    assert.equal(await other.size("files/aa/f.png"), 1);
    assert.deepEqual(await bytesOf(await root.read("files/aa/f.png")), Buffer.from("root"));
    assert.deepEqual(await bucket.keys(), ["files/aa/f.png", "tenant-b/media/files/aa/f.png"]);
    await other.delete("files/aa/f.png");
    await root.delete("files/aa/f.png");
    assert.deepEqual(await bucket.keys(), []);
  });

  test("keys that could escape or alias are refused, as the disk backend refuses traversal", () => {
    for (const key of ["", "/abs", "a/../b", "a//b", "./a"]) {
      assert.throws(() => storage.objectKey(key), /invalid storage key/, key);
    }
  });

  test("storing 200 MB stays within ~64 MB of extra RSS (bounded parts, streamed from disk)", async (t) => {
    const path = join(work, "200mb.bin");
    const chunk = randomBytes(1024 * 1024);
    await writeFile(path, Buffer.concat(Array.from({ length: 200 }, () => chunk)));
    const child = fileURLToPath(new URL("./put-rss.ts", import.meta.url));
    const { stdout } = await run(
      process.execPath,
      ["--expose-gc", "--import", "tsx", child, bucket.storageUrl("rss"), path],
      {
        cwd: SERVER_ROOT,
        env: process.env,
      },
    );
    const report = JSON.parse(stdout.trim().split("\n").pop()!) as { bytes: number; growthMb: number };
    assert.equal(report.bytes, 200 * 1024 * 1024);
    // ≤ 5 parts of 5 MiB live plus socket and stream buffers; the child collects garbage before
    // each sample, so dead part buffers do not count. Buffering the whole file would be 200+.
    t.diagnostic(`RSS growth while storing 200 MB: ${report.growthMb} MB`);
    assert.ok(report.growthMb < 80, `RSS grew by ${report.growthMb} MB while storing 200 MB`);
    const stored = await bucket.keys("rss/");
    assert.deepEqual(stored, ["rss/videos/task_rss.mp4"]);
    await bucket.empty();
  });
});

describe("VIDRELAY_STORAGE_URL", () => {
  test("s3:// forms parse into bucket, prefix, endpoint, region and path style", () => {
    assert.deepEqual(parseStorageUrl("s3://media-bucket"), {
      kind: "s3",
      bucket: "media-bucket",
      prefix: "",
      forcePathStyle: false,
    });
    assert.deepEqual(
      parseStorageUrl(
        "s3://vidrelay/prod/media/?endpoint=http://127.0.0.1:9000&region=eu-west-1&force_path_style=true",
      ),
      {
        kind: "s3",
        bucket: "vidrelay",
        prefix: "prod/media/",
        endpoint: "http://127.0.0.1:9000",
        region: "eu-west-1",
        forcePathStyle: true,
      },
    );
    assert.equal(
      (
        parseStorageUrl("s3://b12?endpoint=https%3A%2F%2Facc.r2.cloudflarestorage.com&region=auto") as {
          endpoint: string;
        }
      ).endpoint,
      "https://acc.r2.cloudflarestorage.com",
    );
    assert.deepEqual(parseStorageUrl("file:///var/lib/vidrelay/blobs"), {
      kind: "disk",
      root: "/var/lib/vidrelay/blobs",
    });
  });

  test("a bad URL says what is wrong", () => {
    const cases: Array<[string, RegExp]> = [
      ["bucket-only", /not a URL/],
      ["https://bucket.s3.amazonaws.com", /unsupported scheme "https:"/],
      ["gs://bucket", /unsupported scheme "gs:"/],
      ["s3:///prefix", /no bucket name/],
      ["s3://Bad_Bucket", /not a valid bucket name/],
      ["s3://ab", /not a valid bucket name/],
      ["s3://key:secret@bucket", /credentials do not belong in the URL/],
      ["s3://bucket:9000", /no port/],
      ["s3://bucket/a//b", /empty, "\." or "\.\." segment/],
      ["s3://bucket/a/../b", /segment/],
      ["s3://bucket?endpoint=minio:9000", /endpoint "minio:9000" must be an http\(s\) URL/],
      ["s3://bucket?endpoint=ftp://host", /must be an http\(s\) URL/],
      [
        "s3://bucket?forcePathStyle=true",
        /unknown parameter "forcePathStyle"; known: endpoint, region, force_path_style/,
      ],
      ["s3://bucket?force_path_style=yes", /force_path_style must be true or false, got "yes"/],
      ["s3://bucket?region=us-east-1&region=eu-west-1", /"region" is given more than once/],
      ["s3://bucket?region=us east", /not a region name/],
      ["s3://bucket#x", /no #fragment/],
      ["file:relative/dir", /file:\/\/\/absolute\/path/],
      ["file://otherhost/dir", /file: URL/],
      ["file:///", /must name a directory/],
    ];
    for (const [url, message] of cases) assert.throws(() => parseStorageUrl(url), message, url);
  });

  test("config rejects a bad value at load, naming the variable and the flag", () => {
    assert.equal(loadConfig({}, {}).storageUrl, undefined, "unset by default");
    assert.equal(loadConfig({}, { VIDRELAY_STORAGE_URL: "s3://b12" }).storageUrl, "s3://b12");
    assert.throws(
      () => loadConfig({}, { VIDRELAY_STORAGE_URL: "s3://bucket?force_path_style=1" }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(
          error.message,
          /VIDRELAY_STORAGE_URL \(--storage-url\) = "s3:\/\/bucket\?force_path_style=1": force_path_style must be true or false/,
        );
        return true;
      },
    );
  });

  test("openStorage: unset → <data dir>/blobs, file:/// → that directory, bad → an error naming the variable", async () => {
    const disk = await openStorage({ dataDir: "/srv/vidrelay" });
    assert.ok(disk instanceof DiskStorage);
    assert.equal(disk.localPath("files/ab/x.jpg"), "/srv/vidrelay/blobs/files/ab/x.jpg");
    const there = await openStorage({ storageUrl: "file:///mnt/media", dataDir: "/srv/vidrelay" });
    assert.equal(there.localPath("files/ab/x.jpg"), "/mnt/media/files/ab/x.jpg");
    await assert.rejects(
      openStorage({ storageUrl: "s3://x", dataDir: "/d" }),
      /^Error: VIDRELAY_STORAGE_URL \(--storage-url\) = "s3:\/\/x": "x" is not a valid bucket name/,
    );
  });

  test("AWS S3 without any region fails at startup, not on the first upload", async () => {
    const saved = { ...process.env };
    try {
      delete process.env.AWS_REGION;
      delete process.env.AWS_DEFAULT_REGION;
      delete process.env.AWS_PROFILE;
      process.env.AWS_CONFIG_FILE = join(tmpdir(), "vidrelay-no-such-aws-config");
      process.env.AWS_SHARED_CREDENTIALS_FILE = join(tmpdir(), "vidrelay-no-such-aws-credentials");
      await assert.rejects(
        openStorage({ storageUrl: "s3://media-bucket", dataDir: "/d" }),
        /VIDRELAY_STORAGE_URL \(--storage-url\) = "s3:\/\/media-bucket": no region for AWS S3: add \?region=… to the URL or set AWS_REGION/,
      );
      const withRegion = await openStorage({
        storageUrl: "s3://media-bucket?region=eu-central-1",
        dataDir: "/d",
      });
      assert.equal(await (withRegion as S3Storage).client.config.region(), "eu-central-1");
      process.env.AWS_REGION = "ap-south-1";
      const fromEnv = await openStorage({ storageUrl: "s3://media-bucket", dataDir: "/d" });
      assert.equal(await (fromEnv as S3Storage).client.config.region(), "ap-south-1", "the SDK's chain");
      delete process.env.AWS_REGION;
      const compatible = await openStorage({
        storageUrl: "s3://media-bucket?endpoint=http://127.0.0.1:1",
        dataDir: "/d",
      });
      assert.equal(
        await (compatible as S3Storage).client.config.region(),
        "us-east-1",
        "endpoint without region",
      );
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });
});
