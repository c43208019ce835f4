/**
 * Media type detection from the first bytes of a file ("magic numbers"). The filename and the
 * declared Content-Type are never consulted: a text file renamed to .jpg is still text.
 *
 * `sniffMedia` only ever answers with a type the gateway accepts (docs/api.md §2: images jpeg/png/webp/gif/
 * bmp/tiff/avif/heic, video mp4/mov/webm, audio mp3/wav/m4a/aac/ogg). `describeUnsupported` names
 * (describe-unsupported.ts) what a refused file looks like, so the 415 message can say "this is a PDF document".
 */

import { ascii, startsWith, u32be, u32le } from "./bytes.ts";

export type MediaKind = "image" | "video" | "audio";

export interface SniffResult {
  kind: MediaKind;
  mime: string;
  ext: string;
}

/** How many leading bytes the sniffer wants to see (fewer is fine for short files). */
export const SNIFF_BYTES = 4096;

const JPEG: SniffResult = { kind: "image", mime: "image/jpeg", ext: "jpg" };
const PNG: SniffResult = { kind: "image", mime: "image/png", ext: "png" };
const GIF: SniffResult = { kind: "image", mime: "image/gif", ext: "gif" };
const WEBP: SniffResult = { kind: "image", mime: "image/webp", ext: "webp" };
const BMP: SniffResult = { kind: "image", mime: "image/bmp", ext: "bmp" };
const TIFF: SniffResult = { kind: "image", mime: "image/tiff", ext: "tiff" };
const AVIF: SniffResult = { kind: "image", mime: "image/avif", ext: "avif" };
const HEIC: SniffResult = { kind: "image", mime: "image/heic", ext: "heic" };
const HEIF: SniffResult = { kind: "image", mime: "image/heif", ext: "heif" };
const MP4: SniffResult = { kind: "video", mime: "video/mp4", ext: "mp4" };
const MOV: SniffResult = { kind: "video", mime: "video/quicktime", ext: "mov" };
const WEBM: SniffResult = { kind: "video", mime: "video/webm", ext: "webm" };
const M4A: SniffResult = { kind: "audio", mime: "audio/mp4", ext: "m4a" };
const MP3: SniffResult = { kind: "audio", mime: "audio/mpeg", ext: "mp3" };
const WAV: SniffResult = { kind: "audio", mime: "audio/wav", ext: "wav" };
const OGG: SniffResult = { kind: "audio", mime: "audio/ogg", ext: "ogg" };
const OPUS: SniffResult = { kind: "audio", mime: "audio/ogg", ext: "opus" };
const AAC: SniffResult = { kind: "audio", mime: "audio/aac", ext: "aac" };

/** Every type `sniffMedia` can return (Ogg Opus is audio/ogg with the .opus extension). */
export const ACCEPTED_TYPES: readonly SniffResult[] = [
  JPEG,
  PNG,
  GIF,
  WEBP,
  BMP,
  TIFF,
  AVIF,
  HEIC,
  HEIF,
  MP4,
  MOV,
  WEBM,
  M4A,
  MP3,
  WAV,
  OGG,
  OPUS,
  AAC,
];

/** Human names for messages ("a WebP image"). */
/** Human names for messages, with their article ("a WebP image", "an MP4 video"). */
export const TYPE_LABELS: Record<string, string> = {
  "image/jpeg": "a JPEG image",
  "image/png": "a PNG image",
  "image/gif": "a GIF image",
  "image/webp": "a WebP image",
  "image/bmp": "a BMP image",
  "image/tiff": "a TIFF image",
  "image/avif": "an AVIF image",
  "image/heic": "a HEIC image",
  "image/heif": "a HEIF image",
  "video/mp4": "an MP4 video",
  "video/quicktime": "a QuickTime (MOV) video",
  "video/webm": "a WebM video",
  "audio/mp4": "an M4A audio file",
  "audio/mpeg": "an MP3 audio file",
  "audio/wav": "a WAV audio file",
  "audio/ogg": "an Ogg audio file",
  "audio/aac": "an AAC audio file",
};

