import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_TOOL_LIMITS, demuxerOf, ffmpegPath, run, UNTRUSTED_INPUT } from "../media/ffmpeg.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { TaskRow } from "../store/schema.ts";
import { randomAlphanumeric } from "../util/ids.ts";
import { mediaKeys } from "./media.ts";
import type { TaskRepository } from "./repository.ts";

/**
 * Thumbnails for relayed videos are made on first request, not at ingest: ingest stays pure I/O
 * (thousands of tasks a minute), and most thumbnails are never fetched. One is made at a time per
 * task in this process: N requests at once for a new thumbnail (a page of players loading, a
 * crawler) share one download and one ffmpeg run instead of starting N.
 */
export class Posters {
  private readonly making = new Map<string, Promise<string | null>>();

  constructor(
    private readonly deps: {
      tasks: Pick<TaskRepository, "recordPoster">;
      storage: BlobStorage;
      /** Where the video is copied while its frame is taken (a remote store's video). */
      tmpDir: string;
    },
  ) {}

  /** The storage key of the task's thumbnail, made now if it has none (null: no video to take it from). */
  ensure(task: TaskRow): Promise<string | null> {
    if (task.poster_key) return Promise.resolve(task.poster_key);
    if (!task.output_key) return Promise.resolve(null);
    let made = this.making.get(task.id);
    if (!made) {
      made = this.make(task, task.output_key).finally(() => this.making.delete(task.id));
      this.making.set(task.id, made);
    }
    return made;
  }

  /** How many thumbnails are being made now (for tests). */
  get inProgress(): number {
    return this.making.size;
  }

  private async make(task: TaskRow, outputKey: string): Promise<string> {
    const { storage } = this.deps;
    const work = join(this.deps.tmpDir, `poster-${randomAlphanumeric(10)}`);
    await mkdir(work, { recursive: true });
    try {
      let input = storage.localPath(outputKey);
      if (!input) {
        const { pipeline } = await import("node:stream/promises");
        const { createWriteStream } = await import("node:fs");
        input = join(work, "video.mp4");
        await pipeline(await storage.read(outputKey), createWriteStream(input));
      }
      const out = join(work, "poster.jpg");
      // The video came from a provider: read it as untrusted media (local file only, forced demuxer, bounded).
      const demuxer = await demuxerOf(input);
      await run(
        ffmpegPath,
        [
          ...["-v", "error", "-nostdin", ...UNTRUSTED_INPUT, "-f", demuxer, "-i", `file:${input}`],
          ...["-frames:v", "1", "-q:v", "3", "-y", out],
        ],
        { timeoutMs: 30_000, memoryMb: DEFAULT_TOOL_LIMITS.memoryMb },
      );
      const key = mediaKeys.thumbnail(task.id);
      await storage.putFile(key, out, "image/jpeg");
      await this.deps.tasks.recordPoster(task.id, key);
      return key;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }
}
