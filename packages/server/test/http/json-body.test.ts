import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { describe, test } from "node:test";
import fc from "fast-check";
import { ApiError } from "../../src/domain/errors.ts";
import { type JsonBodyLimits, parseJsonBody, SPOOL_MARKER } from "../../src/http/json-body.ts";
import { spooledDataUrlStream } from "../../src/media/data-url.ts";
import { mediaLimits } from "../../src/media/limits.ts";

const LIMITS: JsonBodyLimits = { maxBytes: 1 << 20, maxInMemoryBytes: 1 << 20, maxDepth: 64 };

/** The text cut into pieces at the given byte offsets (UTF-8 sequences may be split). */
function chunked(text: string, cuts: number[]): Readable {
  const bytes = Buffer.from(text, "utf8");
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    parts.push(bytes.subarray(last, p));
    last = p;
  }
  parts.push(bytes.subarray(last));
  return Readable.from(parts.filter((p) => p.length > 0));
}

async function refusal(text: string, limits: JsonBodyLimits = LIMITS): Promise<ApiError> {
  try {
    await parseJsonBody(chunked(text, []), limits);
  } catch (error) {
    assert.ok(error instanceof ApiError, `not an ApiError: ${error}`);
    return error;
  }
  assert.fail(`accepted: ${text.slice(0, 80)}`);
}

describe("streaming JSON bodies", () => {
  test("parses exactly what JSON.parse parses, however the bytes are cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ maxDepth: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        async (value, cuts) => {
          const text = JSON.stringify(value);
          if (text.includes("\\u0000") || text.includes("__proto__")) return;
          const parsed = await parseJsonBody(chunked(text, cuts), LIMITS);
          assert.deepEqual(parsed.value, JSON.parse(text));
        },
      ),
      { numRuns: 400, seed: 25 },
    );
  });

  test("escapes, surrogate pairs and whitespace", async () => {
    const text =
      ' { "a" : "\\u00e9\\ud83d\\ude00\\n\\"\\/\\\\" , "b":[ 1 , -2.5e3 , true,false , null ] } \n';
    const parsed = await parseJsonBody(chunked(text, [3, 9, 14, 15, 16]), LIMITS);
    assert.deepEqual(parsed.value, JSON.parse(text));
  });

  test("malformed bodies are the contract's invalid_json", async () => {
    for (const text of [
      "",
      "{",
      '{"a":}',
      '{"a" 1}',
      "[1,]",
      "[1 2]",
      '{"a":1}x',
      "tru",
      "01",
      '"a\nb"',
      "{'a':1}",
      '"\\x"',
      // Bare words that name Object.prototype members are not literals either.
      '{"a":toString}',
      "[toLocaleString]",
    ]) {
      const error = await refusal(text);
      assert.equal(error.status, 400, text);
      assert.equal(error.code, "invalid_json", text);
    }
  });

  test("a body nested past the limit is refused without recursion (100,000 levels)", async () => {
    const error = await refusal("[".repeat(100_000));
    assert.equal(error.code, "invalid_json");
    assert.match(error.message, /deeper than 64/);
  });

  test("NUL in a string is refused with the field's path; __proto__ keys are refused", async () => {
    const error = await refusal('{"metadata":{"content":[{"x":1},{"role":"a\\u0000b"}]}}');
    assert.equal(error.code, "invalid_value");
    assert.equal(error.param, "metadata.content[1].role");
    const proto = await refusal('{"__proto__":{"admin":true}}');
    assert.equal(proto.code, "invalid_json");
  });

  test("over the byte limit is 413 body_too_large, before the rest is read", async () => {
    let pulled = 0;
    const endless = new Readable({
      read() {
        pulled++;
        this.push(Buffer.from(`${pulled === 1 ? "[" : ""}"${"x".repeat(65_536)}",`));
      },
    });
    let pulledAtRefusal = 0;
    await assert.rejects(
      parseJsonBody(endless, { ...LIMITS, maxBytes: 1 << 20 }).finally(() => {
        pulledAtRefusal = pulled;
        endless.destroy();
      }),
      (e: ApiError) => e.status === 413 && e.code === "body_too_large",
    );
    assert.ok(pulledAtRefusal < 40, `read ${pulledAtRefusal} chunks of an endless body before refusing`);
    const big = await refusal(`{"prompt":"${"y".repeat(2000)}"}`, { ...LIMITS, maxInMemoryBytes: 1000 });
    assert.equal(big.status, 413);
  });
});

describe("data: URLs spooled to disk", () => {
  test("a long data: URL leaves memory, keeps a stable marker, and decodes back byte-exact", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vidrelay-spool-"));
    const payload = Buffer.alloc(300_000);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 7919) % 251;
    const base64 = payload.toString("base64").replace(/(.{76})/g, "$1\\n");
    const text = `{"metadata":{"content":[{"image_url":{"url":"data:image/png;base64,${base64}"}}]},"prompt":"p"}`;
    const limits = {
      ...LIMITS,
      maxBytes: 1 << 22,
      maxInMemoryBytes: 10_000,
      spool: { dir, afterChars: 4096 },
    };
    const first = await parseJsonBody(chunked(text, [100, 5000, 5001, 70_000]), limits);
    const second = await parseJsonBody(chunked(text, [7]), limits);
    const url = (first.value as { metadata: { content: Array<{ image_url: { url: string } }> } }).metadata
      .content[0]!.image_url.url;
    assert.ok(url.startsWith(`data:image/png;base64,${SPOOL_MARKER}`));
    assert.ok(url.length < 200);
    assert.equal(JSON.stringify(second.value), JSON.stringify(first.value), "same body, same value");
    const spooled = first.spooled.get(url)!;
    const chunks: Buffer[] = [];
    for await (const c of spooledDataUrlStream(spooled, mediaLimits({}), "p", ["image"])) chunks.push(c);
    assert.equal(
      createHash("sha256").update(Buffer.concat(chunks)).digest("hex"),
      createHash("sha256").update(payload).digest("hex"),
    );
    assert.equal((await readFile(spooled.path, "latin1")).includes("\\"), false);
    await first.discard();
    await second.discard();
    assert.equal(existsSync(spooled.path), false);
    assert.deepEqual(await readdir(dir), []);
  });

  test("a refused body leaves no spool behind; bad base64 is invalid_data_url", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vidrelay-spool-"));
    const limits = { ...LIMITS, maxBytes: 50_000, spool: { dir, afterChars: 1000 } };
    await assert.rejects(
      parseJsonBody(chunked(`{"u":"data:image/png;base64,${"A".repeat(60_000)}"}`, []), limits),
    );
    assert.deepEqual(await readdir(dir), []);
    const parsed = await parseJsonBody(
      chunked(`{"u":"data:image/png;base64,${"A".repeat(2000)}*AAA"}`, []),
      limits,
    );
    const [spooled] = parsed.spooled.values();
    await assert.rejects(
      async () => {
        for await (const _ of spooledDataUrlStream(spooled!, mediaLimits({}), "u", ["image"]));
      },
      (e: ApiError) => e.code === "invalid_data_url",
    );
    await parsed.discard();
  });
});
