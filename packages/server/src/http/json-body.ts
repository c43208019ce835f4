/**
 * JSON request bodies read as a stream, in bounded memory.
 *
 * Fastify's own parser buffers the whole body, then JSON.parse builds it again: a 100 MB body cost
 * ~400 MB of heap before any check, and a handful at once exhausted it. Here the body is parsed as
 * it arrives; only the parsed value is kept, and that is capped (`maxInMemoryBytes`). The one large
 * thing a body may legitimately carry, a `data:` URL of an image or a sound, is written to a spool
 * file as it is read once it passes `spool.afterChars`, and appears in the value as a short marker
 * (`SPOOL_MARKER`) that names the content's SHA-256, so an identical body still hashes identically
 * (Idempotency-Key) and the spool is found again by that marker.
 *
 * Also enforced while parsing, with the contract's errors: the total size (413 `body_too_large`),
 * nesting depth, NUL characters (Postgres text cannot hold them; 400 naming the field), and
 * `__proto__` keys (refused, as Fastify's secure-json-parse does).
 */
import type { Readable } from "node:stream";
import { type JsonBodyLimits, StreamingJsonParser } from "./json-parser.ts";
import type { SpooledText } from "./json-spool.ts";

export { bodyTooLarge, type JsonBodyLimits } from "./json-parser.ts";
export { SPOOL_MARKER, type SpooledText } from "./json-spool.ts";

export interface ParsedJsonBody {
  value: unknown;
  /** marker string → its spool file; empty when nothing was spooled. */
  spooled: Map<string, SpooledText>;
  /** Remove the spool files (the request is over). */
  discard(): Promise<void>;
}

/**
 * Parse a JSON body from a stream within `limits`. On any refusal the spool files are removed
 * before the error is thrown; on success the caller removes them with `discard()` when done.
 */
export async function parseJsonBody(stream: Readable, limits: JsonBodyLimits): Promise<ParsedJsonBody> {
  const parser = new StreamingJsonParser(limits);
  try {
    await new Promise<void>((resolve, reject) => {
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        stream.off("data", onData);
        stream.off("end", onEnd);
        // The rest of the body is read and dropped, not cut off: the client gets the refusal as
        // an answer instead of a reset connection (the request timeout still bounds it).
        stream.resume();
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        stream.pause();
        parser.feed(chunk).then(() => {
          if (!failed) stream.resume();
        }, fail);
      };
      const onEnd = () => {
        parser.feed(null).then(resolve, fail);
      };
      stream.on("data", onData);
      stream.once("end", onEnd);
      stream.once("error", fail);
    });
    const value = await parser.finish();
    return { value, spooled: parser.spooled, discard: () => parser.discard() };
  } catch (error) {
    await parser.discard();
    throw error;
  }
}
