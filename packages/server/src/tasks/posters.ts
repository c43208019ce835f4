import { createWriteStream } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { DEFAULT_TOOL_LIMITS, demuxerOf, ffmpegPath, run, UNTRUSTED_INPUT } from "../media/ffmpeg.ts";
import { renderSpritesheet } from "../media/spritesheet.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { TaskRow } from "../store/schema.ts";
import { randomAlphanumeric } from "../util/ids.ts";
import { mediaKeys } from "./media.ts";
import type { TaskRepository } from "./repository.ts";

/**
 * Thumbnails and spritesheets are made on first request, not at ingest: ingest stays pure I/O
 * (thousands of tasks a minute), and most are never fetched. One of each is made at a time per
 * task in this process: N requests at once for a new thumbnail (a page of players loading, a
 * crawler) share one download and one ffmpeg run instead of starting N.
 */
export class Posters {
  private readonly making = new Map<string, Promise<string>>();

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
    const outputKey = task.output_key;
    return this.once(`${task.id}:poster`, () => this.make(task, outputKey));
  }

  /** The storage key of the task's spritesheet (media/spritesheet.ts), made now if it is not stored yet. */
  async ensureSpritesheet(task: TaskRow): Promise<string | null> {
    if (!task.output_key) return null;
    const key = mediaKeys.spritesheet(task.id);
    if ((await this.deps.storage.size(key)) !== null) return key;
    const outputKey = task.output_key;
    return this.once(`${task.id}:sprites`, () =>
      this.withLocalVideo(outputKey, async (input, work) => {
        const out = join(work, "sprites.jpg");
        await writeFile(out, await renderSpritesheet(input));
        await this.deps.storage.putFile(key, out, "image/jpeg");
        return key;
      }),
    );
  }

  private once(id: string, make: () => Promise<string>): Promise<string> {
    let made = this.making.get(id) as Promise<string> | undefined;
    if (!made) {
      made = make().finally(() => this.making.delete(id));
      this.making.set(id, made);
    }
    return made;
  }

  /** How many thumbnails are being made now (for tests). */
  get inProgress(): number {
    return this.making.size;
  }

  /** Run `work` on a local copy of the stored video (the file itself when storage is a local disk). */
  private async withLocalVideo<T>(
    outputKey: string,
    work: (input: string, dir: string) => Promise<T>,
  ): Promise<T> {
    const { storage } = this.deps;
    const dir = join(this.deps.tmpDir, `poster-${randomAlphanumeric(10)}`);
    await mkdir(dir, { recursive: true });
    try {
      let input = storage.localPath(outputKey);
      if (!input) {
        input = join(dir, "video.mp4");
        await pipeline(await storage.read(outputKey), createWriteStream(input));
      }
      return await work(input, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private make(task: TaskRow, outputKey: string): Promise<string> {
    const { storage } = this.deps;
    return this.withLocalVideo(outputKey, async (input, work) => {
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
    });
  }
}
