import type { FastifyReply, FastifyRequest } from "fastify";
import type { BlobStorage, ByteRange } from "../storage/storage.ts";

/**
 * Parse a single-range `Range` header against a size. Returns undefined for "serve everything"
 * (absent, malformed or multi-range: RFC 9110 lets a server ignore those) and null when the
 * range cannot be satisfied (→ 416).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, startText, endText] = match;
  if (startText === "" && endText === "") return undefined;
  if (startText === "") {
    const suffix = Number(endText);
    if (suffix === 0) return null;
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(startText);
  const end = endText === "" ? size - 1 : Math.min(Number(endText), size - 1);
  if (start >= size || start > end) return null;
  return { start, end };
}

/** Serve a stored blob with Range, HEAD, ETag and caching headers. */
export async function sendBlob(
  request: FastifyRequest,
  reply: FastifyReply,
  storage: BlobStorage,
  blob: { key: string; contentType: string; etag: string; filename?: string; maxAgeSeconds?: number },
): Promise<FastifyReply> {
  const size = await storage.size(blob.key);
  if (size == null) {
    return reply.code(404).send({
      error: {
        message: "this media is no longer stored",
        type: "not_found_error",
        code: "media_gone",
        param: null,
      },
    });
  }
  const etag = `"${blob.etag}-${size}"`;
  reply.header("accept-ranges", "bytes");
  reply.header("etag", etag);
  reply.header("content-type", blob.contentType);
  reply.header("cache-control", `private, max-age=${blob.maxAgeSeconds ?? 3600}`);
  reply.header("x-content-type-options", "nosniff");
  if (blob.filename) {
    reply.header("content-disposition", `inline; filename="${blob.filename.replace(/[^\w.-]/g, "_")}"`);
  }
  if (request.headers["if-none-match"] === etag) return reply.code(304).send();

  const ifRange = request.headers["if-range"];
  const range = ifRange && ifRange !== etag ? undefined : parseRange(request.headers.range, size);
  if (range === null) {
    reply.header("content-range", `bytes */${size}`);
    reply.header("content-type", "application/json; charset=utf-8");
    return reply.code(416).send({
      error: {
        message: `the requested range is outside the ${size}-byte file`,
        type: "invalid_request_error",
        code: "range_not_satisfiable",
        param: "Range",
      },
    });
  }
  if (range) {
    reply.code(206);
    reply.header("content-range", `bytes ${range.start}-${range.end}/${size}`);
    reply.header("content-length", range.end - range.start + 1);
  } else {
    reply.header("content-length", size);
  }
  if (request.method === "HEAD") return reply.send();
  return reply.send(await storage.serve(blob.key, range));
}
