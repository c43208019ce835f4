/**
 * Validation and normalization of `POST /v1/video/generations` bodies (docs/api.md §3) against the catalog.
 *
 * `normalizeSubmit` turns a parsed JSON body into the `NormalizedRequest` every provider receives,
 * or throws the contract's `ApiError` (400, or 404 for an unknown model) with `param` as a JSON path
 * into the request (codes: submit-errors.ts). This file is the order of the checks; the checks live
 * beside it: submit-params.ts (scalar fields), submit-content.ts (metadata.content[] and roles),
 * submit-citations.ts (@image1 … in the prompt), submit-mode.ts (the mode and the model's limits),
 * submit-operation.ts (edit and extend, keyframes, priority).
 * The checks that need the media itself are in media-facts.ts (`checkMediaFacts`), run once the
 * media layer has fetched or probed it.
 *
 * Decision where the contract is silent: vendor parameters the model does not support are
 * type-checked, then dropped (not forwarded, not echoed). The echo carries ratio, resolution and
 * generate_audio always (effective values) and seed / watermark / camera_fixed / return_last_frame
 * only when sent and supported, and `fit` whenever the first frame is conformed (its effective value).
 */
import type {
  Fit,
  NormalizedMedia,
  NormalizedRequest,
  Operation,
  Ratio,
  Resolution,
} from "../domain/request.ts";
import type { Catalog, CatalogModel } from "./models.ts";
import { RATIOS, RESOLUTIONS } from "./models.ts";
import { readCitations } from "./submit-citations.ts";
import { checkRoleRules, readContent } from "./submit-content.ts";
import { fail, show } from "./submit-errors.ts";
import { isObject, present } from "./submit-json.ts";
import { applyModel } from "./submit-mode.ts";
import {
  checkKeyframeTimes,
  type OperationParts,
  operationSeconds,
  readOperation,
  readPriority,
} from "./submit-operation.ts";
import {
  readBoolean,
  readCallbackUrl,
  readChoice,
  readDeadline,
  readFit,
  readGenerateAudio,
  readMetadata,
  readPrompt,
  readSeconds,
  readSeed,
} from "./submit-params.ts";

/** The task object's `metadata` (docs/api.md §4): the request's vendor parameters after defaults. */
export type MetadataEcho = {
  ratio: Ratio;
  resolution: Resolution;
  generate_audio: boolean;
  seed?: number;
  watermark?: boolean;
  camera_fixed?: boolean;
  return_last_frame?: boolean;
  fit?: Fit;
  priority?: number;
  operation?: Operation;
  source_task_id?: string;
  /** An edit's or extension's source length in seconds, when the gateway could probe it. */
  source_seconds?: number;
  /** A local-engine edit: the edits it recognised in the prompt and applies, in order. */
  edits?: string[];
  deadline_seconds?: number;
};

/**
 * Vendor parameters forwarded to the provider (and echoed) only when sent and the model's
 * `passThrough` allows them: the request's field name, then the echo's.
 */
const PASS_THROUGH = [
  ["seed", "seed"],
  ["watermark", "watermark"],
  ["cameraFixed", "camera_fixed"],
  ["returnLastFrame", "return_last_frame"],
  ["priority", "priority"],
] as const satisfies ReadonlyArray<readonly [keyof NormalizedRequest, keyof MetadataEcho]>;

export interface NormalizedSubmit {
  request: NormalizedRequest;
  /** `metadata.callback_url`, syntactically checked (absolute http/https); the SSRF check is elsewhere. */
  callbackUrl: string | null;
  /** An edit's or extension's source given as a task id (the task service resolves it to a video). */
  sourceTaskId?: string;
  metadataEcho: MetadataEcho;
}

/**
 * Validate a submit body against the catalog and normalize it.
 * @throws ApiError 404 `model_not_found` (param `model`) or 400 `invalid_request_error`.
 */
