import assert from "node:assert/strict";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { gunzipSync } from "node:zlib";
import { startTestServer, type TestServer } from "../helpers/server.ts";

/** A stand-in build of the console: the route serves whatever folder it is given. */
async function fakeBuild(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "vidrelay-console-"));
  await mkdir(join(dir, "assets"));
  await writeFile(
    join(dir, "index.html"),
    '<!doctype html><script type="module" src="/console/assets/app-1.js"></script>',
  );
  await writeFile(join(dir, "assets", "app-1.js"), `console.log(${JSON.stringify("x".repeat(4000))});`);
  return dir;
}

describe("/console", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ consoleDir: await fakeBuild() });
  });
  after(() => t?.stop());

  test("/console redirects to /console/, which is the app's index.html with a strict CSP", async () => {
    const redirect = await fetch(`${t.url}/console`, { redirect: "manual" });
    assert.equal(redirect.status, 302);
    assert.equal(redirect.headers.get("location"), "/console/");
    const res = await fetch(`${t.url}/console/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/html/);
    assert.equal(res.headers.get("cache-control"), "no-cache");
    const csp = res.headers.get("content-security-policy")!;
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    assert.match(await res.text(), /app-1\.js/);
  });

  test("any page path of the app answers index.html (the browser routes it)", async () => {
    for (const path of ["/console/tasks", "/console/tasks/task_abc", "/console/keys"]) {
      const res = await fetch(`${t.url}${path}`);
      assert.equal(res.status, 200, path);
      assert.match(await res.text(), /app-1\.js/);
    }
  });

  test("hashed assets are cached for a year, gzipped when asked, and 304 on a matching ETag", async () => {
    const res = await fetch(`${t.url}/console/assets/app-1.js`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type")!, /^text\/javascript/);
    assert.equal(res.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    const text = await res.text(); // fetch undoes the gzip
    assert.match(text, /^console\.log/);
    const raw = await new Promise<{ encoding?: string; length: number; body: Buffer }>((resolve, reject) => {
      import("node:http").then(({ get }) =>
        get(`${t.url}/console/assets/app-1.js`, { headers: { "accept-encoding": "gzip" } }, (r) => {
          const chunks: Buffer[] = [];
          r.on("data", (c: Buffer) => chunks.push(c));
          r.on("end", () => {
            const body = Buffer.concat(chunks);
            resolve({ encoding: r.headers["content-encoding"], length: body.length, body });
          });
        }).on("error", reject),
      );
    });
    assert.equal(raw.encoding, "gzip");
    assert.ok(raw.length < 200, `gzip body is ${raw.length} bytes`);
    assert.equal(gunzipSync(raw.body).toString(), text);
    const again = await fetch(`${t.url}/console/assets/app-1.js`, {
      headers: { "if-none-match": res.headers.get("etag")! },
    });
    assert.equal(again.status, 304);
  });

  test("a missing asset is a 404, never index.html; paths cannot leave the build", async () => {
    for (const path of [
      "/console/assets/app-0.js",
      "/console/favicon.png",
      "/console/..%2f..%2fpackage.json",
    ]) {
      const res = await fetch(`${t.url}${path}`);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(await res.text(), /<script/);
    }
  });

  test("GET /v1/me names the calling key and account, for any key; never the secret", async () => {
    const me = (await (await t.api("/v1/me")).json()) as {
      object: string;
      key: Record<string, unknown>;
      account: { admin: boolean; id: string };
    };
    assert.equal(me.object, "whoami");
    assert.equal(me.account.admin, true);
    assert.equal(me.key.key, undefined);
    assert.equal(me.key.account_id, me.account.id);
    const other = await t.newAccountKey("dev", true);
    const res = await t.api("/v1/me", { headers: { authorization: `Bearer ${other}` } });
    const body = (await res.json()) as {
      account: { admin: boolean; name: string };
      key: { test_mode: boolean };
    };
    assert.equal(body.account.admin, false);
    assert.equal(body.account.name, "dev");
    assert.equal(body.key.test_mode, true);
    const anonymous = await fetch(`${t.url}/v1/me`);
    assert.equal(anonymous.status, 401);
  });
});

describe("/console without a build", () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ consoleDir: join(tmpdir(), "vidrelay-no-console-here") });
  });
  after(() => t?.stop());

  test("answers 503 with how to build it; the API is unaffected", async () => {
    const res = await fetch(`${t.url}/console/`);
    assert.equal(res.status, 503);
    assert.match(await res.text(), /npm run build -w @vidrelay\/console/);
    assert.equal((await t.api("/v1/models")).status, 200);
  });

  test("VIDRELAY_CONSOLE=false serves no console at all", async () => {
    const off = await startTestServer({ console: false });
    try {
      assert.equal((await fetch(`${off.url}/console/`)).status, 404);
    } finally {
      await off.stop();
    }
  });
});
