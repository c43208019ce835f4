import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { ApiError } from "../../src/domain/errors.ts";
import { mediaLimits } from "../../src/media/limits.ts";
import { intakeUrl } from "../../src/media/remote.ts";
import { parseAllowList } from "../../src/net/address-policy.ts";
import { startServer, type TestServer } from "../net/servers.ts";
import { sample, tempDir } from "./fixtures.ts";

const PARAM = "metadata.content[2].image_url.url";
const LIMITS = mediaLimits();

async function refused(promise: Promise<unknown>, status: number, code: string): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ApiError, `expected ApiError, got ${String(err)}`);
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code, err.message);
    assert.equal(err.param, PARAM);
    assert.ok(err.message.startsWith(PARAM), err.message);
    return err;
  }
  assert.fail(`expected ${status} ${code}`);
}

describe("intakeUrl (referenced media)", () => {
  let server: TestServer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let n = 0;
  const dest = () => join(dir, `ref-${n++}`);
  let options: { allow: ReturnType<typeof parseAllowList>; timeoutMs: number };

  before(async () => {
    const t = await tempDir();
    dir = t.dir;
    cleanup = t.cleanup;
    const jpeg = await readFile(sample("landscape-600x450.jpg"));
    const text = await readFile(sample("README.md"));
    server = await startServer((req, res) => {
      switch (req.url) {
        case "/photo.jpg":
          res.writeHead(200, { "content-type": "image/jpeg", "content-length": String(jpeg.length) });
          res.end(jpeg);
          return;
        case "/redirect":
          res.writeHead(302, { location: "/photo.jpg" });
          res.end();
          return;
        case "/fake.png":
          res.writeHead(200, { "content-type": "image/png" });
          res.end(text);
          return;
        case "/stall.jpg":
          res.writeHead(200, { "content-length": String(jpeg.length) });
          res.write(jpeg.subarray(0, 8192));
          return; // the rest never comes
        case "/huge.jpg":
          res.writeHead(200, { "content-length": String(300 * 1024 * 1024) });
          res.write(jpeg.subarray(0, 1024));
          return;
        default:
          res.writeHead(404);
          res.end("not here");
      }
    });
    options = { allow: parseAllowList(`127.0.0.1:${server.port}`), timeoutMs: 5000 };
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  test("an http URL is downloaded, sniffed and inspected", async () => {
    const result = await intakeUrl(server.url("/redirect"), dest(), LIMITS, PARAM, {
      ...options,
      kinds: ["image"],
    });
    assert.deepEqual(result.info, { kind: "image", mime: "image/jpeg", ext: "jpg", width: 600, height: 450 });
    assert.equal(result.bytes, (await readFile(sample("landscape-600x450.jpg"))).length);
  });

  test("a data: URL goes through the same checks", async () => {
    const gif = await readFile(sample("animated-80x80.gif"));
    const result = await intakeUrl(`data:image/gif;base64,${gif.toString("base64")}`, dest(), LIMITS, PARAM);
    assert.equal(result.info.mime, "image/gif");
    await refused(
      intakeUrl(
        `data:image/png;base64,${Buffer.from("hello, I am text").toString("base64")}`,
        dest(),
        LIMITS,
        PARAM,
      ),
      415,
      "unsupported_media_type",
    );
  });

  test("a private URL without an allow-list entry → 400 url_not_allowed", async () => {
    const path = dest();
    const err = await refused(
      intakeUrl(server.url("/photo.jpg"), path, LIMITS, PARAM),
      400,
      "url_not_allowed",
    );
    assert.match(err.message, /loopback/);
    assert.equal(existsSync(path), false);
  });

  test("a non-http(s) URL → 400 invalid_url", async () => {
    await refused(intakeUrl("file:///etc/passwd", dest(), LIMITS, PARAM, options), 400, "invalid_url");
  });

  test("a 404 → 400 url_fetch_failed", async () => {
    const err = await refused(
      intakeUrl(server.url("/gone.jpg"), dest(), LIMITS, PARAM, options),
      400,
      "url_fetch_failed",
    );
    assert.match(err.message, /404/);
  });

  test("the served Content-Type is ignored: text served as image/png → 415", async () => {
    const path = dest();
    await refused(
      intakeUrl(server.url("/fake.png"), path, LIMITS, PARAM, options),
      415,
      "unsupported_media_type",
    );
    assert.equal(existsSync(path), false);
  });

  test("a Content-Length over the limit → 413 before downloading", async () => {
    const path = dest();
    await refused(
      intakeUrl(server.url("/huge.jpg"), path, LIMITS, PARAM, { ...options, kinds: ["image"] }),
      413,
      "file_too_large",
    );
    assert.equal(existsSync(path), false);
  });

  test("a server that stalls mid-body → 400 url_fetch_timeout, partial file removed", async () => {
    const path = dest();
    await refused(
      intakeUrl(server.url("/stall.jpg"), path, LIMITS, PARAM, { ...options, timeoutMs: 300 }),
      400,
      "url_fetch_timeout",
    );
    assert.equal(existsSync(path), false);
  });

  test("a slow server → 400 url_fetch_timeout", async () => {
    const slow = await startServer(() => {});
    try {
      await refused(
        intakeUrl(slow.url("/"), dest(), LIMITS, PARAM, {
          allow: parseAllowList(`127.0.0.1:${slow.port}`),
          timeoutMs: 200,
        }),
        400,
        "url_fetch_timeout",
      );
    } finally {
      await slow.close();
    }
  });
});
