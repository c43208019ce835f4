import assert from "node:assert/strict";
import { test } from "node:test";
import { ApiError } from "../../src/domain/errors.ts";
import {
  CROP_RATIOS,
  describeEditOperations,
  EDIT_OPERATIONS,
  type EditName,
  planEdit,
} from "../../src/engine/edit-plan.ts";

const names = (prompt: string) => planEdit(prompt).operations.map((step) => step.name);

function refusal(prompt: string): ApiError {
  try {
    planEdit(prompt);
  } catch (error) {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
    assert.equal(error.status, 400);
    assert.equal(error.code, "unsupported_edit");
    assert.equal(error.param, "prompt");
    return error;
  }
  return assert.fail(`"${prompt}" was not refused`);
}

test("every documented phrase asks for its edit, and only that kind of edit", () => {
  for (const op of EDIT_OPERATIONS) {
    assert.ok(op.phrases.length > 0 && op.does.length > 0, op.name);
    for (const phrase of op.phrases) {
      const got = names(phrase);
      assert.ok(got.includes(op.name), `"${phrase}" → ${got.join(", ")} (expected ${op.name})`);
      // "fade in and out" is the one phrase that names two edits.
      const expected: EditName[] = phrase === "fade in and out" ? ["fade_in", "fade_out"] : [op.name];
      assert.deepEqual(got, expected, `"${phrase}"`);
    }
  }
});

test("phrases are found inside sentences, in any case, with their inflections", () => {
  assert.deepEqual(names("Please make the whole thing BLACK AND WHITE."), ["grayscale"]);
  assert.deepEqual(names("Can you Mirror it?"), ["mirror"]);
  assert.deepEqual(names("turn it into slow-motion footage"), ["slow_motion"]);
  assert.deepEqual(names("a timelapse version"), ["speed_up"]);
  assert.deepEqual(names("it should be flipped vertically"), ["flip_vertical"]);
  assert.deepEqual(names("make it a bit brighter"), ["brighter"]);
  assert.deepEqual(names("Darken the shot"), ["darker"]);
  assert.deepEqual(names("add more contrast please"), ["more_contrast"]);
  assert.deepEqual(names("blurred background look"), ["blur"]);
  assert.deepEqual(names("play it backwards"), ["reverse"]);
  assert.deepEqual(names("fades out at the end"), ["fade_out"]);
  assert.deepEqual(names("fade to black"), ["fade_out"]);
});

test("no edit is found in words that merely contain a phrase", () => {
  for (const prompt of [
    "a blurb",
    "the reversal of fortune",
    "sepiatone",
    "darkness",
    "in fading light",
    "cropland",
  ]) {
    const error = refusal(prompt);
    assert.match(error.message, /found no edit/);
  }
});

test("crop: each ratio, 'x' for ':', square, and a ratio the engine does not make is refused", () => {
  for (const ratio of CROP_RATIOS) {
    assert.deepEqual(planEdit(`crop to ${ratio}`).operations, [{ name: "crop", ratio }]);
    assert.deepEqual(planEdit(`crop to ${ratio}`).applied, [`crop to ${ratio}`]);
  }
  assert.deepEqual(planEdit("Crop it to a vertical 9x16 frame").operations, [
    { name: "crop", ratio: "9:16" },
  ]);
  assert.deepEqual(planEdit("cropped to 4 : 3").operations, [{ name: "crop", ratio: "4:3" }]);
  for (const prompt of ["crop to square", "crop it square", "square crop", "make it square"])
    assert.deepEqual(planEdit(prompt).operations, [{ name: "crop", ratio: "1:1" }], prompt);
  const error = refusal("crop to 5:4");
  assert.match(error.message, /cannot crop to 5:4/);
  for (const ratio of CROP_RATIOS) assert.ok(error.message.includes(ratio), ratio);
  // A ratio without the word crop is no edit.
  refusal("a 9:16 video");
});

test("combinations come back in prompt order, each once, with their labels", () => {
  const plan = planEdit("Mirror it, then black and white, crop to 9:16, mirror again and fade in and out");
  assert.deepEqual(
    plan.operations.map((step) => step.name),
    ["mirror", "grayscale", "crop", "fade_in", "fade_out"],
  );
  assert.deepEqual(plan.applied, [
    "mirror (flip horizontally)",
    "black and white",
    "crop to 9:16",
    "fade in",
    "fade out",
  ]);
  assert.deepEqual(names("reverse, sepia, slow motion, blur, upside down, darker, more contrast"), [
    "reverse",
    "sepia",
    "slow_motion",
    "blur",
    "flip_vertical",
    "darker",
    "more_contrast",
  ]);
  assert.deepEqual(names("crop to 16:9 and crop to 16:9"), ["crop"]);
});

test("a negated phrase is ignored, but not past 'and' or a comma", () => {
  assert.deepEqual(names("no blur, just reverse it"), ["reverse"]);
  assert.deepEqual(names("without the fade in, make it sepia"), ["sepia"]);
  assert.deepEqual(names("don't blur and reverse it"), ["reverse"]);
  assert.deepEqual(names("Don’t make it blurry; mirror"), ["mirror"]);
  refusal("do not blur it");
});

test("contradictions are refused, naming both edits", () => {
  for (const [prompt, a, b] of [
    ["slow motion and then speed up", "slow motion", "speed up"],
    ["brighter but darker", "brighter", "darker"],
    ["black and white sepia", "black and white", "sepia"],
  ] as const) {
    const error = refusal(prompt);
    assert.ok(error.message.includes(a) && error.message.includes(b), error.message);
    assert.match(error.message, /contradict/);
  }
  const crops = refusal("crop to 9:16 then crop to 16:9");
  assert.match(crops.message, /9:16 and 16:9/);
});

test("a prompt naming no edit is refused with the list of what the engine can do", () => {
  const error = refusal("A cat riding a skateboard through Paris at sunset");
  assert.match(error.message, /not a generative model/);
  for (const op of EDIT_OPERATIONS) {
    const label = op.name === "crop" ? "crop to a ratio" : op.label;
    assert.ok(error.message.includes(label), `message lists ${label}`);
  }
  assert.ok(error.message.includes(describeEditOperations()));
  refusal("");
});
