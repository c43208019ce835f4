/**
 * The OpenAI-compatible door (OpenAI's Videos API) over the same tasks as the RelayDance routes:
 * a create becomes a RelayDance submit (same validation, billing, routing, webhooks and engine),
 * and a task made through either door is read through both. Errors keep the contract's JSON,
 * which is OpenAI's error shape; their `param` names the OpenAI field (`size`, `input_reference`).
 */
import type { Readable } from "node:stream";
import type { Catalog, CatalogModel } from "../catalog/models.ts";
import type { ChannelRouting } from "../channels/routing.ts";
import { ApiError, invalid } from "../domain/errors.ts";
import type { Owner } from "../domain/owner.ts";
import { nearestRatio } from "../domain/pixels.ts";
import type { Operation } from "../domain/request.ts";
import type { FileService } from "../files/service.ts";
import { ownerOf, type Principal } from "../keys/auth.ts";
import type { FileRow, TaskRow } from "../store/schema.ts";
import { metadataOf, requestOf, videoOf } from "../store/task-columns.ts";
import type { TaskService } from "../tasks/service.ts";
import { unixSeconds } from "../util/ids.ts";
import type { OpenAiVideo, VideoCreateBody, VideoOperationBody } from "./schemas.ts";
import { parseSize, type SizeChoice, sizeOf, sizesFor, sizeText } from "./sizes.ts";

export interface OpenAiVideoDeps {
  catalog: Catalog;
  tasks: TaskService;
  files: FileService;
  /** Which models this key can reach (an edit with no model goes to the first that can). */
  routing: Pick<ChannelRouting, "plan">;
}

/** The video an edit or extension works on: an upload, or a completed video's id. */
export type VideoSource = { kind: "stored"; file: FileRow } | { kind: "id"; id: string };

/** The input reference as it arrived: a file part, or the JSON forms. */
export type InputReference =
  | { kind: "stored"; file: FileRow }
  | { kind: "image_url"; url: string }
  | { kind: "file_id"; id: string };

const STATUS: Record<TaskRow["status"], OpenAiVideo["status"]> = {
  submitted: "queued",
  running: "in_progress",
  succeeded: "completed",
  failed: "failed",
};

export class OpenAiVideos {
  constructor(private readonly deps: OpenAiVideoDeps) {}

  async create(
    principal: Principal,
    body: Omit<VideoCreateBody, "input_reference">,
    reference: InputReference | undefined,
    idempotencyKey?: string,
  ): Promise<TaskRow> {
    const model = this.deps.catalog.requireEnabled(body.model);
    // Checked before an upload is stored, so a bad size costs no file.
    const asked = body.size === undefined ? undefined : parseSize(body.size, model);
    const image = reference ? await this.referenceFile(principal, reference) : undefined;
    const size = asked ?? defaultSize(model, image?.file);
    const content = image ? [this.contentEntry(model, image)] : [];
    const submit = {
      model: model.id,
      prompt: body.prompt,
      ...(body.seconds === undefined ? {} : { seconds: String(body.seconds) }),
      metadata: { ratio: size.ratio, resolution: size.resolution, ...(content.length ? { content } : {}) },
    };
    const { task } = await renamingParams(() => this.deps.tasks.submit(principal, submit, idempotencyKey));
    return task;
  }

  /** Store a multipart `input_reference` (sniffed and limited like any upload). */
  storeUpload(principal: Principal, stream: Readable, filename: string): Promise<FileRow> {
    return this.deps.files.create(ownerOf(principal), stream, filename, "input_reference");
  }

  /** Store a multipart `video` (the source of an edit or extension). */
  storeSource(principal: Principal, stream: Readable, filename: string): Promise<FileRow> {
    return this.deps.files.create(ownerOf(principal), stream, filename, "video");
  }

