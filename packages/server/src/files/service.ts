import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import type { Config } from "../config.ts";
import { ApiError, notFound, shown } from "../domain/errors.ts";
import type { Owner } from "../domain/owner.ts";
import { decodeDataUrl, type SpooledDataUrl, spooledDataUrlStream } from "../media/data-url.ts";
import { intakeStream } from "../media/intake.ts";
import { formatBytes, type MediaLimits, mediaLimits } from "../media/limits.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { Cursor, Page } from "../store/pagination.ts";
import type { FileRow } from "../store/schema.ts";
import { newCapabilityToken, newFileId, randomAlphanumeric, unixSeconds } from "../util/ids.ts";
import type { FileRepository } from "./repository.ts";
import type { FileObject } from "./schemas.ts";

/** The file object (docs/api.md §2); its schema is in ./schemas.ts. */
export type { FileObject } from "./schemas.ts";

export function mediaLimitsFrom(config: Config): MediaLimits {
  return mediaLimits({
    maxImageBytes: config.maxImageBytes,
    maxImagePixels: config.maxImagePixels,
    maxVideoBytes: config.maxVideoBytes,
    maxAudioBytes: config.maxAudioBytes,
  });
}

/** Uploaded reference media: intake (sniff, limits, decode check), storage, capability URLs, expiry. */
export class FileService {
  readonly limits: MediaLimits;
  private readonly tmpDir: string;

  constructor(
    private readonly config: Config,
    private readonly files: FileRepository,
    private readonly storage: BlobStorage,
  ) {
    this.limits = mediaLimitsFrom(config);
    this.tmpDir = join(config.dataDir, "tmp");
  }

  /** The public capability URL of a file: anyone holding it can GET the bytes until expiry. */
  urlOf(file: Pick<FileRow, "token" | "filename">): string {
    const ext = file.filename.includes(".") ? file.filename.slice(file.filename.lastIndexOf(".")) : "";
    return `${this.config.publicUrl}/files/${file.token}${ext.replace(/[^.\w]/g, "")}`;
  }

  /** If `url` is one of our own file URLs, its token (so we read storage directly, no HTTP). */
  ownFileToken(url: string): string | null {
    const prefix = `${this.config.publicUrl}/files/`;
    if (!url.startsWith(prefix)) return null;
    const match = /^([A-Za-z0-9]{32})(\.\w+)?$/.exec(url.slice(prefix.length));
    return match ? match[1]! : null;
  }

  toApi(file: FileRow): FileObject {
    return {
      id: file.id,
      object: "file",
      url: this.urlOf(file),
      filename: file.filename,
      bytes: file.bytes,
      content_type: file.content_type,
      kind: file.kind,
      width: file.width,
      height: file.height,
      duration: file.duration,
      created_at: unixSeconds(file.created_at)!,
      expires_at: unixSeconds(file.expires_at)!,
    };
  }

  /**
   * Stream an upload through intake into storage. On any refusal the partial file is removed and
   * no row is written: nothing is kept.
   */
  async create(
    owner: Owner,
    source: Readable,
    filename: string,
    param = "file",
    options: {
      /**
       * A file id the caller derives (e.g. from a task), so a retried step finds its file instead of
       * storing another. Two creations of one id may race: each writes its own storage object, so
       * the loser (its insert fails) removes only its own.
       */
      id?: string;
    } = {},
  ): Promise<FileRow> {
    await mkdir(this.tmpDir, { recursive: true });
    const tmpPath = join(this.tmpDir, `upload-${randomAlphanumeric(16)}`);
    try {
      const { info, bytes, sha256 } = await intakeStream(source, tmpPath, this.limits, param);
      await this.assertWithinQuota(owner.accountId, bytes, param);
      const id = options.id ?? newFileId();
      const safeName = sanitizeFilename(filename, info.ext);
      const storageKey = options.id
        ? `files/${id.slice(-2)}/${id}-${randomAlphanumeric(8)}.${info.ext}`
        : `files/${id.slice(-2)}/${id}.${info.ext}`;
      await this.storage.putFile(storageKey, tmpPath, info.mime);
      const now = Date.now();
      const row: FileRow = {
        id,
        account_id: owner.accountId,
        test_mode: owner.testMode,
        storage_key: storageKey,
        token: newCapabilityToken(),
        filename: safeName,
        bytes,
        content_type: info.mime,
        kind: info.kind,
        width: info.width ?? null,
        height: info.height ?? null,
        duration: info.duration ?? null,
        sha256,
        created_at: now,
        expires_at: now + this.config.fileTtlSeconds * 1000,
      };
      try {
        await this.files.insert(row);
      } catch (error) {
        await this.storage.delete(storageKey);
        throw error;
      }
      return row;
    } finally {
      await rm(tmpPath, { force: true });
    }
  }

