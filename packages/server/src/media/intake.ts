import { createHash, type Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { type Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import { describeUnsupported } from "./describe-unsupported.ts";
import { inspectMedia, type MediaInfo } from "./inspect.ts";
import { largestByteLimit, type MediaLimits, maxBytesFor } from "./limits.ts";
import { emptyFile, fileTooLarge, unsupportedMediaType, wrongKind } from "./refusals.ts";
import { type MediaKind, SNIFF_BYTES, type SniffResult, sniffMedia, typeLabel } from "./sniff.ts";

export interface IntakeResult {
  info: MediaInfo;
  /** Bytes written to destPath. */
  bytes: number;
  /** Hex SHA-256 of those bytes. */
  sha256: string;
}

/**
 * Counts, hashes and gates the bytes on their way to disk: holds back the first `SNIFF_BYTES`
 * until it can sniff them, fails with 415 if they are not an accepted type, and fails with 413
 * as soon as the running total passes the limit for the sniffed kind. Memory use is the head plus
 * one chunk, whatever the stream's length.
 */
class IntakeGate extends Transform {
  sniffed: SniffResult | null = null;
  bytes = 0;
  readonly hash: Hash = createHash("sha256");
  private head: Buffer[] = [];
  private headBytes = 0;
  private limit: number;

  constructor(
    private readonly limits: MediaLimits,
    private readonly param: string,
    private readonly sizeHint: number | undefined,
    private readonly kinds: readonly MediaKind[],
  ) {
    super();
    this.limit = largestByteLimit(limits, kinds);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    this.hash.update(chunk);
    let refusal: Error | null = null;
    if (this.sniffed) {
      this.push(chunk);
    } else {
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes >= SNIFF_BYTES) refusal = this.decide();
    }
    callback(refusal ?? this.overLimit());
  }

  override _flush(callback: TransformCallback): void {
    let refusal: Error | null = null;
    if (!this.sniffed) refusal = this.bytes === 0 ? emptyFile(this.param) : this.decide();
    callback(refusal ?? this.overLimit());
  }

  /** Sniff the buffered head; on success release it downstream. */
  private decide(): Error | null {
    const head = Buffer.concat(this.head);
    this.head = [];
    const sniffed = sniffMedia(head.subarray(0, SNIFF_BYTES)); // the same answer however the stream is chunked
    if (!sniffed) return unsupportedMediaType(describeUnsupported(head), this.limits, this.param, this.kinds);
    // An MP4 may still turn out to be audio-only (M4A) on inspection, so an audio-only place accepts it here.
    const couldBeAudio = sniffed.mime === "video/mp4" && this.kinds.includes("audio");
    if (!this.kinds.includes(sniffed.kind) && !couldBeAudio) {
      return wrongKind(typeLabel(sniffed.mime), this.kinds, this.limits, this.param);
    }
    this.sniffed = sniffed;
    this.limit = couldBeAudio
      ? largestByteLimit(this.limits, this.kinds)
      : maxBytesFor(sniffed.kind, this.limits);
    if (this.sizeHint !== undefined && this.sizeHint > this.limit) {
      return fileTooLarge(sniffed.kind, this.limit, this.param, { bytes: this.sizeHint, exact: true });
    }
    this.push(head);
    return null;
  }

  private overLimit(): Error | null {
    if (this.bytes <= this.limit) return null;
    return fileTooLarge(this.sniffed?.kind ?? null, this.limit, this.param, {
      bytes: this.bytes,
      exact: false,
    });
  }
}

/**
 * Stream an upload (or a fetched body) to `destPath`, then inspect it. The type is sniffed from
 * the first bytes; the stream is cut off with 415 as soon as the head is not an accepted type and
 * with 413 as soon as the byte count passes the limit for the sniffed kind (or at once when
 * `declaredSizeHint`, e.g. a Content-Length, already says it will). Inspection then applies the
 * pixel, duration and decodability checks (see `inspectMedia`).
 *
 * `kinds` restricts which media kinds are acceptable here (e.g. only images for an `image_url`):
 * anything else is refused with 415 from its first bytes.
 *
 * `destPath` must not exist yet (it is created exclusively). On any refusal or failure the partial
 * file is deleted and the source stream destroyed; the error (usually an ApiError naming `param`)
 * is rethrown.
 */
export async function intakeStream(
  stream: Readable,
  destPath: string,
  limits: MediaLimits,
  param: string,
  declaredSizeHint?: number,
  kinds: readonly MediaKind[] = ["image", "video", "audio"],
): Promise<IntakeResult> {
  const ceiling = largestByteLimit(limits, kinds);
  if (declaredSizeHint !== undefined && declaredSizeHint > ceiling) {
    stream.destroy();
    throw fileTooLarge(kinds.length === 1 ? kinds[0]! : null, ceiling, param, {
      bytes: declaredSizeHint,
      exact: true,
    });
  }
  const gate = new IntakeGate(limits, param, declaredSizeHint, kinds);
  const out = createWriteStream(destPath, { flags: "wx" });
  let created = false;
  out.once("open", () => {
    created = true;
  });
  try {
    await pipeline(stream, gate, out);
    const info = await inspectMedia(destPath, gate.sniffed!, limits, param);
    if (!kinds.includes(info.kind)) throw wrongKind(typeLabel(info.mime), kinds, limits, param);
    return { info, bytes: gate.bytes, sha256: gate.hash.digest("hex") };
  } catch (err) {
    // Wait for the file descriptor to close so the file cannot reappear after the delete.
    if (!out.closed) await new Promise<void>((resolve) => out.once("close", () => resolve()));
    if (created) await rm(destPath, { force: true });
    throw err;
  }
}