  /**
   * An edit or extension as a RelayDance submit (docs/api.md §3.2). The model: the one asked for,
   * else the source video's when it can, else the first model this key can reach that can.
   */
  async operate(
    principal: Principal,
    operation: Operation,
    body: VideoOperationBody,
    source: VideoSource | undefined,
    idempotencyKey?: string,
  ): Promise<TaskRow> {
    if (!source) {
      throw invalid(
        "missing_parameter",
        `video is required: the video to ${operation} ({"id": "task_…"} or a file)`,
        "video",
      );
    }
    const sourceTask = source.kind === "id" ? await this.get(ownerOf(principal), source.id) : undefined;
    const model = await this.operationModel(principal, operation, body.model, sourceTask);
    const size = body.size === undefined ? undefined : parseSize(body.size, model);
    const metadata = {
      operation,
      ...(size ? { resolution: size.resolution } : {}),
      ...(sourceTask
        ? { source_task_id: sourceTask.id }
        : source.kind === "stored"
          ? {
              content: [
                {
                  type: "video_url",
                  video_url: { url: this.deps.files.urlOf(source.file) },
                  role: "source_video",
                },
              ],
            }
          : {}),
    };
    const submit = {
      model: model.id,
      prompt: body.prompt,
      ...(body.seconds === undefined ? {} : { seconds: String(body.seconds) }),
      metadata,
    };
    try {
      return (await this.deps.tasks.submit(principal, submit, idempotencyKey)).task;
    } catch (error) {
      // The source's errors name `video`; a refused operation names the model when one was asked for.
      if (error instanceof ApiError && error.param?.startsWith("metadata.content"))
        throw renamed(error, { [error.param]: "video" });
      throw renamed(error, { "metadata.operation": body.model ? "model" : "video" });
    }
  }

  private async operationModel(
    principal: Principal,
    operation: Operation,
    asked: string | undefined,
    source: TaskRow | undefined,
  ): Promise<CatalogModel> {
    if (asked) {
      try {
        return this.deps.catalog.requireEnabled(asked);
      } catch (error) {
        throw renamed(error);
      }
    }
    const own = source && this.deps.catalog.get(source.model);
    if (own?.operations[operation] && this.deps.catalog.isEnabled(own.id)) return own;
    const testMode = principal.key.test_mode === 1;
    for (const model of this.deps.catalog.list()) {
      if (model.operations[operation] && (await this.deps.routing.plan(model.id, testMode))) return model;
    }
    throw invalid(
      "unsupported_operation",
      `no model this key can use can ${operation} videos; GET /v1/models lists each model's operations`,
      "video",
    );
  }

  /** A new task with the source's inputs and parameters and a new prompt. */
  async remix(principal: Principal, id: string, prompt: string, idempotencyKey?: string): Promise<TaskRow> {
    const source = await this.get(ownerOf(principal), id);
    const request = requestOf(source);
    const echo = metadataOf(source);
    const content = request.content.map((m) => ({
      type: `${m.kind}_url`,
      [`${m.kind}_url`]: { url: m.url },
      role: m.role,
    }));
    const submit = {
      model: source.model,
      prompt,
      seconds: String(source.seconds),
      metadata: { ...echo, ...(content.length ? { content } : {}) },
    };
    const { task } = await renamingParams(() =>
      this.deps.tasks.submit(principal, submit, idempotencyKey, { remixedFrom: source.id }),
    );
    return task;
  }

  async get(owner: Owner, id: string): Promise<TaskRow> {
    try {
      return await this.deps.tasks.get(owner, id);
    } catch (error) {
      throw renamed(error, { task_id: "video_id" });
    }
  }

  /** Deletes the stored video, thumbnail and last frame; the task then is gone from both APIs. */
  async delete(owner: Owner, id: string): Promise<TaskRow> {
    try {
      return await this.deps.tasks.delete(owner, id);
    } catch (error) {
      throw renamed(error, { task_id: "video_id" });
    }
  }

