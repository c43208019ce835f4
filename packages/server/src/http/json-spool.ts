/**
 * A long `data:` URL string of a JSON body, written to a file as the body is parsed (json-body.ts)
 * instead of kept in memory, hashed as it goes so the body keeps a stable marker in its place.
 */
import { createHash, type Hash } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { join } from "node:path";
import { randomAlphanumeric } from "../util/ids.ts";

/** Spooled strings appear as `data:<header>,` + this prefix + `<sha256 hex>:<length>`. */
export const SPOOL_MARKER = "\u0001spooled:";

/** A `data:` URL string that was written to disk instead of being kept in memory. */
export interface SpooledText {
  path: string;
  /** The string up to and including its first comma (the media type and ";base64"). */
  header: string;
  /** Characters after the header. */
  length: number;
}

export class SpoolFile {
  readonly path: string;
  private readonly out: WriteStream;
  private readonly hash: Hash = createHash("sha256");
  private length = 0;
  /** Set while the file's buffer is full: the parser waits for it before reading more. */
  private pending: Promise<void> | null = null;

  /** Start a spool in `dir` for a string whose text so far is `header` + `data`. */
  constructor(
    dir: string,
    readonly header: string,
  ) {
    this.path = join(dir, `spool-${randomAlphanumeric(20)}`);
    this.out = createWriteStream(this.path, { flags: "wx" });
    this.out.on("error", () => {}); // surfaced by the write's promise
  }

  /** More of the string, as decoded text or as the body's own bytes (ASCII inside a data: URL). */
  append(part: string | Buffer): void {
    const bytes = typeof part === "string" ? Buffer.from(part, "utf8") : part;
    this.length += typeof part === "string" ? part.length : part.length;
    this.hash.update(bytes);
    if (!this.out.write(bytes) && !this.pending) {
      // An ended stream emits no 'drain' (the string may end in this chunk): 'close' settles it too.
      this.pending = new Promise((resolve, reject) => {
        const settle = (error?: Error) => {
          this.out.off("drain", settle);
          this.out.off("close", settle);
          this.out.off("error", settle);
          if (error) reject(error);
          else resolve();
        };
        this.out.on("drain", settle);
        this.out.on("close", settle);
        this.out.on("error", settle);
      });
    }
  }

  /** What to wait for before reading more of the body (null: nothing). */
  takePending(): Promise<void> | null {
    const pending = this.pending;
    this.pending = null;
    return pending;
  }

  /** The string is over: the marker that stands for it, what it became, and the file's closing. */
  end(): { marker: string; spooled: SpooledText; closed: Promise<void> } {
    this.out.end();
    const closed = new Promise<void>((resolve, reject) => {
      this.out.once("close", resolve);
      this.out.once("error", reject);
    });
    const marker = `${this.header}${SPOOL_MARKER}${this.hash.digest("hex")}:${this.length}`;
    return { marker, spooled: { path: this.path, header: this.header, length: this.length }, closed };
  }

  destroy(): void {
    this.out.destroy();
  }
}
