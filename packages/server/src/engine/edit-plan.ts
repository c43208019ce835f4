/**
 * What an `edit` task asks the local engine to do, read from its prompt. Pure: the same prompt
 * always gives the same plan. The engine recognises a fixed, documented list of edits
 * (EDIT_OPERATIONS); it does not understand arbitrary instructions, and a prompt naming none of
 * them is refused with `unsupported_edit`, whose message lists what it can do.
 *
 * Matching is case-insensitive on word boundaries. A phrase right after a negation ("no blur",
 * "don't reverse it", "without the fade in") is ignored. Operations come back in prompt order,
 * each once; contradictory pairs (slow motion and speed up, brighter and darker, black and white
 * and sepia, two different crops) are refused rather than guessed.
 */
import { invalid } from "../domain/errors.ts";

export const CROP_RATIOS = ["21:9", "16:9", "4:3", "1:1", "3:4", "9:16"] as const;
export type CropRatio = (typeof CROP_RATIOS)[number];

export type EditName =
  | "grayscale"
  | "sepia"
  | "slow_motion"
  | "speed_up"
  | "mirror"
  | "flip_vertical"
  | "crop"
  | "brighter"
  | "darker"
  | "more_contrast"
  | "blur"
  | "reverse"
  | "fade_in"
  | "fade_out";

/** One recognised edit; `ratio` only on `crop`. */
export interface EditStep {
  name: EditName;
  ratio?: CropRatio;
}

export interface EditPlan {
  /** In prompt order, each name once. */
  operations: EditStep[];
  /** A short label per operation, same order ("black and white", "crop to 9:16"). */
  applied: string[];
}

export interface EditOperationInfo {
  name: EditName;
  /** How it is named in `applied` and in messages. */
  label: string;
  /** Phrases that ask for it (each one is recognised; tests check them all). */
  phrases: readonly string[];
  /** What the engine does to the video. */
  does: string;
}

/** The edits the local engine can make, in the order the filter graph applies their kinds. */
export const EDIT_OPERATIONS: readonly EditOperationInfo[] = [
  {
    name: "grayscale",
    label: "black and white",
    phrases: [
      "black and white",
      "grayscale",
      "monochrome",
      "black & white",
      "b&w",
      "greyscale",
      "desaturate",
    ],
    does: "removes all colour",
  },
  { name: "sepia", label: "sepia", phrases: ["sepia", "sepia tone"], does: "brown-tinted old-photo colours" },
  {
    name: "slow_motion",
    label: "slow motion (0.5x)",
    phrases: ["slow motion", "half speed", "slow-motion", "slo-mo", "slowmo", "slow it down", "slower"],
    does: "plays at half speed (twice as long), sound stretched to stay in sync",
  },
  {
    name: "speed_up",
    label: "speed up (2x)",
    phrases: [
      "speed up",
      "time-lapse",
      "speed it up",
      "sped up",
      "faster",
      "fast forward",
      "timelapse",
      "double speed",
      "2x speed",
    ],
    does: "plays at double speed (half as long), sound kept in sync",
  },
  {
    name: "mirror",
    label: "mirror (flip horizontally)",
    phrases: ["mirror", "flip horizontally", "mirrored", "flip it horizontally", "horizontal flip"],
    does: "flips left and right",
  },
  {
    name: "flip_vertical",
    label: "flip vertically",
    phrases: ["upside down", "flip vertically", "flip it vertically", "vertical flip", "upside-down"],
    does: "turns the picture upside down",
  },
  {
    name: "crop",
    label: "crop",
    phrases: [
      ...CROP_RATIOS.map((ratio) => `crop to ${ratio}`),
      "crop to square",
      "square crop",
      "make it square",
    ],
    does: `cuts the centre of the picture to ${CROP_RATIOS.join(", ")} ("square" is 1:1)`,
  },
  {
    name: "brighter",
    label: "brighter",
    phrases: ["brighter", "brighten", "lighter", "increase the brightness"],
    does: "raises brightness",
  },
  {
    name: "darker",
    label: "darker",
    phrases: ["darker", "darken", "dimmer", "reduce the brightness"],
    does: "lowers brightness",
  },
  {
    name: "more_contrast",
    label: "more contrast",
    phrases: ["more contrast", "higher contrast", "increase the contrast", "boost contrast"],
    does: "raises contrast by 30 %",
  },
  {
    name: "blur",
    label: "blur",
    phrases: ["blur", "out of focus", "blurry", "blurred"],
    does: "a soft box blur",
  },
  {
    name: "reverse",
    label: "reverse",
    phrases: ["reverse", "play backwards", "reversed", "backwards", "rewind"],
    does: "plays the clip (and its sound) backwards",
  },
  {
    name: "fade_in",
    label: "fade in",
    phrases: ["fade in", "fade from black", "fade-in", "fade in and out"],
    does: "fades in from black (and silence) over up to 1 s",
  },
  {
    name: "fade_out",
    label: "fade out",
    phrases: ["fade out", "fade to black", "fade-out", "fade in and out"],
    does: "fades out to black (and silence) over up to 1 s",
  },
];