  toOpenAi(task: TaskRow): OpenAiVideo {
    const echo = metadataOf(task) as {
      ratio?: string;
      resolution?: string;
      operation?: string;
      source_seconds?: number;
    };
    const video = videoOf(task);
    const fixed =
      echo.ratio && echo.resolution
        ? sizeOf(echo.ratio as Parameters<typeof sizeOf>[0], echo.resolution as Parameters<typeof sizeOf>[1])
        : null;
    return {
      id: task.id,
      object: "video",
      model: task.model,
      status: STATUS[task.status],
      progress: task.status === "succeeded" ? 100 : task.progress,
      prompt: task.prompt || null,
      seconds: String(openAiSeconds(task, echo, video)),
      size: video ? sizeText(video) : (fixed ?? "auto"),
      created_at: unixSeconds(task.created_at)!,
      completed_at: unixSeconds(task.completed_at) ?? null,
      expires_at: unixSeconds(task.expires_at) ?? null,
      remixed_from_video_id: task.remixed_from,
      error:
        task.status === "failed"
          ? { code: task.error_code ?? "failed", message: task.error_message ?? "the video failed" }
          : null,
    };
  }

  private async referenceFile(
    principal: Principal,
    reference: InputReference,
  ): Promise<{ file?: FileRow; url: string; kind: "image" | "video" }> {
    if (reference.kind === "image_url") return { url: reference.url, kind: "image" };
    const file =
      reference.kind === "stored"
        ? reference.file
        : await this.deps.files.get(ownerOf(principal), reference.id).catch((error: unknown) => {
            throw renamed(error, { file_id: "input_reference.file_id" });
          });
    if (file.kind === "audio")
      throw invalid(
        "invalid_input_reference",
        "input_reference must be an image (or a video), not audio",
        "input_reference",
      );
    return { file, url: this.deps.files.urlOf(file), kind: file.kind };
  }

  private contentEntry(model: CatalogModel, media: { url: string; kind: "image" | "video" }) {
    if (media.kind === "image") {
      if (model.modes.includes("first_frame"))
        return { type: "image_url", image_url: { url: media.url }, role: "first_frame" };
      if (model.references.images > 0)
        return { type: "image_url", image_url: { url: media.url }, role: "reference_image" };
    } else if (model.references.videos > 0) {
      return { type: "video_url", video_url: { url: media.url }, role: "reference_video" };
    }
    throw invalid(
      "input_reference_not_supported",
      `${model.id} takes no ${media.kind} input; use a model whose modes in GET /v1/models include first_frame or reference`,
      "input_reference",
    );
  }
}

/**
 * An extension's `seconds` is the stitched total (OpenAI's shape): the finished video's length, or
 * the source's plus the seconds added while it runs. Anything else: the task's seconds.
 */
function openAiSeconds(
  task: TaskRow,
  echo: { operation?: string; source_seconds?: number },
  video: ReturnType<typeof videoOf>,
): number {
  if (echo.operation !== "extend") return task.seconds;
  if (video?.duration) return Math.round(video.duration);
  return task.seconds + Math.round(echo.source_seconds ?? 0);
}

/** No size asked: the model's default resolution, shaped like the image when the model has that ratio. */
function defaultSize(model: CatalogModel, image: FileRow | undefined): SizeChoice {
  const choices = sizesFor(model).filter((c) => c.resolution === model.defaultResolution);
  const wanted =
    image?.width && image.height
      ? nearestRatio(image.width, image.height)
      : image
        ? model.defaultRatioWithMedia
        : model.defaultRatio;
  const found = choices.find((c) => c.ratio === wanted) ?? choices[0];
  if (!found) throw invalid("unsupported_size", `${model.id} makes no fixed frame size`, "size");
  return found;
}

/** The RelayDance field names in errors become the OpenAI ones the client sent. */
const PARAMS: Array<[RegExp, string]> = [
  [/^metadata\.(ratio|resolution)$/, "size"],
  [/^metadata\.source_task_id$/, "video"],
  [/^metadata\.content(\[\d+\])?(\..*)?$/, "input_reference"],
  [/^task_id$/, "video_id"],
];

async function renamingParams<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw renamed(error);
  }
}

function renamed(error: unknown, extra: Record<string, string> = {}): unknown {
  if (!(error instanceof ApiError) || !error.param) return error;
  const to = extra[error.param] ?? PARAMS.find(([pattern]) => pattern.test(error.param!))?.[1] ?? error.param;
  if (to === error.param) return error;
  return new ApiError(error.status, error.type, error.code, error.message, to, error.headers);
}