export function typeLabel(mime: string): string {
  return TYPE_LABELS[mime] ?? `a file of type ${mime}`;
}

// --- ISO base media file format (MP4, MOV, M4A, AVIF, HEIC) ----------------------------------

const AVIF_BRANDS = new Set(["avif", "avis"]);
const HEIC_BRANDS = new Set(["heic", "heix", "heim", "heis", "hevc", "hevx"]);
const HEIF_BRANDS = new Set(["mif1", "msf1", "mif2", "miaf"]);
const M4A_BRANDS = new Set(["M4A ", "M4B ", "M4P ", "F4A ", "F4B "]);
const MOV_BRANDS = new Set(["qt  "]);
const MP4_BRANDS = new Set([
  "isom",
  "iso2",
  "iso3",
  "iso4",
  "iso5",
  "iso6",
  "iso7",
  "iso8",
  "iso9",
  "mp41",
  "mp42",
  "mp71",
  "avc1",
  "hvc1",
  "av01",
  "M4V ",
  "M4VH",
  "M4VP",
  "mmp4",
  "dash",
  "MSNV",
  "NDAS",
  "XAVC",
  "f4v ",
]);

/** ftyp box: the major brand and compatible brands at the start of every ISO-BMFF file. */
export function isoBrands(b: Uint8Array): string[] | null {
  if (b.length < 16 || ascii(b, 4, 8) !== "ftyp") return null;
  const size = u32be(b, 0);
  if (size < 16 || size > 4096) return null;
  const brands = [ascii(b, 8, 12)];
  for (let i = 16; i + 4 <= Math.min(size, b.length); i += 4) brands.push(ascii(b, i, i + 4));
  return brands;
}

function sniffIso(b: Uint8Array): SniffResult | null {
  const brands = isoBrands(b);
  if (!brands) {
    // QuickTime files from before the ftyp box: they start straight with a top-level atom.
    if (b.length >= 8 && ["moov", "mdat", "wide", "pnot"].includes(ascii(b, 4, 8)) && u32be(b, 0) >= 8) {
      return MOV;
    }
    return null;
  }
  const major = brands[0]!;
  const compatible = brands.slice(1);
  const classify = (brand: string): SniffResult | null => {
    if (AVIF_BRANDS.has(brand)) return AVIF;
    if (HEIC_BRANDS.has(brand)) return HEIC;
    if (M4A_BRANDS.has(brand)) return M4A;
    if (MOV_BRANDS.has(brand)) return MOV;
    if (MP4_BRANDS.has(brand)) return MP4;
    return null;
  };
  if (HEIF_BRANDS.has(major)) {
    // Generic HEIF major brand: the compatible list says which codec (AV1 → AVIF, HEVC → HEIC).
    if (compatible.some((x) => AVIF_BRANDS.has(x))) return AVIF;
    if (compatible.some((x) => HEIC_BRANDS.has(x))) return HEIC;
    return HEIF;
  }
  const byMajor = classify(major);
  if (byMajor) return byMajor;
  // Unknown major brand (camera vendors invent their own): trust a well-known compatible brand.
  for (const order of [AVIF_BRANDS, HEIC_BRANDS, HEIF_BRANDS, M4A_BRANDS, MOV_BRANDS, MP4_BRANDS]) {
    const hit = compatible.find((x) => order.has(x));
    if (hit) return HEIF_BRANDS.has(hit) ? HEIF : classify(hit);
  }
  return null;
}

// --- EBML (Matroska / WebM) --------------------------------------------------------------------