const CROP_VERB = String.raw`\bcrop(?:s|ped|ping)?\b[^.;,!?\d]{0,24}?`;

/**
 * What each operation matches (its phrases above are examples; tests check every one), on word
 * boundaries of the lower-cased prompt.
 */
const PATTERNS: Record<Exclude<EditName, "crop">, RegExp> = {
  grayscale:
    /\bblack[\s-]*(?:and|&|n)[\s-]*white\b|(?<![a-z])b\s*[&/]\s*w(?![a-z])|\bgr[ae]y[\s-]?scale\b|\bmonochrome\b|\bdesaturat(?:e|ed|ion)\b/g,
  sepia: /\bsepia\b/g,
  slow_motion:
    /\bslow[\s-]*mo(?:tion)?\b|\bslo[\s-]*mo\b|\bhalf[\s-]speed\b|\bslow(?:ed)?\s+(?:it\s+|the\s+(?:video|clip)\s+)?down\b|\bslower\b/g,
  speed_up:
    /\bspe(?:e|)d\s+(?:it\s+|the\s+(?:video|clip)\s+)?up\b|\bsped\s+up\b|\bfaster\b|\bfast[\s-]*forward(?:ed)?\b|\btime[\s-]*lapse\b|\bdouble[\s-]speed\b|\b2\s*x\s+speed\b|\btwice\s+as\s+fast\b/g,
  mirror:
    /\bmirror(?:s|ed|ing)?\b|\bflip(?:s|ped|ping)?\s+(?:it\s+|the\s+(?:video|clip|image|picture)\s+)?horizontally\b|\bhorizontal(?:ly)?[\s-]+flip(?:ped)?\b/g,
  flip_vertical:
    /\bflip(?:s|ped|ping)?\s+(?:it\s+|the\s+(?:video|clip|image|picture)\s+)?vertically\b|\bvertical(?:ly)?[\s-]+flip(?:ped)?\b|\bupside[\s-]+down\b/g,
  brighter:
    /\bbright(?:er|en|ened)\b|\blight(?:er|en)\b|\b(?:increase|raise|boost)\s+(?:the\s+)?brightness\b|\bmore\s+bright\b/g,
  darker: /\bdark(?:er|en|ened)\b|\bdimmer\b|\b(?:reduce|lower|decrease)\s+(?:the\s+)?brightness\b/g,
  more_contrast: /\b(?:more|higher|high|stronger|increased?|boost(?:ed)?|add|raise)\s+(?:the\s+)?contrast\b/g,
  blur: /\bblur(?:s|red|ry|ring)?\b|\bout\s+of\s+focus\b|\bsoft[\s-]focus\b/g,
  reverse: /\breverse[sd]?\b|\bbackwards?\b|\brewind\b/g,
  fade_in: /\bfade[sd]?[\s-]*in\b|\bfade[sd]?\s+(?:up\s+)?from\s+black\b/g,
  fade_out: /\bfade[sd]?[\s-]*out\b|\bfade[sd]?\s+to\s+black\b|\bfade[sd]?\s+in\s*(?:and|&|\/)\s*out\b/g,
};

/** "crop to 9:16", "crop it to 4x3": any ratio, so one the engine does not make is refused, not ignored. */
const CROP_TO_RATIO = new RegExp(String.raw`${CROP_VERB}\b(\d{1,3})\s*[:x×]\s*(\d{1,3})(?!\d)`, "g");
const CROP_SQUARE = new RegExp(
  String.raw`${CROP_VERB}\bsquare\b|\bsquare[\s-]+(?:crop|format|aspect|video|frame)\b|\bmake\s+it\s+(?:a\s+)?square\b`,
  "g",
);

