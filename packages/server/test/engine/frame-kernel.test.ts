import assert from "node:assert/strict";
import { test } from "node:test";
import {
  blendInto,
  frameBytes,
  type Pose,
  poseMapping,
  renderLayer,
  rgbToYuvPlate,
  yuvToRgb,
} from "../../src/engine/frame-kernel.ts";

const STRIDE = 408;
const ROWS = 308;
const PAD = 4;

/** A smooth, non-repeating test pattern (values well inside 0..255 so rounding is the only error). */
function pattern(): Uint8Array {
  const rgb = new Uint8Array(STRIDE * ROWS * 3);
  for (let y = 0; y < ROWS; y++) {
    for (let x = 0; x < STRIDE; x++) {
      const p = (y * STRIDE + x) * 3;
      rgb[p] = Math.round(128 + 90 * Math.sin(y / 7));
      rgb[p + 1] = Math.round(128 + 90 * Math.sin(x / 9) * Math.cos(y / 23));
      rgb[p + 2] = Math.round(128 + 90 * Math.sin((x + y) / 13));
    }
  }
  return rgb;
}

/** Exact floating-point reference of the view: bilinear when rolled or magnifying, else the area average. */
function referenceView(luma: Uint8Array, pose: Pose, map: ReturnType<typeof poseMapping>) {
  const at = (x: number, y: number) => luma[y * STRIDE + x]!;
  const bilinear = (x: number, y: number) => {
    const x0 = Math.floor(x);
    const y0 = Math.floor(y);
    const fx = x - x0;
    const fy = y - y0;
    return (
      (at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx) * (1 - fy) +
      (at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx) * fy
    );
  };
  // Overlap of pixel i ([i - 0.5, i + 0.5)) with the footprint [q - w/2, q + w/2).
  const overlap = (i: number, q: number, w: number) =>
    Math.max(0, Math.min(q + w / 2, i + 0.5) - Math.max(q - w / 2, i - 0.5));
  const area = (qx: number, qy: number, wx: number, wy: number) => {
    let sum = 0;
    for (let y = Math.floor(qy - wy / 2 - 1); y <= Math.ceil(qy + wy / 2 + 1); y++) {
      for (let x = Math.floor(qx - wx / 2 - 1); x <= Math.ceil(qx + wx / 2 + 1); x++) {
        sum += at(x, y) * overlap(x, qx, wx) * overlap(y, qy, wy);
      }
    }
    return sum / (wx * wy);
  };
  return (x: number, y: number) => {
    const [px, py] = map.at(x + 0.5, y + 0.5);
    const shrinking = pose.angle === 0 && map.ux >= 1 && map.vy >= 1;
    return shrinking ? area(px - 0.5, py - 0.5, map.ux, map.vy) : bilinear(px - 0.5, py - 0.5);
  };
}

test("views match an exact floating-point resampler at any zoom, offset and roll", () => {
  const plate = rgbToYuvPlate(pattern(), STRIDE, ROWS, PAD, STRIDE - 2 * PAD, ROWS - 2 * PAD);
  const luma = new Uint8Array(plate.buffer, 0, STRIDE * ROWS);
  const width = 200;
  const height = 150;
  const poses: Pose[] = [
    // Shrinking the plate (area average).
    { cx: 0.5, cy: 0.5, zoom: 1, angle: 0 },
    { cx: 0.5123, cy: 0.4871, zoom: 1.2345, angle: 0 },
    // Magnifying (linear interpolation).
    { cx: 0.4987, cy: 0.5031, zoom: 2.345, angle: 0 },
    // Rolled (bilinear warp).
    { cx: 0.5, cy: 0.5, zoom: 1.3, angle: 0.031 },
    { cx: 0.503, cy: 0.497, zoom: 1.25, angle: -0.035 },
  ];
  for (const pose of poses) {
    const out = new Uint8Array(frameBytes(width, height));
    renderLayer({ plate, pose }, width, height, out);
    const expected = referenceView(luma, pose, poseMapping(plate, pose, width, height));
    let worst = 0;
    for (let y = 0; y < height; y += 7) {
      for (let x = 0; x < width; x += 5)
        worst = Math.max(worst, Math.abs(out[y * width + x]! - expected(x, y)));
    }
    assert.ok(worst <= 1.01, `pose ${JSON.stringify(pose)}: worst error ${worst}`);
  }
});

