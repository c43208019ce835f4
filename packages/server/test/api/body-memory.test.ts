/**
 * Twenty clients each sending a 100 MB JSON body at once, with a key that has no balance: every
 * one is refused with 413 `body_too_large`, and the server process (a real `vidrelay serve`, its
 * resident memory read from /proc) grows by less than 64 MB while it happens. Half announce their
 * size (refused before a byte is read), half stream it chunked inside a data: URL (read, spooled to
 * disk, refused at the limit).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort, type ServerProcess, spawnServer } from "../helpers/process.ts";
import { ADMIN_KEY } from "../helpers/server.ts";

const MB = 1024 * 1024;

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

let server: ServerProcess;
let base: string;
let dataDir: string;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "vidrelay-body-"));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = await spawnServer({
    VIDRELAY_PORT: String(port),
    VIDRELAY_DATA_DIR: dataDir,
    VIDRELAY_BOOTSTRAP_KEY: ADMIN_KEY,
    VIDRELAY_CONSOLE: "false",
    VIDRELAY_LOG_LEVEL: "warn",
  });
});

after(async () => {
  server?.child.kill("SIGTERM");
  await server?.exited;
  await rm(dataDir, { recursive: true, force: true });
});

test("20 concurrent 100 MB bodies: each 413, the server grows < 64 MB, no spool left", async (t) => {
  const created = await fetch(`${base}/v1/admin/keys`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN_KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ account_name: "broke" }),
  });
  const { key } = (await created.json()) as { key: string };
  // Warm the paths once so first-use allocations are not counted as growth.
  await fetch(`${base}/v1/video/generations`, {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: "{}",
  });
  const pid = server.child.pid!;
  // The process settles after start (render worker threads warming): measure from where it rests.
  let baseline = rssBytes(pid);
  for (let i = 0; i < 50; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const now = rssBytes(pid);
    const settled = Math.abs(now - baseline) < 512 * 1024;
    baseline = now;
    if (settled && i >= 4) break;
  }
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssBytes(pid));
  }, 20);

  const chunk = Buffer.alloc(MB, 0x41);
  const announced = new Blob(Array.from({ length: 100 }, () => chunk));
  const streamed = () => {
    let sent = 0;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0)
          controller.enqueue(
            Buffer.from('{"metadata":{"content":[{"image_url":{"url":"data:image/png;base64,'),
          );
        if (++sent > 100) controller.close();
        else controller.enqueue(chunk);
      },
    });
  };
  const answers = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const res = await fetch(`${base}/v1/video/generations`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: i % 2 === 0 ? announced : streamed(),
        duplex: "half",
      } as RequestInit);
      return { status: res.status, body: (await res.json()) as { error: { code: string } } };
    }),
  );
  clearInterval(sampler);
  peak = Math.max(peak, rssBytes(pid));
  for (const answer of answers) {
    assert.equal(answer.status, 413);
    assert.equal(answer.body.error.code, "body_too_large");
  }
  const grew = peak - baseline;
  t.diagnostic(`server RSS ${(baseline / MB).toFixed(1)} MB at rest, peak +${(grew / MB).toFixed(1)} MB`);
  assert.ok(grew < 64 * MB, `the server grew by ${(grew / MB).toFixed(1)} MB`);
  const left = (await readdir(join(dataDir, "tmp"))).filter((f) => f.startsWith("spool-"));
  assert.deepEqual(left, [], "refused bodies leave no spool files");
});
