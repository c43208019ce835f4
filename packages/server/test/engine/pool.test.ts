import assert from "node:assert/strict";
import { test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { RenderPool } from "../../src/engine/pool.ts";
import type { RenderInput, RenderResult } from "../../src/engine/types.ts";
import { makeRequest } from "./helpers.ts";

function input(prompt: string, signal?: AbortSignal): RenderInput {
  return { request: makeRequest({ prompt }), media: [], workDir: "/nonexistent", signal };
}

function fakeResult(name: string): RenderResult {
  return {
    videoPath: name,
    posterPath: name,
    width: 1,
    height: 1,
    duration: 1,
    fps: 24,
    hasAudio: false,
    bytes: 1,
  };
}

test("RenderPool runs at most `concurrency` renders and starts queued ones in order", async () => {
  let running = 0;
  let peak = 0;
  const started: string[] = [];
  const pool = new RenderPool({
    concurrency: 2,
    render: async ({ request }) => {
      started.push(request.prompt);
      running++;
      peak = Math.max(peak, running);
      await sleep(20);
      running--;
      return fakeResult(request.prompt);
    },
  });
  const names = ["a", "b", "c", "d", "e"];
  const pending = names.map((name) => pool.run(input(name)));
  await sleep(5);
  assert.equal(pool.active, 2);
  assert.equal(pool.waiting, 3);
  const results = await Promise.all(pending);
  assert.deepEqual(
    results.map((result) => result.videoPath),
    names,
  );
  assert.deepEqual(started, names);
  assert.equal(peak, 2);
  assert.equal(pool.active, 0);
});

test("RenderPool frees the slot when a render fails, and drops aborted waiters", async () => {
  const pool = new RenderPool({
    concurrency: 1,
    render: async ({ request }) => {
      await sleep(10);
      if (request.prompt === "bad") throw new Error("boom");
      return fakeResult(request.prompt);
    },
  });
  const controller = new AbortController();
  const bad = pool.run(input("bad"));
  const cancelled = pool.run(input("cancelled", controller.signal));
  const good = pool.run(input("good"));
  controller.abort();
  await assert.rejects(cancelled, (error: Error) => error.name === "AbortError");
  await assert.rejects(bad, /boom/);
  assert.equal((await good).videoPath, "good");
  assert.equal(pool.waiting, 0);
  assert.equal(pool.active, 0);
});

test("RenderPool defaults to the number of cores", () => {
  assert.ok(new RenderPool().concurrency >= 1);
});
