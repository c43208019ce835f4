import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import sharp from "sharp";
import { ToolError } from "../../src/media/ffmpeg.ts";
import { renderSpritesheet, SPRITESHEET_DEFAULTS, spritesheetLayout } from "../../src/media/spritesheet.ts";
import { lavfiSource, testPattern } from "./source-video.ts";

let root: string;
/**
 * 64x36, 25 fps, 5 s, whose grey level says the time: luma 16 + 40·t (so RGB ≈ 46.6·t), each frame
 * showing its own time.
 */
let clock: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vidrelay-spritesheet-test-"));
  clock = await lavfiSource(
    join(root, "clock.mp4"),
    "color=c=black:s=64x36:r=25:d=5,format=yuv420p,geq=lum='16+40*T':cb=128:cr=128",
    {
      seconds: 5,
    },
  );
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

async function decode(
  jpeg: Buffer,
): Promise<{ data: Buffer; width: number; height: number; format?: string }> {
  const meta = await sharp(jpeg).metadata();
  const data = await sharp(jpeg).removeAlpha().raw().toBuffer();
  return { data, width: meta.width!, height: meta.height!, format: meta.format };
}

/** Mean red of tile (column, row). */
function tileRed(
  sheet: { data: Buffer; width: number },
  column: number,
  row: number,
  tile: { width: number; height: number },
) {
  let sum = 0;
  let count = 0;
  // The inner part of the tile, away from JPEG bleeding across tile edges.
  for (let y = row * tile.height + 4; y < (row + 1) * tile.height - 4; y++)
    for (let x = column * tile.width + 4; x < (column + 1) * tile.width - 4; x++) {
      sum += sheet.data[(y * sheet.width + x) * 3]!;
      count++;
    }
  return sum / count;
}

test("layout: 5x5 tiles of 256 px by default, the video's shape, times at the middle of each 25th", () => {
  assert.deepEqual(SPRITESHEET_DEFAULTS, { columns: 5, rows: 5, tileWidth: 256, quality: 80 });
  const layout = spritesheetLayout({ width: 1280, height: 720, duration: 5 });
  assert.deepEqual(
    [layout.columns, layout.rows, layout.tileWidth, layout.tileHeight, layout.width, layout.height],
    [5, 5, 256, 144, 1280, 720],
  );
  assert.equal(layout.times.length, 25);
  assert.equal(layout.times[0], 0.1);
  assert.ok(Math.abs(layout.times[24]! - 4.9) < 1e-9);
  assert.equal(spritesheetLayout({ width: 720, height: 1280, duration: 1 }).tileHeight, 456);
  assert.equal(
    spritesheetLayout({ width: 864, height: 496, duration: 1 }, { tileWidth: 160 }).tileHeight,
    92,
  );
  for (const bad of [{ columns: 0 }, { rows: 11 }, { tileWidth: 8 }, { tileWidth: 100.5 }])
    assert.throws(() => spritesheetLayout({ width: 1280, height: 720, duration: 5 }, bad), RangeError);
  assert.throws(
    () =>
      spritesheetLayout({ width: 100, height: 1000, duration: 5 }, { columns: 10, rows: 10, tileWidth: 640 }),
    /larger than/,
  );
});

test("a 4:3 clip gives a JPEG of 5x5 tiles of 256x192 (1280x960)", async () => {
  const pattern = await testPattern(root, "pattern.mp4", { width: 320, height: 240, fps: 24, seconds: 2 });
  const sheet = await decode(await renderSpritesheet(pattern));
  assert.deepEqual([sheet.format, sheet.width, sheet.height], ["jpeg", 1280, 960]);
});

test("tiles are evenly spaced frames in reading order: tile k shows time (k + 0.5) × 5 s / n", async () => {
  const layout = spritesheetLayout(
    { width: 64, height: 36, duration: 5 },
    { columns: 4, rows: 3, tileWidth: 64 },
  );
  const sheet = await decode(await renderSpritesheet(clock, { columns: 4, rows: 3, tileWidth: 64 }));
  assert.deepEqual([sheet.width, sheet.height], [256, 108]);
  const tile = { width: 64, height: 36 };
  for (let k = 0; k < 12; k++) {
    const red = tileRed(sheet, k % 4, Math.floor(k / 4), tile);
    const expected = (40 * layout.times[k]! * 255) / 219;
    // One frame (0.04 s) either way is 1.9 levels.
    assert.ok(
      Math.abs(red - expected) < 4,
      `tile ${k}: red ${red.toFixed(1)}, expected ${expected.toFixed(1)}`,
    );
  }
});

test("a clip with fewer frames than tiles still gives the whole grid; the unfilled tiles are black", async () => {
  const short = await lavfiSource(join(root, "short.mp4"), "color=c=white:s=64x36:r=10:d=0.4", {
    seconds: 0.4,
  });
  const sheet = await decode(await renderSpritesheet(short, { tileWidth: 64 }));
  assert.deepEqual([sheet.width, sheet.height], [320, 180]);
  const tile = { width: 64, height: 36 };
  assert.ok(tileRed(sheet, 0, 0, tile) > 200, "first tile is the white frame");
  assert.ok(tileRed(sheet, 4, 4, tile) < 20, "last tile is empty");
});

test("a file that is no video is refused before ffmpeg reads it", async () => {
  const playlist = join(root, "playlist.mp4");
  await writeFile(playlist, "#EXTM3U\n#EXT-X-TARGETDURATION:1\nhttp://127.0.0.1:1/a.ts\n");
  await assert.rejects(renderSpritesheet(playlist), (error: unknown) => error instanceof ToolError);
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(
    renderSpritesheet(clock, { signal: controller.signal }),
    (error: unknown) => error instanceof ToolError,
  );
});
