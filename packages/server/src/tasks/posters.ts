import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Kysely } from "kysely";
import { DEFAULT_TOOL_LIMITS, demuxerOf, ffmpegPath, run, UNTRUSTED_INPUT } from "../media/ffmpeg.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { Database, TaskRow } from "../store/schema.ts";
import { randomAlphanumeric } from "../util/ids.ts";

/**
 * Thumbnails for relayed videos are made on first request, not at ingest: ingest stays pure I/O
 * (thousands of tasks a minute), and most thumbnails are never fetched.
 */
export async function ensurePoster(
  task: TaskRow,
  deps: { db: Kysely<Database>; storage: BlobStorage; tmpDir: string },
): Promise<string | null> {
  if (task.poster_key) return task.poster_key;
  if (!task.output_key) return null;
  const work = join(deps.tmpDir, `poster-${randomAlphanumeric(10)}`);
  await mkdir(work, { recursive: true });
  try {
    let input = deps.storage.localPath(task.output_key);
    if (!input) {
      const { pipeline } = await import("node:stream/promises");
      const { createWriteStream } = await import("node:fs");
      input = join(work, "video.mp4");
      await pipeline(await deps.storage.read(task.output_key), createWriteStream(input));
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
    const key = `videos/${task.id}.jpg`;
    await deps.storage.putFile(key, out, "image/jpeg");
    await deps.db.updateTable("tasks").set({ poster_key: key }).where("id", "=", task.id).execute();
    return key;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
