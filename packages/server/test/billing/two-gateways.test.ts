import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { freePort, spawnServer } from "../helpers/process.ts";

const ADMIN = `sk-two${"T".repeat(40)}`;

test("limits hold across two gateway processes sharing one store", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "vidrelay-two-"));
  const [portA, portB] = [await freePort(), await freePort()];
  const env = { VIDRELAY_DATA_DIR: dataDir, VIDRELAY_BOOTSTRAP_KEY: ADMIN, VIDRELAY_LOG_LEVEL: "warn" };
  const a = await spawnServer({ ...env, VIDRELAY_PORT: String(portA) });
  const b = await spawnServer({ ...env, VIDRELAY_PORT: String(portB), VIDRELAY_WORKERS: "false" });
  try {
    const admin = { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" };
    const created = (await (
      await fetch(`http://127.0.0.1:${portA}/v1/admin/keys`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ account_name: "shared" }),
      })
    ).json()) as { key: string; id: string };
    const limited = await fetch(`http://127.0.0.1:${portB}/v1/admin/keys/${created.id}/limits`, {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({ requests_per_minute: 6, max_concurrent: 2 }),
    });
    assert.equal(limited.status, 200, await limited.clone().text());
    const user = { authorization: `Bearer ${created.key}`, "content-type": "application/json" };

    // Requests per minute: 6 in all, whichever process answers.
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      for (const port of [portA, portB]) {
        statuses.push((await fetch(`http://127.0.0.1:${port}/v1/models`, { headers: user })).status);
      }
    }
    assert.equal(statuses.filter((s) => s === 200).length, 6, JSON.stringify(statuses));
    assert.equal(statuses.filter((s) => s === 429).length, 4);

    // Concurrency: at most 2 tasks in flight for this key across both processes.
    await fetch(`http://127.0.0.1:${portA}/v1/admin/keys/${created.id}/limits`, {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({ requests_per_minute: null }),
    });
    await new Promise((r) => setTimeout(r, 5500)); // each process caches limits for up to 5 s
    const body = JSON.stringify({
      model: "doubao-seedance-2-0-1080p",
      prompt: "a long render keeps its slot",
      seconds: "15",
    });
    const submits = await Promise.all(
      [portA, portB, portA, portB].map((port) =>
        fetch(`http://127.0.0.1:${port}/v1/video/generations`, { method: "POST", headers: user, body }).then(
          (r) => r.status,
        ),
      ),
    );
    assert.equal(submits.filter((s) => s === 200).length, 2, JSON.stringify(submits));
    assert.equal(submits.filter((s) => s === 429).length, 2);
  } finally {
    a.child.kill("SIGKILL");
    b.child.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  }
});
