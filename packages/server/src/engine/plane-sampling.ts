/**
 * Sampling one plane of a plate at sub-pixel positions: a bilinear warp (rolled views) and a
 * separable area/linear resample (zooms and pans), both fixed point. frame-kernel.ts decides which
 * a view needs and runs it on each plane.
 */

/**
 * Bilinear warp of one plane: destination pixel (X, Y) samples the source at
 * (ox + X*ux + Y*vx, oy + X*uy + Y*vy). 16.16 fixed point, weights of 1/256 pixel. The caller
 * guarantees every sample (and its +1 neighbours) lies inside the source.
 */
export function warpPlane(
  src: Uint8Array,
  srcStride: number,
  dst: Uint8Array,
  dstWidth: number,
  dstHeight: number,
  ox: number,
  oy: number,
  ux: number,
  uy: number,
  vx: number,
  vy: number,
): void {
  const stepX = Math.round(ux * 65536);
  const stepY = Math.round(uy * 65536);
  let o = 0;
  for (let row = 0; row < dstHeight; row++) {
    let fx = Math.round((ox + row * vx) * 65536);
    let fy = Math.round((oy + row * vy) * 65536);
    for (let col = 0; col < dstWidth; col++) {
      const i = (fy >> 16) * srcStride + (fx >> 16);
      const wx = (fx >> 8) & 255;
      const wy = (fy >> 8) & 255;
      const a = src[i]!;
      const b = src[i + 1]!;
      const c = src[i + srcStride]!;
      const d = src[i + srcStride + 1]!;
      const top = (a << 8) + (b - a) * wx;
      const bottom = (c << 8) + (d - c) * wx;
      dst[o++] = ((top << 8) + (bottom - top) * wy + 32768) >> 16;
      fx += stepX;
      fy += stepY;
    }
  }
}

/**
 * Taps per output coordinate of the separable resampler: a footprint up to 2 pixels wide touches at
 * most 3. Plates are sized so the camera never shrinks one by more than 2x (see plate.ts).
 */
const TAPS = 3;
const WEIGHT_BITS = 14;

/**
 * Resampling taps for output samples centred at source sample positions origin + k * step.
 * Magnifying (step < 1): linear interpolation. Shrinking (step >= 1): the exact area average of the
 * source pixels under the output pixel's footprint (a box as wide as the output pixel spacing).
 * Footprints tile the line, so every source pixel contributes exactly its share and an edge moves in
 * exact proportion to the camera; point-sampling a shrinking picture (bilinear) instead makes an
 * edge's position wobble by a few tenths of a pixel as it crosses the sampling grid.
 */
function resampleTaps(
  origin: number,
  step: number,
  count: number,
): { start: Int32Array; weights: Int32Array } {
  const width = Math.abs(step);
  const start = new Int32Array(count);
  const weights = new Int32Array(count * TAPS);
  const raw = [0, 0, 0];
  for (let k = 0; k < count; k++) {
    const q = origin + k * step;
    let first: number;
    if (width < 1) {
      first = Math.floor(q);
      raw[0] = 1 - (q - first);
      raw[1] = q - first;
      raw[2] = 0;
    } else {
      // Pixel i covers [i - 0.5, i + 0.5); the footprint is [q - width / 2, q + width / 2).
      const low = q - Math.min(width, TAPS - 1) / 2;
      const high = q + Math.min(width, TAPS - 1) / 2;
      first = Math.floor(low + 0.5);
      for (let t = 0; t < TAPS; t++) {
        const i = first + t;
        raw[t] = Math.max(0, Math.min(high, i + 0.5) - Math.max(low, i - 0.5));
      }
    }
    start[k] = first;
    const sum = raw[0]! + raw[1]! + raw[2]!;
    // Integer weights summing exactly to 2^WEIGHT_BITS, so flat areas stay exactly flat.
    let assigned = 0;
    let largest = 0;
    for (let t = 0; t < TAPS; t++) {
      const w = Math.round((raw[t]! / sum) * (1 << WEIGHT_BITS));
      weights[k * TAPS + t] = w;
      assigned += w;
      if (w > weights[k * TAPS + largest]!) largest = t;
    }
    weights[k * TAPS + largest]! += (1 << WEIGHT_BITS) - assigned;
  }
  return { start, weights };
}

/**
 * Separable resample of one plane for an unrolled view: destination pixel (X, Y) is centred on
 * source sample position (ox + X * stepX, oy + Y * stepY). Horizontal pass per needed source row
 * (kept in a ring of TAPS rows), then the vertical pass; fixed point throughout.
 */
export function resamplePlane(
  src: Uint8Array,
  srcStride: number,
  srcRows: number,
  dst: Uint8Array,
  dstWidth: number,
  dstHeight: number,
  ox: number,
  oy: number,
  stepX: number,
  stepY: number,
): void {
  const columns = resampleTaps(ox, stepX, dstWidth);
  const rows = resampleTaps(oy, stepY, dstHeight);
  const lastColumn = columns.start[dstWidth - 1]! + TAPS - 1;
  const lastRow = rows.start[dstHeight - 1]! + TAPS - 1;
  if (columns.start[0]! < 0 || rows.start[0]! < 0 || lastColumn >= srcStride || lastRow >= srcRows) {
    throw new Error("resample window outside the plate");
  }
  const ring = Array.from({ length: TAPS }, () => new Int32Array(dstWidth));
  const ringRow = new Int32Array(TAPS).fill(-1);
  const cs = columns.start;
  const cw = columns.weights;
  let o = 0;
  for (let y = 0; y < dstHeight; y++) {
    const top = rows.start[y]!;
    const used = rows.weights[y * TAPS + 2] === 0 ? TAPS - 1 : TAPS;
    for (let t = 0; t < used; t++) {
      const sourceRow = top + t;
      const slot = sourceRow % TAPS;
      if (ringRow[slot] === sourceRow) continue;
      ringRow[slot] = sourceRow;
      const line = ring[slot]!;
      const base = sourceRow * srcStride;
      for (let x = 0, w = 0; x < dstWidth; x++, w += TAPS) {
        const i = base + cs[x]!;
        // 14-bit weights, result kept at 8 extra bits so the vertical pass cannot overflow 31 bits.
        line[x] = (src[i]! * cw[w]! + src[i + 1]! * cw[w + 1]! + src[i + 2]! * cw[w + 2]! + 32) >> 6;
      }
    }
    const w0 = rows.weights[y * TAPS]!;
    const w1 = rows.weights[y * TAPS + 1]!;
    const w2 = rows.weights[y * TAPS + 2]!;
    const r0 = ring[top % TAPS]!;
    const r1 = ring[(top + 1) % TAPS]!;
    const r2 = ring[(top + 2) % TAPS]!;
    // Most footprints touch only two rows: skip the third multiply then.
    if (w2 === 0) {
      for (let x = 0; x < dstWidth; x++) dst[o++] = (r0[x]! * w0 + r1[x]! * w1 + (1 << 21)) >> 22;
    } else {
      for (let x = 0; x < dstWidth; x++)
        dst[o++] = (r0[x]! * w0 + r1[x]! * w1 + r2[x]! * w2 + (1 << 21)) >> 22;
    }
  }
}
