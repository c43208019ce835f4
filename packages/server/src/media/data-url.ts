import { createReadStream } from "node:fs";
import { pipeline, type Readable, Transform } from "node:stream";
import { largestByteLimit, type MediaLimits } from "./limits.ts";
import { fileTooLarge, invalidDataUrl } from "./refusals.ts";
import type { MediaKind } from "./sniff.ts";

export interface DecodedDataUrl {
  bytes: Buffer;
  /** The media type the URL claims (lower case, parameters dropped; "text/plain" when absent). Not trusted: sniff the bytes. */
  declaredMime: string;
}

const MIME = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;
const HEX = /^[0-9a-fA-F]{2}$/;

function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Number of "%XX" escapes in `s` (a "%" not followed by two hex digits stays literal, as in WHATWG URL parsing). */
function countEscapes(s: string): number {
  let n = 0;
  for (let i = s.indexOf("%"); i !== -1 && i + 2 < s.length; i = s.indexOf("%", i + 1)) {
    if (isHex(s.charCodeAt(i + 1)) && isHex(s.charCodeAt(i + 2))) {
      n++;
      i += 2;
    }
  }
  return n;
}

/** Percent-decode to bytes (characters outside %XX are UTF-8 encoded, as a URL serialiser would). */
function percentDecode(s: string): Buffer {
  const out = Buffer.allocUnsafe(Buffer.byteLength(s, "utf8") - 2 * countEscapes(s));
  let o = 0;
  let runStart = 0;
  for (let i = s.indexOf("%"); i !== -1; i = s.indexOf("%", i + 1)) {
    if (i + 2 >= s.length || !HEX.test(s.slice(i + 1, i + 3))) continue;
    o += out.write(s.slice(runStart, i), o, "utf8");
    out[o++] = Number.parseInt(s.slice(i + 1, i + 3), 16);
    i += 2;
    runStart = i + 1;
  }
  o += out.write(s.slice(runStart), o, "utf8");
  return out.subarray(0, o);
}

/**
 * Exact decoded size of a base64 body without building anything: counts base64 characters,
 * skipping whitespace and reading %XX escapes as the character they encode.
 */
function base64DecodedSize(body: string): number {
  let chars = 0;
  for (let i = 0; i < body.length; i++) {
    let c = body.charCodeAt(i);
    if (c === 0x25 && i + 2 < body.length && isHex(body.charCodeAt(i + 1)) && isHex(body.charCodeAt(i + 2))) {
      c = Number.parseInt(body.slice(i + 1, i + 3), 16);
      i += 2;
    }
    if (isWhitespace(c)) continue;
    if (c !== 0x3d) chars++; // "=" padding carries no data
  }
  return Math.floor((chars * 6) / 8);
}

/**
 * Decode a `data:` URL (base64 or percent-encoded). The decoded size is computed from the encoded
 * length first, so an oversized payload is refused (413) before any bytes are decoded. `kinds`
 * narrows which media kinds are acceptable here (for `image_url`, just images), which narrows the
 * applicable byte limit; the caller still sniffs the bytes and applies the exact per-kind limit.
 */
export function decodeDataUrl(
  url: string,
  limits: MediaLimits,
  param: string,
  kinds: readonly MediaKind[] = ["image", "video", "audio"],
): DecodedDataUrl {
  const start = url.length - url.trimStart().length;
  if (url.slice(start, start + 5).toLowerCase() !== "data:") {
    throw invalidDataUrl("it does not start with data:", param);
  }
  const comma = url.indexOf(",", start);
  if (comma === -1) throw invalidDataUrl("there is no comma between the media type and the data", param);
  const header = url.slice(start + 5, comma);
  if (header.length > 512) throw invalidDataUrl("the part before the comma is too long", param);
  const parts = header.split(";").map((p) => p.trim());
  const base64 = parts.length > 1 && parts[parts.length - 1]!.toLowerCase() === "base64";
  const mime = parts[0]!.toLowerCase();
  const declaredMime = MIME.test(mime) ? mime : "text/plain";
  const body = url.slice(comma + 1).trimEnd();
  const limit = largestByteLimit(limits, kinds);
  const kind = kinds.length === 1 ? kinds[0]! : null;

  if (!base64) {
    const size = Buffer.byteLength(body, "utf8") - 2 * countEscapes(body);
    if (size > limit) throw fileTooLarge(kind, limit, param, { bytes: size, exact: true });
    return { bytes: percentDecode(body), declaredMime };
  }

  // Upper bound first (free); the exact count only when the bound is over the limit.
  if (Math.floor((body.length * 3) / 4) > limit) {
    const size = base64DecodedSize(body);
    if (size > limit) throw fileTooLarge(kind, limit, param, { bytes: size, exact: true });
  }
  const text = (body.includes("%") ? percentDecode(body).toString("latin1") : body).replace(
    /[\t\n\f\r ]+/g,
    "",
  );
  const bad = /[^A-Za-z0-9+/=]/.exec(text);
  if (bad) {
    const shown = JSON.stringify(bad[0]);
    throw invalidDataUrl(`the base64 data contains ${shown} at character ${bad.index + 1}`, param);
  }
  if (
    !/^[A-Za-z0-9+/]*={0,2}$/.test(text) ||
    text.length % 4 === 1 ||
    (text.includes("=") && text.length % 4)
  ) {
    throw invalidDataUrl("the base64 data is truncated or has misplaced '=' padding", param);
  }
  return { bytes: Buffer.from(text, "base64"), declaredMime };
}

