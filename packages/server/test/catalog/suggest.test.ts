import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { DEFAULT_CATALOG } from "../../src/catalog/models.ts";
import { didYouMean, nearestIds } from "../../src/catalog/suggest.ts";

const IDS = DEFAULT_CATALOG.map((m) => m.id);

describe("nearestIds: did you mean", () => {
  const cases: [typed: string, expected: string[]][] = [
    // a missing, an extra, a wrong and two swapped characters
    ["seedance-1-5-pro-with-adio", ["seedance-1-5-pro-with-audio"]],
    ["seedance-1-5-pro-with-audioo", ["seedance-1-5-pro-with-audio"]],
    ["seedance-1-5-pro-no-audiu", ["seedance-1-5-pro-no-audio"]],
    ["grok-imagine-vdieo", ["grok-imagine-video"]],
    ["grok-imagine-video-15", ["grok-imagine-video-1.5"]],
    // case and separators
    ["Seedance-1-5-Pro-With-Audio", ["seedance-1-5-pro-with-audio"]],
    ["seedance-1.5-pro-no-audio", ["seedance-1-5-pro-no-audio"]],
    ["happyhorse-1-0-i2v", ["happyhorse-1.0-i2v"]],
    ["happyhorse_1.0_t2v", ["happyhorse-1.0-t2v"]],
    // shortened ids: every equally close one, in catalog order
    ["seedance-1-0-pro", ["seedance-1-5-pro-with-audio", "seedance-1-5-pro-no-audio"]],
    ["seedance-2-0-720p", ["doubao-seedance-2-0-720p"]],
    ["doubao-seedance-2-0-720", ["doubao-seedance-2-0-720p"]],
    ["grok", ["grok-imagine-video", "grok-imagine-video-1.5", "grok-imagine-video-1.5-lite"]],
    ["happyhorse", ["happyhorse-1.0-i2v", "happyhorse-1.0-t2v", "happyhorse-1.1-t2v"]],
    // nothing close: say nothing
    ["sora-2", []],
    ["gpt-4o", []],
    ["veo-3", []],
    ["kling-v2-1", []],
    ["wan2.1-i2v", []],
    ["stable-video-diffusion", []],
    ["video", []],
    ["audio", []],
    ["pro", []],
    ["x", []],
    ["", []],
    ["seedance-1-5-pro-with-audio".repeat(10), []],
  ];
  for (const [typed, expected] of cases) {
    test(`${JSON.stringify(typed.slice(0, 40))} → ${expected.join(", ") || "nothing"}`, () => {
      assert.deepEqual(nearestIds(typed, IDS), expected);
    });
  }

  test("at most three, all equally close", () => {
    const ids = ["model-a1", "model-a2", "model-a3", "model-a4", "model-b12"];
    assert.deepEqual(nearestIds("model-a", ids), ["model-a1", "model-a2", "model-a3"]);
    assert.deepEqual(nearestIds("model-b1", ids), ["model-b12"]);
  });

  test("didYouMean words the list, and is empty for none", () => {
    assert.equal(didYouMean([]), "");
    assert.equal(didYouMean(["a"]), ' Did you mean "a"?');
    assert.equal(didYouMean(["a", "b"]), ' Did you mean "a" or "b"?');
    assert.equal(didYouMean(["a", "b", "c"]), ' Did you mean "a", "b" or "c"?');
  });
});
