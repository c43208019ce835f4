/**
 * The engine's entry for a task: a generation (renderClip), an `edit` (renderEdit over the plan
 * read from the prompt) or an `extend` (renderExtension by `request.seconds`), by
 * `request.operation`. The source of an edit or extension is the `source_video` entry of the
 * request's media, already a local file. Every path writes the same outputs (OUTPUT_NAMES).
 */
import { invalid } from "../domain/errors.ts";
import { renderEdit } from "./edit.ts";
import { planEdit } from "./edit-plan.ts";
import { renderExtension } from "./extend.ts";
import { renderClip } from "./render.ts";
import type { RenderInput, RenderResult } from "./types.ts";

/**
 * Render a task's request.
 * @throws ApiError (a refusal retrying cannot change: no edit in the prompt, a source the engine
 * cannot take) — the caller fails the task with its code.
 */
export async function renderTask(input: RenderInput): Promise<RenderResult> {
  const { request, workDir, signal, onProgress } = input;
  if (!request.operation) return renderClip(input);
  const source = input.media.find((item) => item.role === "source_video" && item.kind === "video");
  if (!source)
    throw invalid(
      "missing_parameter",
      `an ${request.operation} needs a video entry of role source_video in metadata.content`,
      "metadata.content",
    );
  const common = {
    sourcePath: source.path,
    outDir: workDir,
    signal,
    onProgress,
    returnLastFrame: request.returnLastFrame,
  };
  if (request.operation === "edit") return renderEdit({ ...common, plan: planEdit(request.prompt) });
  return renderExtension({
    ...common,
    seconds: request.seconds,
    prompt: request.prompt,
    seed: request.seed,
    cameraFixed: request.cameraFixed,
  });
}
