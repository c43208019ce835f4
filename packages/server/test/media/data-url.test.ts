import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { describe, test } from "node:test";
import { ApiError } from "../../src/domain/errors.ts";
import { decodeDataUrl } from "../../src/media/data-url.ts";
import { mediaLimits } from "../../src/media/limits.ts";
import { sample } from "./fixtures.ts";

const LIMITS = mediaLimits();
const PARAM = "metadata.content[2].image_url.url";

function refusal(fn: () => unknown, status: number, code: string): ApiError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApiError, String(err));
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code, err.message);
    assert.equal(err.param, PARAM);
    assert.ok(err.message.startsWith(PARAM), err.message);
    return err;
  }
  assert.fail("expected a refusal");
}

describe("decodeDataUrl", () => {
  test("base64: the bytes of a real image, and the declared type", async () => {
    const png = await readFile(sample("alpha-2048x1536.png"));
    const url = `data:image/png;base64,${png.toString("base64")}`;
    const { bytes, declaredMime } = decodeDataUrl(url, LIMITS, PARAM);
    assert.deepEqual(bytes, png);
    assert.equal(declaredMime, "image/png");
  });

  test("base64 with parameters, upper-case marker, line breaks and percent-encoded padding", () => {
    const raw = Buffer.from("any carnal pleas"); // 16 bytes → ends in "=="
    const b64 = raw.toString("base64");
    assert.ok(b64.endsWith("=="));
    const wrapped = `${b64.slice(0, 8)}\r\n${b64.slice(8, -2)}%3D%3D`;
    const { bytes, declaredMime } = decodeDataUrl(
      `DATA:Image/JPEG;name=x.jpg;BASE64,${wrapped}`,
      LIMITS,
      PARAM,
    );
    assert.deepEqual(bytes, raw);
    assert.equal(declaredMime, "image/jpeg");
  });

  test("base64 without padding is accepted (forgiving base64)", () => {
    const raw = Buffer.from([1, 2, 3, 4, 5]);
    const b64 = raw.toString("base64").replace(/=+$/, "");
    assert.deepEqual(decodeDataUrl(`data:application/octet-stream;base64,${b64}`, LIMITS, PARAM).bytes, raw);
  });

  test("percent-encoded (non-base64) form, default type text/plain", () => {
    const { bytes, declaredMime } = decodeDataUrl("data:,Hello%2C%20World%21%FF%zz", LIMITS, PARAM);
    assert.deepEqual(
      bytes,
      Buffer.concat([Buffer.from("Hello, World!"), Buffer.from([0xff]), Buffer.from("%zz")]),
    );
    assert.equal(declaredMime, "text/plain");
  });

  test("percent-encoded bytes of a real image", async () => {
    const gif = await readFile(sample("animated-80x80.gif"));
    const encoded = Array.from(gif, (b) => `%${b.toString(16).padStart(2, "0")}`).join("");
    assert.deepEqual(decodeDataUrl(`data:image/gif,${encoded}`, LIMITS, PARAM).bytes, gif);
  });

  test("malformed URLs → 400 invalid_data_url naming the param", () => {
    refusal(() => decodeDataUrl("https://example.com/x.png", LIMITS, PARAM), 400, "invalid_data_url");
    refusal(() => decodeDataUrl("data:image/png;base64", LIMITS, PARAM), 400, "invalid_data_url");
    const bad = refusal(
      () => decodeDataUrl("data:image/png;base64,iVBO$RK", LIMITS, PARAM),
      400,
      "invalid_data_url",
    );
    assert.match(bad.message, /"\$" at character 5/);
    refusal(() => decodeDataUrl("data:image/png;base64,iVBORw0KG", LIMITS, PARAM), 400, "invalid_data_url");
    refusal(() => decodeDataUrl("data:image/png;base64,iV=BOR", LIMITS, PARAM), 400, "invalid_data_url");
  });

  test("oversize base64 → 413 judged from the encoded length, before the data is decoded or even validated", () => {
    const limits = mediaLimits({ maxImageBytes: 1000 });
    // 4000 base64 characters = 3000 bytes; the trailing "!" would be a 400 if the data were decoded first.
    const url = `data:image/png;base64,${"A".repeat(4000)}!`;
    const err = refusal(() => decodeDataUrl(url, limits, PARAM, ["image"]), 413, "file_too_large");
    assert.match(err.message, /3000 bytes|2\.9 KB/);
    assert.match(err.message, /image files may be at most 1000 bytes/);
  });

  test("the applicable limit is the largest among the accepted kinds", () => {
    const limits = mediaLimits({ maxImageBytes: 1000, maxVideoBytes: 5000, maxAudioBytes: 2000 });
    const url = `data:video/mp4;base64,${"A".repeat(4000)}`; // 3000 bytes
    assert.equal(decodeDataUrl(url, limits, PARAM).bytes.length, 3000);
    refusal(() => decodeDataUrl(url, limits, PARAM, ["image", "audio"]), 413, "file_too_large");
  });

  test("whitespace does not count towards the size", () => {
    const limits = mediaLimits({ maxImageBytes: 1000 });
    // 1200 base64 characters (900 bytes) spread over lines: the raw length alone would suggest ~2200 bytes.
    const body = Array.from({ length: 30 }, () => `${"QUJD".repeat(10)}${" ".repeat(60)}\n`).join("");
    assert.equal(decodeDataUrl(`data:image/png;base64,${body}`, limits, PARAM, ["image"]).bytes.length, 900);
  });

  test("oversize percent-encoded data → 413", () => {
    const limits = mediaLimits({ maxImageBytes: 10 });
    refusal(
      () => decodeDataUrl(`data:image/png,${"%41".repeat(11)}`, limits, PARAM, ["image"]),
      413,
      "file_too_large",
    );
    assert.equal(
      decodeDataUrl(`data:image/png,${"%41".repeat(10)}`, limits, PARAM, ["image"]).bytes.length,
      10,
    );
  });
});
