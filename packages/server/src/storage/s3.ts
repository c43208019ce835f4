import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { Agent as HttpAgent } from "node:http";
import { Agent as HttpsAgent } from "node:https";
import { Readable } from "node:stream";
import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { BlobStorage, ByteRange } from "./storage.ts";
import type { S3Location } from "./storage-url.ts";
import { isStorageUnavailable } from "./unavailable.ts";

/**
 * Multipart uploads hold at most QUEUE_SIZE parts in flight plus the one being filled (lib-storage
 * buffers each part), so storing a 200 MB video costs tens of MB of RSS, not 200 (measured by
 * test/storage: ~55 MB, most of it part buffers V8 has not collected yet). 5 MiB is S3's smallest
 * part; 2 GB (the largest video we ingest) is ~410 parts, far from the 10,000-part limit.
 */
export const PART_SIZE = 5 * 1024 * 1024;
export const QUEUE_SIZE = 4;
/**
 * Every media download is proxied (below), and each open download holds one socket to the bucket
 * for as long as the viewer reads; the SDK's default of 50 would queue the 51st viewer. Viewers get
 * a pool of their own (`serve`), so slow readers can exhaust only theirs: the gateway's own
 * traffic (uploads, ingest, renders, deletes) keeps `INTERNAL_SOCKETS` of its own.
 */
export const SERVE_SOCKETS = 512;
const INTERNAL_SOCKETS = 128;
/** A put that meets a passing fault (503 SlowDown, a reset) is tried again after these pauses. */
const PUT_RETRY_DELAYS_MS = [500, 1500, 4000];

/** The AWS SDK client for a location. Credentials: the SDK's default provider chain, nothing of ours. */
export function createS3Client(
  location: S3Location,
  region: string | undefined = location.region,
  maxSockets = INTERNAL_SOCKETS,
): S3Client {
  const agent = { keepAlive: true, maxSockets };
  return new S3Client({
    ...(region ? { region } : {}),
    ...(location.endpoint ? { endpoint: location.endpoint } : {}),
    forcePathStyle: location.forcePathStyle,
    // Flexible checksums (CRC32 on every PUT, the SDK's default since 3.729) are not implemented by
    // many S3-compatible servers; MD5/SigV4 integrity is what they all support.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    requestHandler: {
      httpAgent: new HttpAgent(agent),
      httpsAgent: new HttpsAgent(agent),
      connectionTimeout: 10_000,
    },
  });
}

/** The Error a missing key produces, shaped like the disk backend's (`code: "ENOENT"`). */
function missing(bucket: string, key: string): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`no object s3://${bucket}/${key}`);
  error.code = "ENOENT";
  return error;
}

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  // A missing bucket is a misconfiguration to surface, not a missing file (GetObject names it).
  if (e?.name === "NoSuchBucket") return false;
  return e?.$metadata?.httpStatusCode === 404 || e?.name === "NotFound" || e?.name === "NoSuchKey";
}

/**
 * Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Cloudflare R2, …), under an optional
 * key prefix.
 *
 * Media URLs stay ours: `/files/…` and `/videos/…` stream the object out of the bucket through
 * whichever API process gets the request (Range honoured), rather than redirecting to a presigned
 * URL. Why: a presigned URL expires (7 days at most with SigV4, far less with role credentials),
 * while ours live exactly until the file's or task's `expires_at` and never change; the capability
 * token check stays in our code (expiry, deletion, account) instead of being baked into a
 * signature we cannot revoke; the bucket stays private with no public endpoint or CORS to set up;
 * and no signature depends on the clock of the server that made it. The cost is that media bytes
 * pass through the API tier. `docs/architecture.md` ("Storage and URLs") says the same.
 */
export class S3Storage implements BlobStorage {
  readonly bucket: string;
  readonly prefix: string;

  constructor(
    location: S3Location,
    readonly client: S3Client = createS3Client(location),
    /** Client downloads only (`serve`). */
    readonly serveClient: S3Client = createS3Client(location, location.region, SERVE_SOCKETS),
  ) {
    this.bucket = location.bucket;
    this.prefix = location.prefix;
  }

  /** The object key for a storage key (same refusals as the disk backend's paths). */
  objectKey(key: string): string {
    if (!key || key.startsWith("/") || key.split("/").some((s) => s === "" || s === "." || s === "..")) {
      throw new Error(`invalid storage key: ${key}`);
    }
    return this.prefix + key;
  }

  /** No local file: ffmpeg's callers stream `read()` to a temp file instead. */
  localPath(_key: string): null {
    return null;
  }

  /**
   * Stream a finished local file into the bucket, then remove it. Callers always hand over a file
   * (never a live request body): uploads are written to a temp file first because they are sniffed
   * and probed (type, pixels, duration) before anything is stored, and renders/ingests produce
   * files anyway. Small files go up in one PutObject, larger ones as a bounded multipart upload
   * (aborted on failure; the source is then left for the caller to clean up).
   */
  async putFile(key: string, sourcePath: string, contentType: string): Promise<{ bytes: number }> {
    const objectKey = this.objectKey(key);
    const { size } = await stat(sourcePath);
    for (let attempt = 0; ; attempt++) {
      const upload = new Upload({
        client: this.client,
        params: {
          Bucket: this.bucket,
          Key: objectKey,
          Body: createReadStream(sourcePath, { highWaterMark: 1024 * 1024 }),
          ContentType: contentType,
        },
        partSize: PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
        break;
      } catch (error) {
        // The source file is still here: a short outage costs a few seconds, not the upload.
        const delay = PUT_RETRY_DELAYS_MS[attempt];
        if (delay === undefined || !isStorageUnavailable(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
    await rm(sourcePath, { force: true });
    return { bytes: size };
  }

  async size(key: string): Promise<number | null> {
    try {
      const head = await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }),
      );
      return head.ContentLength ?? 0;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  /** The object's bytes (inclusive range, as `sendBlob` asks); a missing key rejects with code ENOENT, like a missing file. */
  read(key: string, range?: ByteRange): Promise<Readable> {
    return this.get(this.client, key, range);
  }

  serve(key: string, range?: ByteRange): Promise<Readable> {
    return this.get(this.serveClient, key, range);
  }

  private async get(client: S3Client, key: string, range?: ByteRange): Promise<Readable> {
    try {
      const out = await client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.objectKey(key),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      if (!(out.Body instanceof Readable)) throw new Error(`GetObject ${key}: the body is not a Node stream`);
      return out.Body;
    } catch (error) {
      if (isNotFound(error)) throw missing(this.bucket, this.objectKey(key));
      throw error;
    }
  }

  /** DeleteObject (S3 answers 204 for a missing key too, like `rm --force`). */
  async delete(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.objectKey(key) }));
  }
}
