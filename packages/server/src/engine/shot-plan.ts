/**
 * Shot planning: turns the request's prompt, seed and media into a list of shots, each a camera
 * move over one picture source. Pure (no I/O), so the same request always yields the same plan.
 */
import type { NormalizedRequest } from "../domain/request.ts";

export type CameraMove =
  | "push_in"
  | "pull_back"
  | "pan_left"
  | "pan_right"
  | "tilt_up"
  | "tilt_down"
  | "orbit"
  | "static";

export interface CameraDirection {
  move: CameraMove;
  /** Multiplier on the move's travel: <1 for slow/gentle, >1 for fast/quick. */
  speed: number;
  /** True when the prompt (or cameraFixed) named the move; false when it was picked from the seed. */
  fromPrompt: boolean;
}

/** Used when the request has no seed, so an unseeded render is still reproducible. */
export const DEFAULT_SEED = 20240531;

// Longer phrases come first so "pull back" is not read as something shorter; every pattern is
// matched on word boundaries against the lower-cased prompt.
const MOVE_PATTERNS: Array<[CameraMove, RegExp]> = [
  ["static", /\b(static|locked[- ]off|locked|fixed camera|still camera|tripod)\b/],
  ["pull_back", /\b(pull(s|ing)?[- ]?back|pull(s|ing)? out|zoom(s|ing)? out|dolly(ing)? out|dolly back)\b/],
  ["push_in", /\b(push(es|ing)?[- ]?in|zoom(s|ing)? in|dolly(ing)? in|dolly forward|move(s)? in)\b/],
  ["orbit", /\b(orbit(s|ing)?|arc(s|ing)?( shot)?|circl(e|es|ing) around)\b/],
  ["pan_left", /\bpan(s|ning)? (to the )?left\b/],
  ["pan_right", /\bpan(s|ning)? (to the )?right\b/],
  ["tilt_up", /\btilt(s|ing)? up\b/],
  ["tilt_down", /\btilt(s|ing)? down\b/],
];

const SLOW_WORDS = /\b(slow|slowly|gentle|gently|subtle|subtly|calm|soft|drifting)\b/;
const FAST_WORDS = /\b(fast|quick|quickly|rapid|rapidly|swift|swiftly|dramatic)\b/;

/** Moves a seed may pick when the prompt names none: all gentle, none static. */
const DEFAULT_MOVES: CameraMove[] = ["push_in", "pull_back", "pan_left", "pan_right", "tilt_up", "orbit"];

/** The first camera move the prompt names, in prompt order, or undefined. */
export function cameraMoveInPrompt(prompt: string): CameraMove | undefined {
  const text = prompt.toLowerCase();
  let best: { move: CameraMove; at: number } | undefined;
  for (const [move, pattern] of MOVE_PATTERNS) {
    const match = pattern.exec(text);
    if (match && (best === undefined || match.index < best.at)) best = { move, at: match.index };
  }
  return best?.move;
}

export function speedInPrompt(prompt: string): number {
  const text = prompt.toLowerCase();
  const slow = SLOW_WORDS.test(text);
  const fast = FAST_WORDS.test(text);
  if (slow && !fast) return 0.6;
  if (fast && !slow) return 1.6;
  return 1;
}

/** Small deterministic PRNG (mulberry32); good enough to pick moves and tones. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function effectiveSeed(request: Pick<NormalizedRequest, "seed">): number {
  const seed = request.seed;
  return seed === undefined || seed < 0 || !Number.isFinite(seed) ? DEFAULT_SEED : Math.floor(seed) >>> 0;
}

/**
 * The camera direction for shot number `shotIndex`. The prompt's camera words (or cameraFixed)
 * apply to every shot; otherwise each shot gets a seed-picked move, never the same move twice in
 * a row so a multi-shot clip does not feel repetitive.
 */