/** A variable-length EBML integer at `i`: its byte length and value (marker bit removed unless `keepMarker`). */
function vint(b: Uint8Array, i: number, keepMarker: boolean): { len: number; value: number } | null {
  const first = b[i];
  if (first === undefined || first === 0) return null;
  let len = 1;
  while (len <= 8 && !(first & (0x80 >> (len - 1)))) len++;
  if (len > 8 || i + len > b.length) return null;
  let value = keepMarker ? first : first & (0xff >> len);
  for (let k = 1; k < len; k++) value = value * 256 + b[i + k]!;
  return { len, value };
}

/** The DocType of an EBML header ("webm", "matroska"), or null if this is not EBML. */
export function ebmlDocType(b: Uint8Array): string | null {
  if (!startsWith(b, [0x1a, 0x45, 0xdf, 0xa3])) return null;
  const headerSize = vint(b, 4, false);
  if (!headerSize) return null;
  let i = 4 + headerSize.len;
  const end = Math.min(b.length, i + headerSize.value);
  while (i < end) {
    const id = vint(b, i, true);
    if (!id) return null;
    const size = vint(b, i + id.len, false);
    if (!size) return null;
    const dataStart = i + id.len + size.len;
    if (id.value === 0x4282) return ascii(b, dataStart, Math.min(dataStart + size.value, b.length));
    i = dataStart + size.value;
  }
  return null;
}

// --- MPEG audio (MP3) and ADTS (AAC) -----------------------------------------------------------

const MP3_BITRATES_V1 = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const MP3_BITRATES_V2 = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
const MP3_RATES = [44100, 48000, 32000];

