/**
 * What a submit asks beyond generating from scratch (docs/api.md §3.2): `metadata.operation`
 * (`edit` or `extend`) with its source — `metadata.source_task_id` (a succeeded task of the same
 * account) or one `video_url` entry of role `source_video` — keyframe images (`role: "keyframe"`,
 * `at` seconds) and `metadata.priority`. Each is checked against the model's declaration.
 *
 * Decisions where no contract speaks:
 * - With an operation, a lone video entry without a role is the source (the role may be left out).
 * - An edit keeps the source's length: `seconds` is refused, and the task's seconds become the
 *   source's (rounded up) once the gateway has probed it. An extension's `seconds` are the seconds
 *   added, within the model's `operations.extend.seconds`.
 * - The output follows the source's shape: `ratio` is refused on an operation.
 * - An operation takes its source and nothing else: no frames, references or keyframes beside it.
 */
import type { Operation } from "../domain/request.ts";
import type { Catalog, CatalogModel } from "./models.ts";
import { type Entry, entryPath, OPERATION_ROLES, rolePath } from "./submit-content.ts";
import { alternatives, fail, show } from "./submit-errors.ts";
import { present } from "./submit-json.ts";

const OPERATIONS: readonly Operation[] = ["edit", "extend"];
const TASK_ID = /^task_[A-Za-z0-9]{32}$/;
/** xAI places keyframes on a 1/3 s grid (docs/providers.md §3); a tolerance absorbs 1.333… written short. */
const KEYFRAME_GRID = 3;
const GRID_TOLERANCE = 0.01;

export interface OperationParts {
  operation?: Operation;
  /** `metadata.source_task_id`, checked for shape only (the task service finds it). */
  sourceTaskId?: string;
  /** The `source_video` entry, when the source is given as a URL. */
  source?: Entry;
  keyframes: Entry[];
  /** Every other entry: the frames and references the mode rules read. */
  rest: Entry[];
}

type Json = Record<string, unknown>;

/** Split the operation's parts off the content entries and check them against the model. */
export function readOperation(
  metadata: Json,
  entries: Entry[],
  model: CatalogModel,
  catalog: Catalog,
): OperationParts {
  const operation = readOperationName(metadata.operation);
  const sourceTaskId = readSourceTaskId(metadata.source_task_id);
  if (!operation) {
    if (sourceTaskId) {
      fail(
        "missing_parameter",
        'metadata.source_task_id names the video to edit or extend: add metadata.operation ("edit" or "extend").',
        "metadata.operation",
      );
    }
    const source = entries.find((e) => e.role === "source_video");
    if (source) {
      fail(
        "invalid_role",
        'source_video is the video an edit or extension works on: add metadata.operation ("edit" or "extend"), ' +
          "or use reference_video.",
        rolePath(source),
      );
    }
    return { keyframes: keyframesOf(entries, model, catalog), rest: withoutOperationRoles(entries) };
  }

  if (!model.operations[operation]) {
    const can = catalog
      .list()
      .filter((m) => m.operations[operation])
      .map((m) => m.id);
    fail(
      "unsupported_operation",
      `${model.id} cannot ${operation} videos.` +
        (can.length > 0 ? ` Models that can: ${can.join(", ")}.` : " No model of this gateway can.") +
        " GET /v1/models lists each model's operations.",
      "metadata.operation",
    );
  }
  // A lone video without a role is the source.
  const videos = entries.filter((e) => e.kind === "video");
  if (!sourceTaskId && videos.length === 1 && !videos[0]!.explicitRole) videos[0]!.role = "source_video";
  const sources = entries.filter((e) => e.role === "source_video");
  if (sources.length + (sourceTaskId ? 1 : 0) === 0) {
    fail(
      "missing_parameter",
      `An ${operation} needs its source video: metadata.source_task_id (a succeeded task of yours) or a ` +
        'content entry {"type": "video_url", "video_url": {"url": "…"}, "role": "source_video"}.',
      "metadata.source_task_id",
    );
  }
  if (sources.length + (sourceTaskId ? 1 : 0) > 1) {
    fail(
      "conflicting_parameters",
      `An ${operation} works on one source video; this request names ${sourceTaskId ? "metadata.source_task_id and " : ""}` +
        `${sources.length} source_video entr${sources.length === 1 ? "y" : "ies"}. Keep one.`,
      sourceTaskId ? "metadata.source_task_id" : rolePath(sources[1]!),
    );
  }
  const other = entries.find((e) => e.role !== "source_video");
  if (other) {
    fail(
      "unsupported_by_model",
      `An ${operation} takes its source video and a prompt, nothing else; remove ${entryPath(other)} (a ${other.role}).`,
      entryPath(other),
    );
  }
  return { operation, sourceTaskId, source: sources[0], keyframes: [], rest: [] };
}