export function directCamera(
  request: Pick<NormalizedRequest, "prompt" | "seed" | "cameraFixed">,
  shotIndex = 0,
): CameraDirection {
  const speed = speedInPrompt(request.prompt);
  if (request.cameraFixed) return { move: "static", speed: 1, fromPrompt: true };
  const named = cameraMoveInPrompt(request.prompt);
  if (named) return { move: named, speed: named === "static" ? 1 : speed, fromPrompt: true };
  const random = seededRandom(effectiveSeed(request));
  let previous: CameraMove | undefined;
  let move: CameraMove = "push_in";
  for (let i = 0; i <= shotIndex; i++) {
    const choices = DEFAULT_MOVES.filter((candidate) => candidate !== previous);
    move = choices[Math.floor(random() * choices.length)] ?? "push_in";
    previous = move;
  }
  return { move, speed: speed * 0.8, fromPrompt: false };
}

/** Where the camera looks at one instant, relative to a source picture cover-cropped to the output shape. */
export interface CameraPose {
  /** Centre of the view, 0..1 across the picture. */
  cx: number;
  cy: number;
  /** 1 shows the whole picture; 2 shows half its width. Always >= 1. */
  zoom: number;
  /** Roll in radians, positive clockwise on screen. */
  angle: number;
}

/** Ease-in-out so every move starts and ends at rest, with no sudden change of speed. */
export function ease(u: number): number {
  const clamped = Math.min(1, Math.max(0, u));
  return (1 - Math.cos(Math.PI * clamped)) / 2;
}

/**
 * Travel of a move over a shot of `seconds`: longer shots travel further, but sub-linearly so a
 * 10 s push-in does not end in a crop of a few pixels.
 */
function travel(direction: CameraDirection, seconds: number): number {
  const lengthFactor = Math.min(1.5, Math.max(0.7, Math.sqrt(seconds / 5)));
  return direction.speed * lengthFactor;
}

/** Smallest zoom at which a view rolled by `angle` still lies inside the picture (no empty corners). */
export function zoomToHideRoll(angle: number, aspect: number): number {
  const cos = Math.abs(Math.cos(angle));
  const sin = Math.abs(Math.sin(angle));
  return Math.max(cos + sin / aspect, cos + sin * aspect);
}

/**
 * The pose at progress u (0..1) of a shot. Every pose keeps the view inside the picture, so no
 * frame ever shows an edge or a background.
 */
export function poseAt(direction: CameraDirection, seconds: number, u: number, aspect: number): CameraPose {
  const amount = travel(direction, seconds);
  const e = ease(u);
  switch (direction.move) {
    case "static":
      return { cx: 0.5, cy: 0.5, zoom: 1, angle: 0 };
    case "push_in":
      return { cx: 0.5, cy: 0.5, zoom: Math.exp(Math.log(1 + 0.16 * amount) * e), angle: 0 };
    case "pull_back":
      return { cx: 0.5, cy: 0.5, zoom: Math.exp(Math.log(1 + 0.16 * amount) * (1 - e)), angle: 0 };
    case "pan_left":
    case "pan_right":
    case "tilt_up":
    case "tilt_down": {
      const zoom = 1 + 0.14 * amount;
      const margin = (1 - 1 / zoom) / 2;
      // The view travels from one side of the picture to the other: panning left moves the view left.
      const offset = margin * (1 - 2 * e);
      const sign = direction.move === "pan_left" || direction.move === "tilt_up" ? 1 : -1;
      const horizontal = direction.move === "pan_left" || direction.move === "pan_right";
      return {
        cx: horizontal ? 0.5 + sign * offset : 0.5,
        cy: horizontal ? 0.5 : 0.5 + sign * offset,
        zoom,
        angle: 0,
      };
    }
    case "orbit": {
      const maxAngle = ((2.2 * Math.PI) / 180) * Math.min(1.6, amount);
      const angle = maxAngle * (2 * e - 1);
      const baseZoom = zoomToHideRoll(maxAngle, aspect) * 1.03;
      const zoom = baseZoom * Math.exp(Math.log(1 + 0.08 * amount) * e);
      // A slight sideways drift makes the roll read as the camera travelling around the subject.
      const margin = (1 - zoomToHideRoll(maxAngle, aspect) / zoom) / 2;
      return { cx: 0.5 + margin * 0.8 * (1 - 2 * e), cy: 0.5, zoom, angle };
    }
  }
}