export function normalizeSubmit(body: unknown, catalog: Catalog): NormalizedSubmit {
  if (!isObject(body)) {
    fail(
      "invalid_body",
      `The request body must be a JSON object such as {"model": "…", "prompt": "…"}; got ${show(body)}.`,
      null,
    );
  }

  // model
  if (!present(body.model)) {
    fail("missing_parameter", "model is required. GET /v1/models lists the models you can use.", "model");
  }
  if (typeof body.model !== "string" || body.model.trim() === "") {
    fail(
      "invalid_type",
      `model must be a model id string, e.g. "${catalog.ids()[0]}"; got ${show(body.model)}.`,
      "model",
    );
  }
  const model = catalog.requireEnabled(body.model);

  if (present(body.callback_url)) {
    fail(
      "misplaced_parameter",
      "callback_url belongs inside metadata: send it as metadata.callback_url, not at the top level.",
      "callback_url",
    );
  }

  const metadata = readMetadata(body.metadata);
  const prompt = readPrompt(body.prompt, model); // required or not depends on the media, below

  const entries = readContent(metadata.content);
  const parts = readOperation(metadata, entries, model, catalog);
  const seconds = parts.operation
    ? operationSeconds(body, metadata, parts.operation, model, readSeconds)
    : readSeconds(body, model);
  checkKeyframeTimes(parts.keyframes, seconds);
  const ratioInput = readChoice(body, metadata, "ratio", RATIOS, model.ratios, model);
  const resolution =
    readChoice(body, metadata, "resolution", RESOLUTIONS, model.resolutions, model) ??
    model.defaultResolution;
  const generateAudio = readGenerateAudio(metadata.generate_audio, model, catalog);

  const seed = readSeed(metadata.seed, model);
  const watermark = readBoolean(metadata.watermark, "watermark");
  const cameraFixed = readBoolean(metadata.camera_fixed, "camera_fixed");
  const returnLastFrame = readBoolean(metadata.return_last_frame, "return_last_frame");
  const callbackUrl = readCallbackUrl(metadata.callback_url);
  const fit = readFit(metadata.fit, model, catalog);
  const priority = readPriority(metadata.priority);
  const deadlineSeconds = readDeadline(metadata.deadline_seconds);

  checkRoleRules(parts.rest, model.references.audioOnly);
  const citations = readCitations(prompt, entries);
  const mode = parts.operation ? "text" : applyModel(parts.rest, model, catalog);

  if (mode === "text" && prompt.trim() === "") {
    fail(
      "missing_parameter",
      parts.operation
        ? `prompt is required: say what the ${parts.operation === "edit" ? "edit changes" : "continuation shows"}.`
        : "prompt is required when metadata.content has no media (text-to-video). Describe the video to generate.",
      "prompt",
    );
  }

  const ratio =
    ratioInput ??
    (parts.operation && model.ratios.includes("adaptive")
      ? "adaptive"
      : mode === "text" && !parts.operation
        ? model.defaultRatio
        : model.defaultRatioWithMedia);
  const pass = model.passThrough;
  const content: NormalizedMedia[] = entries.map((e) => ({
    kind: e.kind,
    role: e.role,
    index: e.index,
    position: e.position,
    url: e.url,
    // Snapped to the grid the provider uses (1.333 means 4/3): checkKeyframeTimes allowed the rounding.
    ...(e.role === "keyframe" && e.at !== undefined ? { at: Math.round(e.at * 3) / 3 } : {}),
  }));

  const request: NormalizedRequest = {
    model: model.id,
    mode,
    prompt,
    seconds,
    ratio,
    resolution,
    generateAudio,
    content,
    citations,
  };
  const metadataEcho: MetadataEcho = { ratio, resolution, generate_audio: generateAudio };
  const vendor = { seed, watermark, cameraFixed, returnLastFrame, priority, deadlineSeconds };
  applyOptions(request, metadataEcho, pass, vendor, parts);
  // The model follows its first frame: a fixed ratio is honoured by conforming that image.
  if (model.firstFrameFit && ratio !== "adaptive" && content.some((m) => m.role === "first_frame")) {
    request.fit = fit ?? "crop";
    metadataEcho.fit = request.fit;
  }
  return {
    request,
    callbackUrl,
    metadataEcho,
    ...(parts.sourceTaskId ? { sourceTaskId: parts.sourceTaskId } : {}),
  };
}

/** Vendor parameters the model forwards, the deadline and the operation, onto the request and its echo. */
function applyOptions(
  request: NormalizedRequest,
  echo: MetadataEcho,
  pass: CatalogModel["passThrough"],
  vendor: Pick<
    NormalizedRequest,
    "seed" | "watermark" | "cameraFixed" | "returnLastFrame" | "priority" | "deadlineSeconds"
  >,
  parts: OperationParts,
): void {
  if (vendor.deadlineSeconds !== undefined) {
    request.deadlineSeconds = vendor.deadlineSeconds;
    echo.deadline_seconds = vendor.deadlineSeconds;
  }
  for (const [name, echoName] of PASS_THROUGH) {
    const value = vendor[name];
    if (value === undefined || !pass[name]) continue;
    Object.assign(request, { [name]: value });
    Object.assign(echo, { [echoName]: value });
  }
  if (parts.operation) {
    request.operation = parts.operation;
    echo.operation = parts.operation;
    if (parts.sourceTaskId) echo.source_task_id = parts.sourceTaskId;
  }
}
