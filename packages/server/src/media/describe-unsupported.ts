/** Naming a file that was refused (sniff.ts found no accepted type in it), for the 415 message. */
import { ascii, startsWith } from "./bytes.ts";
import { ebmlDocType, isoBrands } from "./sniff.ts";

function looksLikeText(b: Uint8Array): boolean {
  const n = Math.min(b.length, 1024);
  if (n === 0) return false;
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 0) return false;
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c !== 127)) printable++;
  }
  return printable / n > 0.95;
}

/**
 * What a refused file appears to be, for the 415 message: "a PDF document", "plain text",
 * "a Matroska (MKV) video", … or "an unrecognised file type".
 */
export function describeUnsupported(head: Uint8Array): string {
  const b = head;
  if (b.length === 0) return "an empty file";
  const four = ascii(b, 0, 4);
  const docType = ebmlDocType(b);
  if (docType) return docType === "matroska" ? "a Matroska (MKV) video" : `an EBML "${docType}" file`;
  const brands = isoBrands(b);
  if (brands) {
    if (brands[0]!.startsWith("3g")) return "a 3GP video";
    if (brands[0] === "crx ") return "a Canon raw (CR3) photo";
    return `an ISO media file of brand "${brands[0]!.trim()}"`;
  }
  if (ascii(b, 0, 5) === "%PDF-") return "a PDF document";
  if (startsWith(b, [0x50, 0x4b, 0x03, 0x04])) return "a ZIP archive (or an office document)";
  if (startsWith(b, [0x1f, 0x8b])) return "a gzip archive";
  if (four === "fLaC") return "a FLAC audio file";
  if (four === "OggS") return "an Ogg file without a supported audio codec (Ogg video is not accepted)";
  if (four === "RIFF" && ascii(b, 8, 12) === "AVI ") return "an AVI video";
  if (ascii(b, 0, 3) === "FLV") return "a Flash (FLV) video";
  if (startsWith(b, [0x30, 0x26, 0xb2, 0x75])) return "a Windows Media (ASF/WMV/WMA) file";
  if (b[0] === 0x47 && b.length > 188 && b[188] === 0x47) return "an MPEG transport stream";
  if (startsWith(b, [0x00, 0x00, 0x01, 0xba])) return "an MPEG program stream";
  if (startsWith(b, [0xff, 0x0a]) || ascii(b, 4, 8) === "JXL ") return "a JPEG XL image";
  if (four === "8BPS") return "a Photoshop document";
  if (startsWith(b, [0x00, 0x00, 0x01, 0x00])) return "an icon (ICO) file";
  if (looksLikeText(b)) {
    const text = ascii(b, 0, Math.min(b.length, 512)).trimStart().toLowerCase();
    if (text.startsWith("<svg") || (text.startsWith("<?xml") && text.includes("<svg"))) {
      return "an SVG drawing";
    }
    if (text.startsWith("<!doctype html") || text.startsWith("<html")) return "an HTML page";
    if (text.startsWith("{") || text.startsWith("[")) return "JSON or other text";
    return "plain text";
  }
  return "an unrecognised file type";
}