/** Zoom range a shot will use, so its source can be prepared at a resolution that suits the whole move. */
export function zoomRange(direction: CameraDirection, seconds: number, aspect: number): [number, number] {
  let min = Number.POSITIVE_INFINITY;
  let max = 0;
  for (let i = 0; i <= 32; i++) {
    const { zoom } = poseAt(direction, seconds, i / 32, aspect);
    min = Math.min(min, zoom);
    max = Math.max(max, zoom);
  }
  return [min, max];
}

/** What a shot shows. mediaIndex points into the render input's media array. */
export type ShotSource =
  | { kind: "image"; mediaIndex: number }
  | { kind: "video"; mediaIndex: number }
  | { kind: "title" };

export interface PlannedShot {
  source: ShotSource;
  direction: CameraDirection;
  /** Inclusive frame range; consecutive shots overlap during their cross-dissolve. */
  firstFrame: number;
  lastFrame: number;
}

export interface Timeline {
  fps: number;
  frameCount: number;
  shots: PlannedShot[];
  /** Index into media of the reference audio to use as the soundtrack, if any. */
  audioMediaIndex?: number;
}

export interface PlanMedia {
  kind: "image" | "video" | "audio";
  role: string;
  /** 1-based number within its kind (@image1, @video1, ...). */
  index: number;
  /** A keyframe's time in seconds (role `keyframe`). */
  at?: number;
}

type PlanRequest = Pick<
  NormalizedRequest,
  "prompt" | "seed" | "cameraFixed" | "seconds" | "mode" | "citations"
>;

/** Media of a kind in the order the prompt cites them, then the uncited ones by index. */
export function citationOrder(media: PlanMedia[], kind: PlanMedia["kind"], citations: string[]): number[] {
  const ofKind = media.map((item, position) => ({ item, position })).filter(({ item }) => item.kind === kind);
  const ordered: number[] = [];
  for (const citation of citations) {
    const match = /^([a-z]+)(\d+)$/.exec(citation.toLowerCase());
    if (!match || match[1] !== kind) continue;
    const found = ofKind.find(({ item }) => item.index === Number(match[2]));
    if (found && !ordered.includes(found.position)) ordered.push(found.position);
  }
  const rest = ofKind
    .filter(({ position }) => !ordered.includes(position))
    .sort((a, b) => a.item.index - b.item.index)
    .map(({ position }) => position);
  return [...ordered, ...rest];
}

/** Split frameCount frames into `count` shots overlapping by `overlap` frames, covering every frame. */
export function sequenceFrames(
  frameCount: number,
  count: number,
  overlap: number,
): Array<{ firstFrame: number; lastFrame: number }> {
  const step = (frameCount - overlap) / count;
  return Array.from({ length: count }, (_, k) => ({
    firstFrame: Math.round(k * step),
    lastFrame: k === count - 1 ? frameCount - 1 : Math.round((k + 1) * step + overlap) - 1,
  }));
}

/**
 * The whole clip as shots:
 * - first + last frame: the first image (moving) dissolves through the middle of the clip into the
 *   last image, whose move ends on the full picture;
 * - reference video: the video, cover-cropped and trimmed or looped to length;
 * - reference images: one shot per image in citation order, joined by short dissolves;
 * - a single (first-frame) image: one shot over it;
 * - no pictures: a title card.
 */