/** Length of an MPEG-1/2/2.5 Layer III frame whose header starts at `i`, or 0 if there is none. */
function mp3FrameLength(b: Uint8Array, i: number): number {
  if (i + 4 > b.length || b[i] !== 0xff || (b[i + 1]! & 0xe0) !== 0xe0) return 0;
  const version = (b[i + 1]! >> 3) & 3; // 0 = 2.5, 1 = reserved, 2 = MPEG-2, 3 = MPEG-1
  const layer = (b[i + 1]! >> 1) & 3; // 1 = Layer III
  const bitrateIndex = b[i + 2]! >> 4;
  const rateIndex = (b[i + 2]! >> 2) & 3;
  if (version === 1 || layer !== 1 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return 0;
  const padding = (b[i + 2]! >> 1) & 1;
  const bitrate = (version === 3 ? MP3_BITRATES_V1 : MP3_BITRATES_V2)[bitrateIndex]! * 1000;
  const rate = MP3_RATES[rateIndex]! / (version === 3 ? 1 : version === 2 ? 2 : 4);
  return Math.floor(((version === 3 ? 144 : 72) * bitrate) / rate) + padding;
}

/** Length of an ADTS (AAC) frame whose header starts at `i`, or 0 if there is none. */
function adtsFrameLength(b: Uint8Array, i: number): number {
  if (i + 7 > b.length || b[i] !== 0xff || (b[i + 1]! & 0xf6) !== 0xf0) return 0;
  const rateIndex = (b[i + 2]! >> 2) & 0xf;
  if (rateIndex > 12) return 0;
  const len = ((b[i + 3]! & 3) << 11) | (b[i + 4]! << 3) | (b[i + 5]! >> 5);
  return len >= 7 ? len : 0;
}

/**
 * A frame stream of `frameLength` starting at `i`: the first header is valid and, when the head
 * is long enough to contain it, so is the next one (one valid-looking header alone is too weak).
 */
function frameStreamAt(b: Uint8Array, i: number, frameLength: (b: Uint8Array, i: number) => number): boolean {
  const len = frameLength(b, i);
  if (!len) return false;
  const next = i + len;
  if (next + 7 > b.length) return true;
  return frameLength(b, next) > 0;
}

function sniffAudioFrames(b: Uint8Array, i: number): SniffResult | null {
  if (frameStreamAt(b, i, adtsFrameLength)) return AAC;
  if (frameStreamAt(b, i, mp3FrameLength)) return MP3;
  return null;
}

function sniffId3(b: Uint8Array): SniffResult | null {
  if (ascii(b, 0, 3) !== "ID3" || b.length < 10) return null;
  const major = b[3]!;
  if (major < 2 || major > 4 || b[4] === 0xff) return null;
  if (b[6]! & 0x80 || b[7]! & 0x80 || b[8]! & 0x80 || b[9]! & 0x80) return null;
  const size = (b[6]! << 21) | (b[7]! << 14) | (b[8]! << 7) | b[9]!;
  const footer = b[5]! & 0x10 ? 10 : 0;
  const audioStart = 10 + size + footer;
  // Large tags (cover art) push the first frame past the sniffed head: assume MP3, the usual case;
  // inspection with ffprobe confirms the real format afterwards.
  if (audioStart + 4 > b.length) return MP3;
  if (ascii(b, audioStart, audioStart + 4) === "fLaC") return null;
  // Some encoders leave padding between the tag and the first frame: look a little further.
  const limit = Math.min(b.length - 4, audioStart + 1024);
  for (let i = audioStart; i <= limit; i++) {
    if (b[i] !== 0xff) continue;
    const found = sniffAudioFrames(b, i);
    if (found) return found;
  }
  return null;
}

// --- Ogg -----------------------------------------------------------------------------------------

function sniffOgg(b: Uint8Array): SniffResult | null {
  if (ascii(b, 0, 4) !== "OggS" || b.length < 28 || b[4] !== 0) return null;
  const segments = b[26]!;
  const body = 27 + segments;
  if (startsWith(b, [0x01, 0x76, 0x6f, 0x72, 0x62, 0x69, 0x73], body)) return OGG; // \x01vorbis
  if (ascii(b, body, body + 8) === "OpusHead") return OPUS;
  if (startsWith(b, [0x7f, 0x46, 0x4c, 0x41, 0x43], body)) return OGG; // \x7fFLAC
  if (ascii(b, body, body + 8) === "Speex   ") return OGG;
  return null; // Theora video, Skeleton-only, or not really Ogg
}

// --- Everything ----------------------------------------------------------------------------------

const BMP_HEADER_SIZES = new Set([12, 16, 40, 52, 56, 64, 108, 124]);

/**
 * Detect an accepted media type from the first bytes of a file (pass up to `SNIFF_BYTES`; a
 * shorter head is fine when the file is shorter). Returns null for anything not accepted.
 */
export function sniffMedia(head: Uint8Array): SniffResult | null {
  const b = head;
  if (b.length < 4) return null;

  if (startsWith(b, [0xff, 0xd8, 0xff])) return JPEG;
  if (startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return PNG;
  const six = ascii(b, 0, 6);
  if (six === "GIF87a" || six === "GIF89a") return GIF;

  const four = ascii(b, 0, 4);
  if (four === "RIFF" || four === "RF64") {
    const form = ascii(b, 8, 12);
    if (four === "RIFF" && form === "WEBP" && ["VP8 ", "VP8L", "VP8X"].includes(ascii(b, 12, 16)))
      return WEBP;
    if (form === "WAVE") return WAV;
    return null;
  }
  if (
    b.length >= 18 &&
    b[0] === 0x42 && // "BM"
    b[1] === 0x4d &&
    BMP_HEADER_SIZES.has(u32le(b, 14))
  ) {
    return BMP;
  }
  if (four === "II*\0" || four === "MM\0*" || four === "II+\0" || four === "MM\0+") return TIFF;

  const iso = sniffIso(b);
  if (iso) return iso;

  if (ebmlDocType(b) === "webm") return WEBM;

  if (four === "OggS") return sniffOgg(b);
  if (ascii(b, 0, 3) === "ID3") return sniffId3(b);
  if (b[0] === 0xff) return sniffAudioFrames(b, 0);
  return null;
}