/** The task's `seconds` for an operation (an edit's is set from its source later). */
export function operationSeconds(
  body: Json,
  metadata: Json,
  operation: Operation,
  model: CatalogModel,
  readSeconds: (body: Json, model: CatalogModel) => number,
): number {
  if (present(metadata.ratio) || present(body.ratio)) {
    fail(
      "unsupported_by_model",
      `An ${operation} keeps the source video's shape: leave ratio out.`,
      present(metadata.ratio) ? "metadata.ratio" : "ratio",
    );
  }
  if (operation === "edit") {
    const param = present(body.seconds) ? "seconds" : present(body.duration) ? "duration" : null;
    if (param) {
      fail(
        "unsupported_by_model",
        `An edit keeps the source video's length: leave ${param} out (to make it longer, use operation "extend").`,
        param,
      );
    }
    return Math.ceil(model.operations.edit!.maxSourceSeconds);
  }
  // An extension's seconds are the seconds added, within the model's extension range.
  return readSeconds(body, {
    ...model,
    id: `${model.id} (seconds added by an extension)`,
    seconds: model.operations.extend!.seconds,
  });
}

/** `metadata.priority`: a whole number 0–9 (forwarded only to providers that take it). */
export function readPriority(value: unknown): number | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value)) {
    fail(
      "invalid_type",
      `metadata.priority must be a whole number from 0 to 9; got ${show(value)}.`,
      "metadata.priority",
    );
  }
  if (value < 0 || value > 9) {
    fail(
      "out_of_range",
      `metadata.priority must be from 0 (default) to 9; got ${value}.`,
      "metadata.priority",
    );
  }
  return value;
}

/** Keyframes must fit inside the clip, on the provider's grid, each at its own time; checked once seconds are known. */
export function checkKeyframeTimes(keyframes: Entry[], seconds: number): void {
  const seen = new Map<number, Entry>();
  for (const k of keyframes) {
    const param = `${entryPath(k)}.at`;
    if (k.at === undefined) {
      fail(
        "missing_parameter",
        `A keyframe needs "at": its time in seconds, strictly inside the clip (0 < at < ${seconds}).`,
        param,
      );
    }
    if (k.at <= 0 || k.at >= seconds) {
      fail(
        "invalid_keyframe",
        `${param} is ${k.at}; a keyframe must be strictly inside the ${seconds} s clip (0 < at < ${seconds}).`,
        param,
      );
    }
    const step = Math.round(k.at * KEYFRAME_GRID);
    if (Math.abs(k.at * KEYFRAME_GRID - step) > GRID_TOLERANCE * KEYFRAME_GRID) {
      fail(
        "invalid_keyframe",
        `${param} is ${k.at}; keyframes sit on a 1/3 s grid (e.g. ${(step / KEYFRAME_GRID).toFixed(3)}).`,
        param,
      );
    }
    const twin = seen.get(step);
    if (twin) fail("invalid_keyframe", `${entryPath(twin)} and ${entryPath(k)} are at the same time.`, param);
    seen.set(step, k);
  }
}

function keyframesOf(entries: Entry[], model: CatalogModel, catalog: Catalog): Entry[] {
  const keyframes = entries.filter((e) => e.role === "keyframe");
  const stray = entries.find((e) => e.at !== undefined && e.role !== "keyframe");
  if (stray)
    fail(
      "invalid_keyframe",
      `"at" belongs to keyframe entries; ${entryPath(stray)} is a ${stray.role}.`,
      `${entryPath(stray)}.at`,
    );
  if (keyframes.length === 0) return keyframes;
  if (model.keyframes === 0) {
    const alt = alternatives(catalog, model, (m) => m.keyframes > 0);
    fail(
      "unsupported_by_model",
      `${model.id} takes no keyframes.${alt ? ` Models that do: ${alt}.` : ""}`,
      rolePath(keyframes[0]!),
    );
  }
  if (keyframes.length > model.keyframes) {
    fail(
      "invalid_keyframe",
      `${model.id} takes at most ${model.keyframes} keyframes; this request has ${keyframes.length}.`,
      entryPath(keyframes[model.keyframes]!),
    );
  }
  return keyframes;
}

function withoutOperationRoles(entries: Entry[]): Entry[] {
  return entries.filter((e) => !OPERATION_ROLES.includes(e.role));
}

function readOperationName(value: unknown): Operation | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== "string" || !(OPERATIONS as readonly string[]).includes(value)) {
    fail(
      "invalid_value",
      `metadata.operation must be "edit" or "extend"; got ${show(value)}.`,
      "metadata.operation",
    );
  }
  return value as Operation;
}

function readSourceTaskId(value: unknown): string | undefined {
  if (!present(value)) return undefined;
  if (typeof value !== "string" || !TASK_ID.test(value)) {
    fail(
      "invalid_value",
      `metadata.source_task_id must be a task id such as "task_…" (32 letters and digits after task_); got ${show(value)}.`,
      "metadata.source_task_id",
    );
  }
  return value;
}