export function planTimeline(request: PlanRequest, media: PlanMedia[], fps: number): Timeline {
  const frameCount = Math.max(1, Math.round(request.seconds * fps));
  const audioOrder = citationOrder(media, "audio", request.citations);
  const timeline = (shots: PlannedShot[]): Timeline => ({
    fps,
    frameCount,
    shots,
    ...(audioOrder[0] === undefined ? {} : { audioMediaIndex: audioOrder[0] }),
  });
  const images = media
    .map((item, position) => ({ ...item, position }))
    .filter((item) => item.kind === "image");
  const first = images.find((item) => item.role === "first_frame");
  const last = images.find((item) => item.role === "last_frame");
  const keyframes = images
    .filter((item) => item.role === "keyframe")
    .sort((a, b) => (a.at ?? 0) - (b.at ?? 0));
  if (keyframes.length > 0) return timeline(keyframeShots(request, fps, frameCount, first, keyframes, last));

  if (last && (first || images.length > 1)) {
    const from = first ?? images.find((item) => item !== last)!;
    const named = directCamera(request, 0);
    const fromMove: CameraDirection = named.fromPrompt ? named : { ...named, move: "push_in" };
    const toMove: CameraDirection = named.fromPrompt ? named : { ...named, move: "pull_back" };
    return timeline([
      {
        source: { kind: "image", mediaIndex: from.position },
        direction: fromMove,
        firstFrame: 0,
        lastFrame: Math.max(0, Math.round((frameCount - 1) * 0.7)),
      },
      {
        source: { kind: "image", mediaIndex: last.position },
        direction: toMove,
        firstFrame: Math.min(frameCount - 1, Math.round((frameCount - 1) * 0.3)),
        lastFrame: frameCount - 1,
      },
    ]);
  }

  const videoOrder = citationOrder(media, "video", request.citations);
  if (videoOrder[0] !== undefined) {
    return timeline([
      {
        source: { kind: "video", mediaIndex: videoOrder[0] },
        direction: { move: "static", speed: 1, fromPrompt: false },
        firstFrame: 0,
        lastFrame: frameCount - 1,
      },
    ]);
  }

  if (images.length > 0) {
    const order =
      request.mode === "reference"
        ? citationOrder(media, "image", request.citations)
        : [(first ?? images[0]!).position];
    const overlap = Math.min(Math.round(fps * 0.5), Math.floor((frameCount / order.length) * 0.3));
    return timeline(
      sequenceFrames(frameCount, order.length, order.length > 1 ? overlap : 0).map((frames, k) => ({
        source: { kind: "image", mediaIndex: order[k]! },
        direction: directCamera(request, k),
        ...frames,
      })),
    );
  }

  return timeline([
    {
      source: { kind: "title" },
      // A card reads best with a slow push-in whatever the prompt says about the camera.
      direction: { move: request.cameraFixed ? "static" : "push_in", speed: 0.6, fromPrompt: false },
      firstFrame: 0,
      lastFrame: frameCount - 1,
    },
  ]);
}

/**
 * Keyframes: the clip passes through each image at its time. Each picture holds the screen from its
 * time (0 for the first frame) to the next one's, arriving by a short dissolve that ends on its
 * time; a last frame takes the final third after the last keyframe.
 */
function keyframeShots(
  request: PlanRequest,
  fps: number,
  frameCount: number,
  first: (PlanMedia & { position: number }) | undefined,
  keyframes: Array<PlanMedia & { position: number }>,
  last: (PlanMedia & { position: number }) | undefined,
): PlannedShot[] {
  const end = frameCount - 1;
  const anchors = [
    ...(first ? [{ position: first.position, frame: 0 }] : []),
    ...keyframes.map((k) => ({ position: k.position, frame: Math.min(end, Math.round((k.at ?? 0) * fps)) })),
  ];
  if (last) {
    const from = anchors.at(-1)?.frame ?? 0;
    anchors.push({ position: last.position, frame: Math.round(from + (end - from) * (2 / 3)) });
  }
  const dissolve = Math.max(1, Math.round(fps * 0.4));
  return anchors.map((anchor, k) => ({
    source: { kind: "image", mediaIndex: anchor.position },
    direction: directCamera(request, k),
    firstFrame: k === 0 ? 0 : Math.max(0, anchor.frame - dissolve),
    lastFrame: k === anchors.length - 1 ? end : Math.max(anchor.frame, anchors[k + 1]!.frame - 1),
  }));
}
