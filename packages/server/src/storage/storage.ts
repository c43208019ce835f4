import type { Readable } from "node:stream";

export interface ByteRange {
  /** Inclusive. */
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Where uploads and rendered videos live. Local disk now; an S3-compatible implementation later.
 * Keys are relative paths such as `files/ab/file_….jpg` or `videos/task_….mp4`.
 */
export interface BlobStorage {
  /** Move (or copy) a finished local file into storage under `key`. The source is consumed. */
  putFile(key: string, sourcePath: string, contentType: string): Promise<{ bytes: number }>;
  /** Size in bytes, or null when the key does not exist. */
  size(key: string): Promise<number | null>;
  read(key: string, range?: ByteRange): Promise<Readable>;
  delete(key: string): Promise<void>;
  /**
   * A local filesystem path for the key when the backend has one (disk), so ffmpeg can read it
   * without a copy; null otherwise (the caller then streams `read()` to a temp file).
   */
  localPath(key: string): string | null;
}
