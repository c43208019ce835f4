/** Reading a file's first bytes: text at an offset, a byte prefix, 32-bit integers. */

/** The bytes `start`..`end` as Latin-1 text, or "" when the head is shorter. */
export function ascii(b: Uint8Array, start: number, end: number): string {
  if (end > b.length) return "";
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(b[i]!);
  return s;
}

export function startsWith(b: Uint8Array, bytes: readonly number[], offset = 0): boolean {
  if (b.length < offset + bytes.length) return false;
  for (let i = 0; i < bytes.length; i++) if (b[offset + i] !== bytes[i]) return false;
  return true;
}

export function u32be(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) >>> 0) + (b[i + 1]! << 16) + (b[i + 2]! << 8) + b[i + 3]!;
}

export function u32le(b: Uint8Array, i: number): number {
  return ((b[i + 3]! << 24) >>> 0) + (b[i + 2]! << 16) + (b[i + 1]! << 8) + b[i]!;
}
