import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type CameraDirection,
  type CameraMove,
  cameraMoveInPrompt,
  citationOrder,
  DEFAULT_SEED,
  directCamera,
  ease,
  effectiveSeed,
  type PlanMedia,
  planTimeline,
  poseAt,
  sequenceFrames,
  speedInPrompt,
  zoomToHideRoll,
} from "../../src/engine/shot-plan.ts";

const PHRASES: Array<[string, CameraMove | undefined]> = [
  ["Slow push-in on the face", "push_in"],
  ["camera pushes in toward the door", "push_in"],
  ["zoom in on the clock", "push_in"],
  ["Dolly in through the window", "push_in"],
  ["A pull-back reveals the city", "pull_back"],
  ["the camera pulls back", "pull_back"],
  ["zoom out to show the valley", "pull_back"],
  ["dolly out from the table", "pull_back"],
  ["pan left across the shelves", "pan_left"],
  ["Panning right over the harbour", "pan_right"],
  ["tilt up to the sky", "tilt_up"],
  ["tilt down to the river", "tilt_down"],
  ["orbit around the statue", "orbit"],
  ["an arc shot of the dancer", "orbit"],
  ["static shot of a bowl", "static"],
  ["locked-off camera, rain falling", "static"],
  ["Locked camera on the lake", "static"],
  ["A cat sleeping in the sun", undefined],
  ["an archway at dusk, the panorama of a zoo", undefined],
];

test("camera language in the prompt maps to moves", () => {
  for (const [prompt, move] of PHRASES) assert.equal(cameraMoveInPrompt(prompt), move, prompt);
});

test("the first camera phrase in the prompt wins", () => {
  assert.equal(cameraMoveInPrompt("pan left, then zoom in"), "pan_left");
  assert.equal(cameraMoveInPrompt("zoom in, then pan left"), "push_in");
});

test("slow/gentle and fast/quick scale the speed", () => {
  assert.ok(speedInPrompt("a slow push-in") < 1);
  assert.ok(speedInPrompt("gently pan left") < 1);
  assert.ok(speedInPrompt("a fast zoom in") > 1);
  assert.ok(speedInPrompt("quick tilt up") > 1);
  assert.equal(speedInPrompt("pan left"), 1);
  const slow = directCamera({ prompt: "slowly zoom in" });
  const fast = directCamera({ prompt: "quickly zoom in" });
  const slowEnd = poseAt(slow, 5, 1, 16 / 9).zoom;
  const fastEnd = poseAt(fast, 5, 1, 16 / 9).zoom;
  assert.ok(fastEnd > slowEnd * 1.1, `fast ${fastEnd} vs slow ${slowEnd}`);
});

test("cameraFixed and static words give no motion at all", () => {
  for (const direction of [
    directCamera({ prompt: "zoom in", cameraFixed: true }),
    directCamera({ prompt: "static" }),
  ]) {
    assert.equal(direction.move, "static");
    for (const u of [0, 0.3, 1])
      assert.deepEqual(poseAt(direction, 5, u, 16 / 9), { cx: 0.5, cy: 0.5, zoom: 1, angle: 0 });
  }
});

test("without camera words the move comes from the seed, deterministically", () => {
  const a = directCamera({ prompt: "a cat", seed: 42 });
  assert.deepEqual(directCamera({ prompt: "a cat", seed: 42 }), a);
  assert.equal(a.fromPrompt, false);
  assert.notEqual(a.move, "static");
  const moves = new Set(
    Array.from({ length: 40 }, (_, seed) => directCamera({ prompt: "a cat", seed }).move),
  );
  assert.ok(moves.size >= 4, `seeds pick varied moves: ${[...moves]}`);
  assert.deepEqual(directCamera({ prompt: "a cat" }), directCamera({ prompt: "a cat", seed: DEFAULT_SEED }));
  assert.equal(effectiveSeed({}), DEFAULT_SEED);
  assert.equal(effectiveSeed({ seed: -1 }), DEFAULT_SEED);
  // Consecutive shots never repeat a move.
  for (let k = 1; k < 6; k++) {
    assert.notEqual(
      directCamera({ prompt: "", seed: 3 }, k).move,
      directCamera({ prompt: "", seed: 3 }, k - 1).move,
    );
  }
});

test("every move keeps the view inside the picture and starts and ends at rest", () => {
  const moves: CameraMove[] = [
    "push_in",
    "pull_back",
    "pan_left",
    "pan_right",
    "tilt_up",
    "tilt_down",
    "orbit",
  ];
  for (const aspect of [21 / 9, 16 / 9, 1, 9 / 16]) {
    for (const move of moves) {
      for (const speed of [0.6, 1, 1.6]) {
        const direction: CameraDirection = { move, speed, fromPrompt: true };
        for (let i = 0; i <= 50; i++) {
          const pose = poseAt(direction, 10, i / 50, aspect);
          assert.ok(pose.zoom >= 1, `${move} zoom ${pose.zoom}`);
          // The rolled view's half-extent must fit around its centre.
          const need = zoomToHideRoll(Math.abs(pose.angle), aspect) / pose.zoom;
          assert.ok(Math.abs(pose.cx - 0.5) <= (1 - need) / 2 + 1e-9, `${move} x ${JSON.stringify(pose)}`);
          assert.ok(Math.abs(pose.cy - 0.5) <= (1 - need) / 2 + 1e-9, `${move} y ${JSON.stringify(pose)}`);
        }
        const start = poseAt(direction, 5, 0, aspect);
        const justAfter = poseAt(direction, 5, 0.001, aspect);
        assert.ok(Math.abs(justAfter.zoom - start.zoom) < 1e-4 && Math.abs(justAfter.cx - start.cx) < 1e-4);
      }
    }
  }
  assert.equal(poseAt({ move: "pan_left", speed: 1, fromPrompt: true }, 5, 0, 16 / 9).cx > 0.5, true);
  assert.equal(poseAt({ move: "pan_left", speed: 1, fromPrompt: true }, 5, 1, 16 / 9).cx < 0.5, true);
  assert.equal(poseAt({ move: "tilt_up", speed: 1, fromPrompt: true }, 5, 1, 16 / 9).cy < 0.5, true);
  assert.ok(poseAt({ move: "orbit", speed: 1, fromPrompt: true }, 5, 1, 16 / 9).angle !== 0);
  assert.ok(ease(0) === 0 && ease(1) === 1 && ease(0.25) < ease(0.5) && ease(0.5) < ease(0.75));
});

