import assert from "node:assert/strict";
import { test } from "node:test";
import { setImmediate as nextTurn } from "node:timers/promises";
import { chunks, TurnBatch } from "../../src/store/turn-batch.ts";

test("items added in one turn are flushed together; the next turn starts a new batch", async () => {
  const flushed: number[][] = [];
  const batch = new TurnBatch(async (items: number[]) => {
    flushed.push(items);
  });
  const first = [batch.add(1), batch.add(2), batch.add(3)];
  assert.deepEqual(flushed, [], "nothing is written before the turn ends");
  await Promise.all(first);
  assert.deepEqual(flushed, [[1, 2, 3]]);
  await Promise.all([batch.add(4), nextTurn().then(() => batch.add(5))]);
  assert.deepEqual(flushed, [[1, 2, 3], [4], [5]]);
});

test("a caller hears 'done' only once its flush has finished", async () => {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const batch = new TurnBatch(() => gate);
  let settled = false;
  const pending = batch.add("x").then(() => {
    settled = true;
  });
  for (let i = 0; i < 5; i++) await nextTurn();
  assert.equal(settled, false);
  release();
  await pending;
  assert.equal(settled, true);
});

test("a failed flush rejects every caller in it, and only those", async () => {
  const batch = new TurnBatch(async (items: string[]) => {
    if (items.includes("bad")) throw new Error("disk full");
  });
  const results = await Promise.allSettled([batch.add("a"), batch.add("bad")]);
  assert.deepEqual(
    results.map((r) => r.status),
    ["rejected", "rejected"],
  );
  await batch.add("later"); // the next batch is not poisoned
});

test("items added while a flush is running go to the next flush", async () => {
  const flushed: string[][] = [];
  let batch!: TurnBatch<string>;
  let late: Promise<void> | undefined;
  batch = new TurnBatch(async (items: string[]) => {
    flushed.push(items);
    late ??= batch.add("during");
    await nextTurn();
  });
  await batch.add("first");
  await late;
  assert.deepEqual(flushed, [["first"], ["during"]]);
});

test("chunks slices a list without losing or repeating items", () => {
  assert.deepEqual([...chunks([1, 2, 3, 4, 5], 2)], [[1, 2], [3, 4], [5]]);
  assert.deepEqual([...chunks([], 3)], []);
});
