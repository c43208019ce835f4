/**
 * The parts of a multipart request, with a deadline on a stalled parser. The parser
 * (@fastify/busboy 3.2) stops on some malformed bodies — a part without Content-Disposition larger
 * than ~16 KB — and the request then hangs with its connection until the idle timeout, answered by
 * nothing. A stall shows as bytes waiting that nobody reads (the whole message received, or data
 * buffered and unread) while no part comes; after `graceMs` of that the request ends with the
 * contract's 400. A slow client is not a stall: what it sends is read as it comes.
 */
import type { Multipart } from "@fastify/multipart";
import type { FastifyRequest } from "fastify";
import { ApiError } from "../domain/errors.ts";

export async function* multipartParts(request: FastifyRequest, graceMs = 2000): AsyncGenerator<Multipart> {
  const iterator = request.parts()[Symbol.asyncIterator]();
  const waiting = () => request.raw.complete || request.raw.readableLength > 0;
  for (;;) {
    const result = await withinDeadline(iterator.next(), waiting, graceMs);
    if (result.done) return;
    yield result.value;
  }
}

function withinDeadline<T>(next: Promise<T>, bytesWaiting: () => boolean, graceMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let stalledSince = 0;
    const check = setInterval(() => {
      if (!bytesWaiting()) {
        stalledSince = 0;
        return;
      }
      stalledSince ||= Date.now();
      if (Date.now() - stalledSince > graceMs) {
        clearInterval(check);
        reject(
          new ApiError(
            400,
            "invalid_request_error",
            "invalid_multipart",
            "the multipart body could not be read to its end (a part without a Content-Disposition header?); curl -F file=@photo.jpg builds a valid one",
            "file",
          ),
        );
      }
    }, 100);
    next.then(
      (value) => {
        clearInterval(check);
        resolve(value);
      },
      (error: unknown) => {
        clearInterval(check);
        reject(error);
      },
    );
  });
}