/** Pairs the plan refuses: both cannot be done at once. */
const CONTRADICTIONS: ReadonlyArray<[EditName, EditName]> = [
  ["slow_motion", "speed_up"],
  ["brighter", "darker"],
  ["grayscale", "sepia"],
];

/** A negation up to two words before a phrase, not across "and"/"but"/"then" or punctuation. */
const NEGATION = /\b(?:no|not|never|without|don't|dont|avoid)\s+(?:(?!(?:and|but|then|plus)\b)\w+\s+){0,2}$/;

function negated(text: string, at: number): boolean {
  return NEGATION.test(text.slice(Math.max(0, at - 32), at));
}

interface Found {
  at: number;
  step: EditStep;
}

function matchesOf(pattern: RegExp, text: string): RegExpExecArray[] {
  return [...text.matchAll(pattern)].filter((match) => !negated(text, match.index));
}

function findCrops(text: string): Found[] {
  const found: Found[] = [];
  for (const match of matchesOf(CROP_TO_RATIO, text)) {
    const ratio = `${Number(match[1])}:${Number(match[2])}`;
    if (!(CROP_RATIOS as readonly string[]).includes(ratio))
      throw invalid(
        "unsupported_edit",
        `the local engine cannot crop to ${ratio}; it crops to ${CROP_RATIOS.join(", ")} or "square" (1:1)`,
        "prompt",
      );
    found.push({ at: match.index, step: { name: "crop", ratio: ratio as CropRatio } });
  }
  for (const match of matchesOf(CROP_SQUARE, text))
    found.push({ at: match.index, step: { name: "crop", ratio: "1:1" } });
  return found;
}

export function labelOf(step: EditStep): string {
  if (step.name === "crop") return `crop to ${step.ratio}`;
  return EDIT_OPERATIONS.find((op) => op.name === step.name)!.label;
}

/** One line per edit, for messages and docs: `black and white ("black and white", "grayscale", …): removes all colour`. */
export function describeEditOperations(examples = 2): string {
  return EDIT_OPERATIONS.map((op) => {
    const phrases = op.name === "crop" ? ["crop to 9:16", "square crop"] : op.phrases.slice(0, examples);
    return `${op.name === "crop" ? "crop to a ratio" : op.label} (${phrases.map((p) => `"${p}"`).join(", ")}): ${op.does}`;
  }).join("; ");
}

/**
 * The edits a prompt asks for.
 * @throws ApiError 400 `unsupported_edit` (param `prompt`) when it names none, names a crop ratio
 * the engine does not make, or names two edits that contradict each other.
 */
export function planEdit(prompt: string): EditPlan {
  const text = prompt.toLowerCase().replace(/[’‘]/g, "'");
  const found: Found[] = findCrops(text);
  for (const op of EDIT_OPERATIONS) {
    if (op.name === "crop") continue;
    for (const match of matchesOf(PATTERNS[op.name], text))
      found.push({ at: match.index, step: { name: op.name } });
  }
  const order = (name: EditName) => EDIT_OPERATIONS.findIndex((op) => op.name === name);
  found.sort((a, b) => a.at - b.at || order(a.step.name) - order(b.step.name));

  const operations: EditStep[] = [];
  for (const { step } of found) {
    const same = operations.find((kept) => kept.name === step.name);
    if (!same) operations.push(step);
    else if (same.ratio !== step.ratio)
      throw invalid(
        "unsupported_edit",
        `the prompt asks to crop to both ${same.ratio} and ${step.ratio}; ask for one ratio`,
        "prompt",
      );
  }
  if (operations.length === 0)
    throw invalid(
      "unsupported_edit",
      "the local engine found no edit it can make in the prompt (it is not a generative model). " +
        `It can do: ${describeEditOperations()}.`,
      "prompt",
    );
  for (const [a, b] of CONTRADICTIONS) {
    const first = operations.find((step) => step.name === a);
    const second = operations.find((step) => step.name === b);
    if (first && second)
      throw invalid(
        "unsupported_edit",
        `the prompt asks for both "${labelOf(first)}" and "${labelOf(second)}", which contradict each other; ask for one`,
        "prompt",
      );
  }
  return { operations, applied: operations.map(labelOf) };
}
