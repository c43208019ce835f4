import type { Readable } from "node:stream";

export interface ByteRange {
  /** Inclusive. */
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Where uploads and rendered videos live: `DiskStorage` (the default) or `S3Storage`, chosen by
 * `VIDRELAY_STORAGE_URL` (`open-storage.ts`). Keys are relative paths such as
 * `files/ab/file_….jpg` or `videos/task_….mp4`. A missing key: `size` → null, `read` rejects with
 * `code: "ENOENT"`, `delete` does nothing.
 */
export interface BlobStorage {
  /**
   * Move (or copy, or upload) a finished local file into storage under `key`. The source is
   * consumed. Always a complete file, never a live request body: uploads are sniffed and probed
   * from a temp file before anything is stored.
   */
  putFile(key: string, sourcePath: string, contentType: string): Promise<{ bytes: number }>;
  /** Size in bytes, or null when the key does not exist. */
  size(key: string): Promise<number | null>;
  read(key: string, range?: ByteRange): Promise<Readable>;
  /**
   * The same bytes for a client's download (a media URL, a `/content` route): on S3 through a
   * connection pool of its own, so viewers reading slowly hold sockets of that pool only, never the
   * ones uploads, ingest and renders need.
   */
  serve(key: string, range?: ByteRange): Promise<Readable>;
  delete(key: string): Promise<void>;
  /**
   * A local filesystem path for the key when the backend has one (disk), so ffmpeg can read it
   * without a copy; null otherwise (the caller then streams `read()` to a temp file).
   */
  localPath(key: string): string | null;
}