test("moving the camera by a fraction of a pixel moves the picture by that fraction", () => {
  const plate = rgbToYuvPlate(pattern(), STRIDE, ROWS, PAD, STRIDE - 2 * PAD, ROWS - 2 * PAD);
  const width = 200;
  const height = 150;
  const render = (cx: number) => {
    const out = new Uint8Array(frameBytes(width, height));
    renderLayer({ plate, pose: { cx, cy: 0.5, zoom: 1.5, angle: 0 } }, width, height, out);
    return out.subarray(0, width * height);
  };
  // One output pixel is 400 / (200 * 1.5) plate pixels, i.e. this fraction of the picture's width:
  const pixel = 1 / (200 * 1.5);
  const base = render(0.5);
  const quarter = render(0.5 + pixel / 4);
  const whole = render(0.5 + pixel);
  let toBase = 0;
  let interpolated = 0;
  let wholeError = 0;
  for (let y = 10; y < height - 10; y++) {
    for (let x = 10; x < width - 10; x++) {
      const i = y * width + x;
      toBase += Math.abs(quarter[i]! - base[i]!);
      // Linear in the offset: a quarter-pixel move is 3/4 of this pixel plus 1/4 of the next.
      interpolated += Math.abs(quarter[i]! - (0.75 * base[i]! + 0.25 * base[i + 1]!));
      wholeError += Math.abs(whole[i]! - base[i + 1]!);
    }
  }
  const pixels = (width - 20) * (height - 20);
  // Whole-pixel stepping would leave the frame unchanged (toBase ~ 0).
  assert.ok(toBase / pixels > 0.6, `sub-pixel move is visible: ${toBase / pixels}`);
  assert.ok(interpolated / pixels < 0.45, `and linear in the offset: ${interpolated / pixels}`);
  assert.ok(
    wholeError / pixels < 0.1,
    `a whole-pixel move shifts by exactly one pixel: ${wholeError / pixels}`,
  );
});

test("views outside the picture are refused instead of sampling garbage", () => {
  const plate = rgbToYuvPlate(pattern(), STRIDE, ROWS, PAD, STRIDE - 2 * PAD, ROWS - 2 * PAD);
  const out = new Uint8Array(frameBytes(100, 76));
  assert.throws(
    () => renderLayer({ plate, pose: { cx: 0.2, cy: 0.5, zoom: 1, angle: 0 } }, 100, 76, out),
    /outside/,
  );
});

test("RGB -> YUV plate -> RGB round-trips colours", () => {
  const rgb = new Uint8Array(8 * 8 * 3);
  const colours = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [128, 128, 128],
    [250, 240, 10],
    [20, 40, 60],
  ];
  for (let block = 0; block < 16; block++) {
    const colour = colours[block % colours.length]!;
    const bx = (block % 4) * 2;
    const by = Math.floor(block / 4) * 2;
    for (const [dx, dy] of [
      [0, 0],
      [1, 0],
      [0, 1],
      [1, 1],
    ] as const) {
      rgb.set(colour, ((by + dy) * 8 + bx + dx) * 3);
    }
  }
  const plate = rgbToYuvPlate(rgb, 8, 8, 0, 8, 8);
  const back = yuvToRgb(new Uint8Array(plate.buffer), 8, 8);
  for (let i = 0; i < rgb.length; i++)
    assert.ok(Math.abs(back[i]! - rgb[i]!) <= 3, `byte ${i}: ${back[i]} vs ${rgb[i]}`);
});

test("blendInto cross-dissolves byte-wise", () => {
  const a = new Uint8Array(1003).fill(200);
  const b = new Uint8Array(1003).fill(40);
  const out = new Uint8Array(1003);
  for (const [weight, expected] of [
    [0, 200],
    [0.25, 160],
    [0.5, 120],
    [1, 40],
  ] as const) {
    blendInto(a, b, weight, out);
    assert.ok(
      out.every((value) => Math.abs(value - expected) <= 1),
      `weight ${weight}`,
    );
  }
});