  /**
   * 403 `storage_quota_exceeded` when keeping `bytes` more would take the account past
   * VIDRELAY_STORAGE_QUOTA_BYTES of unexpired files (both modes count: they use the same disks).
   * Checked before the bytes are stored; uploads racing each other may pass it together, so the
   * quota can be overshot by what is in flight at once, never by more.
   */
  private async assertWithinQuota(accountId: string, bytes: number, param: string): Promise<void> {
    const quota = this.config.storageQuotaBytes;
    if (!quota) return;
    const used = await this.files.bytesKept(accountId, Date.now());
    if (used + bytes <= quota) return;
    throw new ApiError(
      403,
      "insufficient_quota",
      "storage_quota_exceeded",
      `this account keeps ${formatBytes(used)} of files and may keep ${formatBytes(quota)}; this one (${formatBytes(bytes)}) would pass that. Delete files (DELETE /v1/files/{id}) or wait for them to expire`,
      param,
    );
  }

  /** A `data:` URL in a request becomes a stored file under the same limits as an upload. */
  async createFromDataUrl(
    owner: Owner,
    url: string | SpooledDataUrl,
    kind: "image" | "video" | "audio",
    param: string,
    filename: string,
  ): Promise<FileRow> {
    if (typeof url !== "string") {
      return this.create(owner, spooledDataUrlStream(url, this.limits, param, [kind]), filename, param);
    }
    const { bytes } = decodeDataUrl(url, this.limits, param, [kind]);
    return this.create(owner, Readable.from([bytes]), filename, param);
  }

  async get(owner: Owner, id: string): Promise<FileRow> {
    const file = await this.find(owner, id);
    if (!file) throw fileNotFound(id);
    return file;
  }

  /** The account's live file with this id, or undefined (unknown, another account's, or expired). */
  async find(owner: Owner, id: string): Promise<FileRow | undefined> {
    const file = await this.files.get(owner, id);
    return file && file.expires_at > Date.now() ? file : undefined;
  }

  list(owner: Owner, limit: number, after?: Cursor): Promise<Page<FileRow>> {
    return this.files.list(owner, limit, after);
  }

  async delete(owner: Owner, id: string): Promise<FileRow> {
    const file = await this.files.delete(owner, id);
    if (!file) throw fileNotFound(id);
    await this.storage.delete(file.storage_key);
    return file;
  }

  /** Live file behind a capability token, or undefined when unknown or expired. */
  async byToken(token: string): Promise<FileRow | undefined> {
    const file = await this.files.getByToken(token);
    return file && file.expires_at > Date.now() ? file : undefined;
  }

  /**
   * Remove expired files from storage and the store; returns how many went. A blob that cannot be
   * deleted (storage away) throws: its row stays, so the next sweep tries it again.
   */
  async sweepExpired(now = Date.now()): Promise<number> {
    let removed = 0;
    for (;;) {
      const batch = await this.files.listExpired(now, 100);
      for (const file of batch) {
        await this.storage.delete(file.storage_key);
        await this.files.deleteById(file.id);
        removed++;
      }
      if (batch.length < 100) return removed;
    }
  }
}

function fileNotFound(id: string) {
  return notFound(
    "file_not_found",
    `no file ${shown(id)} exists for this API key's account (it may have expired)`,
    "file_id",
  );
}

function sanitizeFilename(name: string, ext: string): string {
  const base = (name.split(/[\\/]/).pop() ?? "").replace(/[^\w.\- ]+/g, "_").slice(0, 200) || "upload";
  return /\.[A-Za-z0-9]+$/.test(base) ? base : `${base}.${ext}`;
}
