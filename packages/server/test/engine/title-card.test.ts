import assert from "node:assert/strict";
import { test } from "node:test";
import sharp from "sharp";
import {
  escapeXml,
  layoutTitle,
  renderTitleCard,
  textWidthEm,
  wrapText,
} from "../../src/engine/title-card.ts";

test("escapeXml escapes markup characters", () => {
  assert.equal(
    escapeXml(`<a href="x">Tom & 'Jerry'</a>`),
    "&lt;a href=&quot;x&quot;&gt;Tom &amp; &apos;Jerry&apos;&lt;/a&gt;",
  );
});

test("wrapText keeps every line within the width, splitting over-long words", () => {
  const text = "A remarkably long prompt about supercalifragilisticexpialidocious things happening slowly";
  for (const width of [6, 10, 20]) {
    const lines = wrapText(text, width);
    for (const line of lines) assert.ok(textWidthEm(line) <= width + 1e-9, `${line} > ${width}`);
    assert.equal(lines.join("").replace(/\s/g, ""), text.replace(/\s/g, ""));
  }
});

test("layoutTitle fits the box at 480p in every shape, with legible type", () => {
  const prompt = "A lighthouse beam sweeping through thick fog while waves crash on the rocks below ".repeat(
    4,
  );
  for (const [width, height] of [
    [864, 496],
    [752, 560],
    [496, 864],
    [640, 640],
  ] as const) {
    const layout = layoutTitle(prompt, width, height);
    assert.ok(layout.fontSize >= 16, `font ${layout.fontSize}`);
    assert.ok(layout.lines.length * layout.lineHeight <= height * 0.6 + 1e-9);
    for (const line of layout.lines) assert.ok(textWidthEm(line) * layout.fontSize <= width * 0.78 + 1e-6);
    assert.ok(layout.lines.at(-1)!.endsWith("…"), "an over-long prompt is shortened visibly");
  }
});

test("the title card renders markup-hostile prompts, and type stays inside the frame", async () => {
  const png = await renderTitleCard(
    `<script>alert("x")</script> & friends ${"word ".repeat(20)}`,
    496,
    864,
    1,
  );
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height], [496, 864]);
  // White type exists, and none of it touches the left/right margins.
  let bright = 0;
  let atEdge = 0;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const p = (y * info.width + x) * 3;
      if (data[p]! > 235 && data[p + 1]! > 235 && data[p + 2]! > 235) {
        bright++;
        if (x < 12 || x >= info.width - 12) atEdge++;
      }
    }
  }
  assert.ok(bright > 2000, `type drawn (${bright} white pixels)`);
  assert.equal(atEdge, 0);
});
