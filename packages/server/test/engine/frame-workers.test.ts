import assert from "node:assert/strict";
import { test } from "node:test";
import { frameBytes } from "../../src/engine/frame-kernel.ts";
import { FrameWorkerPool } from "../../src/engine/frame-workers.ts";

test("frames are computed on worker threads while the event loop stays free", async () => {
  const pool = new FrameWorkerPool(2);
  try {
    const width = 1920;
    const height = 1080;
    const stride = 2112;
    const rows = 1188;
    const rgb = new SharedArrayBuffer(stride * rows * 3);
    new Uint8Array(rgb).fill(90);
    const plateResult = await pool.run({
      op: "plate",
      rgb,
      stride,
      rows,
      pad: 8,
      width: stride - 16,
      height: rows - 16,
    });
    assert.ok("plate" in plateResult);
    assert.equal(pool.threads, 1, "the first request started one worker");
    assert.equal(pool.inProcess, false);
    const started = performance.now();
    let ticks = 0;
    const ticker = setInterval(() => ticks++, 5);
    const frames = await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        pool.run({
          op: "frame",
          layers: [{ plate: plateResult.plate, pose: { cx: 0.5, cy: 0.5, zoom: 1 + i / 100, angle: 0 } }],
          weight: 0,
          width,
          height,
        }),
      ),
    );
    clearInterval(ticker);
    const elapsed = performance.now() - started;
    assert.equal(pool.threads, 2);
    for (const result of frames) {
      assert.ok("frame" in result);
      assert.equal(result.frame.length, frameBytes(width, height));
      // A flat grey plate stays exactly flat through the resampler.
      assert.ok(result.frame.subarray(0, width * height).every((value) => value === result.frame[0]));
    }
    // 24 1080p frames take a while; the timer kept firing throughout instead of waiting for them.
    assert.ok(ticks > elapsed / 5 / 4, `event loop ticked ${ticks} times in ${elapsed.toFixed(0)} ms`);
  } finally {
    await pool.close();
  }
});
