/**
 * Cross-dissolve of two packed RGB frames. Runs on the main thread in slices with a yield between
 * them, so a 1080p dissolve never holds the event loop for more than about a millisecond.
 */
import { setImmediate as yieldToEventLoop } from "node:timers/promises";

/** Bytes blended per slice (a multiple of 4): ~1 ms of work. */
const SLICE_BYTES = 256 * 1024;
/** Blend weights are 7-bit so two 8-bit channels fit in one 32-bit lane product without overflow. */
const WEIGHT_SCALE = 128;

/**
 * (1 - weight) * from + weight * to, per byte, rounded. Two channels are blended per 32-bit multiply
 * (bytes 0/2 and 1/3 of each word), which is what makes a per-pixel loop in JS affordable.
 */
export async function crossDissolve(from: Buffer, to: Buffer, weight: number): Promise<Buffer> {
  if (from.length !== to.length) throw new Error("crossDissolve: frames differ in size");
  const w = Math.round(Math.min(1, Math.max(0, weight)) * WEIGHT_SCALE);
  if (w === 0) return from;
  if (w === WEIGHT_SCALE) return to;
  const out = Buffer.allocUnsafe(from.length);
  const words = from.length >> 2;
  // Aligned views: sharp's buffers may start at any byte offset, so copy into aligned storage if needed.
  const fromWords = int32View(from, words);
  const toWords = int32View(to, words);
  const outWords = new Int32Array(out.buffer, out.byteOffset, words);
  const inverse = WEIGHT_SCALE - w;
  const sliceWords = SLICE_BYTES >> 2;
  for (let start = 0; start < words; start += sliceWords) {
    const end = Math.min(words, start + sliceWords);
    for (let i = start; i < end; i++) {
      const a = fromWords[i]!;
      const b = toWords[i]!;
      const even = ((((a & 0xff00ff) * inverse + (b & 0xff00ff) * w + 0x400040) >>> 7) & 0xff00ff) | 0;
      const odd =
        ((((a >>> 8) & 0xff00ff) * inverse + ((b >>> 8) & 0xff00ff) * w + 0x400040) << 1) & 0xff00ff00;
      outWords[i] = even | odd;
    }
    if (end < words) await yieldToEventLoop();
  }
  for (let i = words * 4; i < from.length; i++) {
    out[i] = (from[i]! * inverse + to[i]! * w + 64) >> 7;
  }
  return out;
}

function int32View(buffer: Buffer, words: number): Int32Array {
  if (buffer.byteOffset % 4 === 0) return new Int32Array(buffer.buffer, buffer.byteOffset, words);
  const aligned = Buffer.allocUnsafe(buffer.length);
  buffer.copy(aligned);
  return new Int32Array(aligned.buffer, aligned.byteOffset, words);
}
