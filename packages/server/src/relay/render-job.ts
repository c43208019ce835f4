import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { ApiError } from "../domain/errors.ts";
import { renderTask } from "../engine/render-task.ts";
import type { RenderResult } from "../engine/types.ts";
import type { ClaimedJob } from "../jobs/queue.ts";
import type { JobContext, JobHandler } from "../jobs/runner.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { BlobStorage } from "../storage/storage.ts";
import { requestOf, videoColumn } from "../store/task-columns.ts";
import type { TaskEvents } from "../tasks/events.ts";
import type { TaskLifecycle } from "../tasks/lifecycle.ts";
import { mediaKeys } from "../tasks/media.ts";
import type { TaskRepository } from "../tasks/repository.ts";
import { conformFirstFrame, type FirstFrameDeps } from "./first-frame.ts";
import { type MaterializeDeps, MediaUnavailable, materializeMedia } from "./materialize.ts";

/** Progress is written at most this often (each write is a store UPDATE). */
const PROGRESS_INTERVAL_MS = 400;

/**
 * The local provider: renders a task with the built-in engine (camera motion over the given
 * images, not a generative model; an `edit` or `extend` task changes or continues its
 * `source_video` with classic filters, engine/render-task.ts), stores the outputs and finishes the
 * task. A refusal the engine raises (an ApiError: no edit in the prompt, a source it cannot take)
 * fails the task with its code at once. Safe to run twice for the same task: outputs go to fixed
 * keys and the terminal transition is guarded.
 */
export class LocalRenderJob implements JobHandler {
  constructor(
    readonly concurrency: number,
    private readonly deps: {
      workRoot: string;
      tasks: TaskRepository;
      lifecycle: TaskLifecycle;
      storage: BlobStorage;
      events: TaskEvents;
      metrics: Metrics;
      materialize: MaterializeDeps;
      /** Conforming the first frame to an asked ratio, as before an upstream submit (first-frame.ts). */
      firstFrame: FirstFrameDeps;
    },
  ) {}

  async handle(job: ClaimedJob, { signal, logger }: JobContext): Promise<void> {
    const { tasks, lifecycle, storage, events } = this.deps;
    const taskId = job.taskId!;
    const task = await tasks.getById(taskId);
    if (!task || task.status === "succeeded" || task.status === "failed") return;
    if (task.status === "submitted") await lifecycle.start(taskId);

    let request = requestOf(task);
    const workDir = join(this.deps.workRoot, `${taskId}-${job.attempt}`);
    await rm(workDir, { recursive: true, force: true });
    await mkdir(workDir, { recursive: true });
    const abort = new AbortController();
    const onOuterAbort = () => abort.abort(signal.reason);
    signal.addEventListener("abort", onOuterAbort, { once: true });
    // A cancel in this process stops the render at once (other processes notice at the next progress write).
    const unsubscribe = events.subscribe(taskId, () => {
      void tasks.getById(taskId).then((row) => {
        if (row && (row.status === "succeeded" || row.status === "failed"))
          abort.abort(new Error("task finished elsewhere"));
      });
    });
    try {
      let media: Awaited<ReturnType<typeof materializeMedia>>;
      try {
        // The same picture an upstream provider would get: conformed to the asked ratio first.
        request = await conformFirstFrame(request, task, this.deps.firstFrame, abort.signal);
        media = await materializeMedia(request, workDir, this.deps.materialize, abort.signal);
      } catch (error) {
        if (error instanceof MediaUnavailable) {
          await lifecycle.finish(taskId, "failed", {
            error_code: error.code,
            error_message: error.message,
          });
          return;
        }
        throw error;
      }

      let lastWrite = 0;
      let writing = false;
      const onProgress = (percent: number) => {
        const now = Date.now();
        if (writing || now - lastWrite < PROGRESS_INTERVAL_MS) return;
        writing = true;
        lastWrite = now;
        tasks
          .setProgress(taskId, Math.min(99, percent))
          .then((active) => {
            if (!active) abort.abort(new Error("task is no longer active (cancelled)"));
            else events.changed(taskId);
          })
          .catch((error) => logger.warn({ err: error }, "progress update failed"))
          .finally(() => {
            writing = false;
          });
      };

      const started = performance.now();
      let result: RenderResult;
      try {
        // A generation, or an edit/extension of the source_video entry (engine/render-task.ts).
        result = await renderTask({ request, media, workDir, onProgress, signal: abort.signal });
      } catch (error) {
        const current = await tasks.getById(taskId);
        if (current && (current.status === "failed" || current.status === "succeeded")) return; // cancelled
        if (error instanceof ApiError) {
          // A refusal no retry can change (no edit in the prompt, a source the engine cannot take).
          await lifecycle.finish(taskId, "failed", { error_code: error.code, error_message: error.message });
          return;
        }
        throw error;
      }
      this.deps.metrics.renderSeconds.observe(
        { resolution: request.resolution },
        (performance.now() - started) / 1000,
      );

      const outputKey = mediaKeys.video(taskId);
      const posterKey = mediaKeys.thumbnail(taskId);
      const lastFrameKey = result.lastFramePath ? mediaKeys.lastFrame(taskId) : null;
      await storage.putFile(outputKey, result.videoPath, "video/mp4");
      await storage.putFile(posterKey, result.posterPath, "image/jpeg");
      if (result.lastFramePath && lastFrameKey)
        await storage.putFile(lastFrameKey, result.lastFramePath, "image/png");

      const finished = await lifecycle.finish(taskId, "succeeded", {
        output_key: outputKey,
        poster_key: posterKey,
        last_frame_key: lastFrameKey,
        video_json: videoColumn({
          width: result.width,
          height: result.height,
          duration: result.duration,
          fps: result.fps,
          has_audio: result.hasAudio,
          bytes: result.bytes,
        }),
      });
      if (!finished) {
        // Cancelled while we were storing: the outputs belong to nobody.
        await Promise.all(
          [outputKey, posterKey, lastFrameKey].map((k) => (k ? storage.delete(k) : undefined)),
        );
      }
    } finally {
      signal.removeEventListener("abort", onOuterAbort);
      unsubscribe();
      await rm(workDir, { recursive: true, force: true });
    }
  }

  async exhausted(job: ClaimedJob, error: unknown): Promise<void> {
    if (!job.taskId) return;
    await this.deps.lifecycle.finish(job.taskId, "failed", {
      error_code: "render_failed",
      error_message: `the local engine could not render this task: ${error instanceof Error ? error.message : error}`,
    });
  }
}
