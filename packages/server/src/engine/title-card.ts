/**
 * The title card used when a request has no pictures: the prompt set in type over a soft gradient,
 * drawn as SVG and rasterized by sharp. Layout is computed here (librsvg does not wrap text).
 */
import sharp from "sharp";
import { seededRandom } from "./shot-plan.ts";

const MAX_PROMPT_CHARS = 240;
const FONT_FAMILY = "DejaVu Sans, Noto Sans, Liberation Sans, Arial, Helvetica, sans-serif";

/** Colour pairs for the background gradient: deep enough that white type always reads. */
const PALETTES: Array<[string, string, string]> = [
  ["#10213f", "#3b1d4a", "#f0b46a"],
  ["#0f2e2e", "#1d3f5c", "#7fd6c2"],
  ["#2a1630", "#5a1f2e", "#ffb199"],
  ["#14202b", "#34443a", "#d8e28b"],
  ["#1b1b3a", "#3d2c5e", "#b9a7ff"],
  ["#2b1d12", "#4a2f1c", "#ffd29a"],
];

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

/** Approximate advance width of a character in ems for a bold sans face (erring wide, so lines never overflow). */
function charWidth(char: string): number {
  const code = char.codePointAt(0) ?? 0;
  if (
    code >= 0x1100 &&
    (code <= 0x115f ||
      (code >= 0x2e80 && code <= 0xa4cf) ||
      (code >= 0xac00 && code <= 0xd7a3) ||
      (code >= 0xf900 && code <= 0xfaff) ||
      (code >= 0xff00 && code <= 0xff60) ||
      code >= 0x1f300)
  ) {
    return 1.05;
  }
  if (" ".includes(char)) return 0.35;
  if ("il.,:;'|!`".includes(char)) return 0.36;
  if ("MWmw@%".includes(char)) return 1.0;
  if (char >= "A" && char <= "Z") return 0.78;
  return 0.68;
}

export function textWidthEm(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char);
  return width;
}

/** Greedy word wrap to lines of at most maxEm; words longer than a line are split. */
export function wrapText(text: string, maxEm: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    let rest = word;
    while (textWidthEm(rest) > maxEm) {
      // Split an over-long word at the last character that fits.
      let cut = 0;
      let width = 0;
      for (const char of rest) {
        width += charWidth(char);
        if (width > maxEm) break;
        cut += char.length;
      }
      if (line) {
        lines.push(line);
        line = "";
      }
      lines.push(rest.slice(0, Math.max(1, cut)));
      rest = rest.slice(Math.max(1, cut));
    }
    const candidate = line ? `${line} ${rest}` : rest;
    if (textWidthEm(candidate) <= maxEm) line = candidate;
    else {
      if (line) lines.push(line);
      line = rest;
    }
  }
  if (line) lines.push(line);
  return lines;
}

export interface TitleLayout {
  lines: string[];
  fontSize: number;
  lineHeight: number;
}

/**
 * The largest font size (down to a legible floor) at which the prompt fits the text box. The floor
 * keeps type readable at 480p; a very long prompt is shortened with an ellipsis instead.
 */
export function layoutTitle(prompt: string, width: number, height: number): TitleLayout {
  let text = prompt.replace(/\s+/g, " ").trim() || "Untitled";
  if (text.length > MAX_PROMPT_CHARS) text = `${text.slice(0, MAX_PROMPT_CHARS - 1).trimEnd()}…`;
  const boxWidth = width * 0.78;
  const boxHeight = height * 0.6;
  const short = Math.min(width, height);
  const largest = Math.round(short * 0.11);
  const smallest = Math.max(16, Math.round(short * 0.04));
  for (let fontSize = largest; fontSize >= smallest; fontSize -= Math.max(1, Math.round(fontSize * 0.06))) {
    const lines = wrapText(text, boxWidth / fontSize);
    const lineHeight = fontSize * 1.28;
    if (lines.length * lineHeight <= boxHeight) return { lines, fontSize, lineHeight };
  }
  const lineHeight = smallest * 1.28;
  const maxLines = Math.max(1, Math.floor(boxHeight / lineHeight));
  const lines = wrapText(text, boxWidth / smallest);
  if (lines.length > maxLines) {
    lines.length = maxLines;
    lines[maxLines - 1] = `${(lines[maxLines - 1] ?? "").replace(/\s*\S*$/, "")}…`;
  }
  return { lines, fontSize: smallest, lineHeight };
}

export function titleCardSvg(prompt: string, width: number, height: number, seed: number): string {
  const random = seededRandom(seed ^ 0x5eed);
  const [from, to, accent] = PALETTES[Math.floor(random() * PALETTES.length)] ?? PALETTES[0]!;
  const angle = Math.round(random() * 360);
  const glowX = (30 + random() * 40).toFixed(1);
  const glowY = (25 + random() * 30).toFixed(1);
  const { lines, fontSize, lineHeight } = layoutTitle(prompt, width, height);
  const blockHeight = lines.length * lineHeight;
  const firstBaseline = height / 2 - blockHeight / 2 + lineHeight * 0.78;
  const rule = Math.max(2, Math.round(Math.min(width, height) * 0.006));
  const ruleWidth = Math.round(Math.min(width, height) * 0.12);
  const ruleY = Math.round(height / 2 - blockHeight / 2 - lineHeight * 0.45);
  const tspans = lines
    .map(
      (line, i) =>
        `<tspan x="${(width / 2).toFixed(1)}" y="${(firstBaseline + i * lineHeight).toFixed(1)}">${escapeXml(line)}</tspan>`,
    )
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">
<defs>
<linearGradient id="bg" gradientTransform="rotate(${angle} 0.5 0.5)"><stop offset="0" stop-color="${from}"/><stop offset="1" stop-color="${to}"/></linearGradient>
<radialGradient id="glow" cx="${glowX}%" cy="${glowY}%" r="70%"><stop offset="0" stop-color="${accent}" stop-opacity="0.35"/><stop offset="1" stop-color="${accent}" stop-opacity="0"/></radialGradient>
<radialGradient id="vignette" cx="50%" cy="50%" r="75%"><stop offset="0.6" stop-color="#000" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="0.45"/></radialGradient>
</defs>
<rect width="100%" height="100%" fill="url(#bg)"/>
<rect width="100%" height="100%" fill="url(#glow)"/>
<rect width="100%" height="100%" fill="url(#vignette)"/>
<rect x="${Math.round(width / 2 - ruleWidth / 2)}" y="${ruleY}" width="${ruleWidth}" height="${rule}" rx="${rule / 2}" fill="${accent}"/>
<text font-family="${FONT_FAMILY}" font-weight="bold" font-size="${fontSize}" fill="#ffffff" text-anchor="middle">${tspans}</text>
</svg>`;
}

/** The title card as a PNG of exactly width x height. */
export async function renderTitleCard(
  prompt: string,
  width: number,
  height: number,
  seed: number,
): Promise<Buffer> {
  return sharp(Buffer.from(titleCardSvg(prompt, width, height, seed)), { density: 72 })
    .resize(width, height)
    .png({ compressionLevel: 1 })
    .toBuffer();
}