const images = (count: number, role = "reference_image"): PlanMedia[] =>
  Array.from({ length: count }, (_, i) => ({ kind: "image" as const, role, index: i + 1 }));

test("citation order first, then uncited by index", () => {
  const media: PlanMedia[] = [...images(4), { kind: "audio", role: "reference_audio", index: 1 }];
  assert.deepEqual(citationOrder(media, "image", ["image3", "audio1", "image1"]), [2, 0, 1, 3]);
  assert.deepEqual(citationOrder(media, "image", []), [0, 1, 2, 3]);
  assert.deepEqual(citationOrder(media, "audio", ["image2"]), [4]);
});

test("sequenceFrames covers every frame with the requested overlaps", () => {
  for (const [frames, count, overlap] of [
    [120, 3, 12],
    [144, 3, 12],
    [48, 5, 3],
    [240, 1, 0],
  ] as const) {
    const shots = sequenceFrames(frames, count, overlap);
    assert.equal(shots[0]!.firstFrame, 0);
    assert.equal(shots.at(-1)!.lastFrame, frames - 1);
    for (let k = 1; k < shots.length; k++) {
      const seam = shots[k - 1]!.lastFrame - shots[k]!.firstFrame + 1;
      assert.ok(Math.abs(seam - overlap) <= 1, `overlap ${seam}`);
    }
  }
});

test("planTimeline picks the shots for each mode", () => {
  const request = { prompt: "x", seconds: 5, citations: [] as string[] };
  const text = planTimeline({ ...request, mode: "text" }, [], 24);
  assert.equal(text.frameCount, 120);
  assert.deepEqual(
    text.shots.map((shot) => shot.source.kind),
    ["title"],
  );

  const firstLast = planTimeline(
    { ...request, mode: "first_last_frame" },
    [
      { kind: "image", role: "first_frame", index: 1 },
      { kind: "image", role: "last_frame", index: 2 },
    ],
    24,
  );
  assert.equal(firstLast.shots.length, 2);
  assert.equal(firstLast.shots[0]!.firstFrame, 0);
  assert.equal(firstLast.shots[1]!.lastFrame, 119);
  // The last image's move ends on the whole picture.
  const last = firstLast.shots[1]!;
  assert.equal(poseAt(last.direction, 3.5, 1, 16 / 9).zoom, 1);
  assert.equal(poseAt(firstLast.shots[0]!.direction, 3.5, 0, 16 / 9).zoom, 1);

  const refs = planTimeline(
    { ...request, mode: "reference", citations: ["image3", "image1"] },
    images(3),
    24,
  );
  assert.deepEqual(
    refs.shots.map((shot) => (shot.source.kind === "image" ? shot.source.mediaIndex : -1)),
    [2, 0, 1],
  );

  const video = planTimeline(
    { ...request, mode: "reference" },
    [{ kind: "video", role: "reference_video", index: 1 }],
    24,
  );
  assert.equal(video.shots[0]!.source.kind, "video");

  const withAudio = planTimeline(
    { ...request, mode: "reference", citations: ["audio2"] },
    [
      { kind: "audio", role: "reference_audio", index: 1 },
      { kind: "audio", role: "reference_audio", index: 2 },
    ],
    24,
  );
  assert.equal(withAudio.audioMediaIndex, 1);
  assert.equal(withAudio.shots[0]!.source.kind, "title");
});

test("keyframes: the clip shows each keyframe alone at its time, after the first frame", () => {
  const media = [
    { kind: "image" as const, role: "first_frame", index: 1 },
    { kind: "image" as const, role: "keyframe", index: 2, at: 2.667 },
    { kind: "image" as const, role: "keyframe", index: 3, at: 1.333 },
  ];
  const plan = planTimeline({ prompt: "a saw", seconds: 4, mode: "first_frame", citations: [] }, media, 24);
  assert.deepEqual(
    plan.shots.map((s) => (s.source.kind === "image" ? s.source.mediaIndex : -1)),
    [0, 2, 1],
    "the first frame, then the keyframes in time order",
  );
  assert.equal(plan.shots[0]!.firstFrame, 0);
  assert.equal(plan.shots.at(-1)!.lastFrame, 95);
  for (const [mediaIndex, at] of [
    [2, 1.333],
    [1, 2.667],
  ] as const) {
    const frame = Math.round(at * 24);
    const showing = plan.shots.filter((s) => s.firstFrame <= frame && frame <= s.lastFrame);
    assert.deepEqual(
      showing.map((s) => (s.source.kind === "image" ? s.source.mediaIndex : -1)),
      [mediaIndex],
      `only keyframe ${mediaIndex} is on screen at ${at} s`,
    );
  }
});