/** A data: URL kept in a file while its request lives (http/json-body.ts spools the large ones). */
export interface SpooledDataUrl {
  path: string;
  /** `data:<type>[;params],` */
  header: string;
  /** Characters after the header. */
  length: number;
}

/**
 * The bytes of a spooled base64 `data:` URL as a stream, decoded as they are read (memory does not
 * grow with the size). Refuses, like `decodeDataUrl`, a URL that is not base64, a payload over the
 * kind's limit (counted from the length before anything is read), and malformed base64.
 */
export function spooledDataUrlStream(
  spooled: SpooledDataUrl,
  limits: MediaLimits,
  param: string,
  kinds: readonly MediaKind[] = ["image", "video", "audio"],
): Readable {
  const parts = spooled.header
    .slice(5, -1)
    .split(";")
    .map((p) => p.trim().toLowerCase());
  if (parts.length < 2 || parts[parts.length - 1] !== "base64") {
    throw invalidDataUrl("a data: URL this large must be base64-encoded", param);
  }
  const limit = largestByteLimit(limits, kinds);
  // Whitespace and padding make the real size smaller; intake checks the exact size as it streams.
  if (Math.floor((spooled.length * 3) / 4) > limit + limit / 2) {
    throw fileTooLarge(kinds.length === 1 ? kinds[0]! : null, limit, param, {
      bytes: Math.floor((spooled.length * 3) / 4),
      exact: false,
    });
  }
  let carry = "";
  let padded = false;
  let seen = 0;
  const decode = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      let text = carry + chunk.toString("latin1");
      carry = "";
      // A %XX escape cut by the chunk boundary waits for its other half.
      const cut = /%[0-9A-Fa-f]?$/.exec(text);
      if (cut) {
        carry = cut[0];
        text = text.slice(0, cut.index);
      }
      if (text.includes("%"))
        text = text.replace(/%([0-9A-Fa-f]{2})/g, (_m, hex) => String.fromCharCode(Number.parseInt(hex, 16)));
      text = text.replace(/[\t\n\f\r ]+/g, "");
      const bad = /[^A-Za-z0-9+/=]/.exec(text);
      if (bad) {
        done(
          invalidDataUrl(
            `the base64 data contains ${JSON.stringify(bad[0])} at character ${seen + bad.index + 1}`,
            param,
          ),
        );
        return;
      }
      seen += text.length;
      const firstPad = text.indexOf("=");
      if ((padded && /[^=]/.test(text)) || (firstPad !== -1 && /[^=]/.test(text.slice(firstPad)))) {
        done(invalidDataUrl("the base64 data is truncated or has misplaced '=' padding", param));
        return;
      }
      if (firstPad !== -1) padded = true;
      const whole = text.length - (text.length % 4);
      carry = text.slice(whole) + carry;
      done(null, whole > 0 ? Buffer.from(text.slice(0, whole), "base64") : undefined);
    },
    flush(done) {
      const rest = carry.replace(/%.*/, "");
      if (carry.includes("%") || rest.length % 4 === 1) {
        done(invalidDataUrl("the base64 data is truncated or has misplaced '=' padding", param));
        return;
      }
      done(null, rest.length > 0 ? Buffer.from(rest, "base64") : undefined);
    },
  });
  return pipeline(createReadStream(spooled.path), decode, () => {});
}
