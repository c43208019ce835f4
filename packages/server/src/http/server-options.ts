/**
 * How the HTTP server bounds what a client can hold: body sizes, how long a request may take to
 * arrive, idle connections, how many connections at once, and the refusals the framework makes
 * before any route runs (a malformed path, a path parameter too long), which must still answer
 * in the contract's error shape (docs/deployment.md, "Hardening").
 */
import http from "node:http";
import type { Socket } from "node:net";
import type { Readable } from "node:stream";
import type {
  ConnectionError,
  FastifyError,
  FastifyHttpOptions,
  FastifyInstance,
  FastifyReply,
  FastifyRequest,
} from "fastify";
import type { Config } from "../config.ts";
import { ApiError, type ErrorType } from "../domain/errors.ts";
import { bodyTooLarge, parseJsonBody, type SpooledText } from "./json-body.ts";

type Limits = Pick<
  Config,
  "maxJsonBytes" | "requestTimeoutSeconds" | "idleTimeoutSeconds" | "maxConnections"
>;

/** The longest path parameter; ids are far shorter, and a longer one is refused before routing. */
export const MAX_PARAM_LENGTH = 200;

export function serverOptions(config: Limits): FastifyHttpOptions<http.Server> {
  const requestTimeoutMs = config.requestTimeoutSeconds * 1000;
  return {
    bodyLimit: config.maxJsonBytes,
    // Whole request (headers and body), then inactivity either way (a slow body, a reader that
    // stopped reading a download): both close the connection.
    requestTimeout: requestTimeoutMs,
    connectionTimeout: config.idleTimeoutSeconds * 1000,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    clientErrorHandler: answerClientError,
    http: {
      // Node checks the request timeout on this period (30 s by default): a short timeout needs it
      // checked more often to hold.
      connectionsCheckingInterval: Math.max(250, Math.min(30_000, Math.floor(requestTimeoutMs / 4))),
      headersTimeout: Math.min(requestTimeoutMs, 60_000),
    },
    frameworkErrors: (error: FastifyError, _request: FastifyRequest, reply: FastifyReply) => {
      // Fastify's own answers repeat the raw path, which may be anything a client sent.
      if (error.code === "FST_ERR_MAX_PARAM_LENGTH") {
        return sendError(
          reply,
          414,
          "invalid_request_error",
          "path_too_long",
          `a path segment is longer than ${MAX_PARAM_LENGTH} characters; no id is that long`,
        );
      }
      return sendError(
        reply,
        400,
        "invalid_request_error",
        "invalid_path",
        "the request path is not valid (malformed percent-encoding or characters a URL may not hold)",
      );
    },
  };
}

/**
 * A request node's HTTP parser refused (a raw byte a URL may not hold, headers too large, a
 * request that took too long): answered in the contract's shape, with no body after a HEAD.
 */
function answerClientError(error: ConnectionError, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const [status, code, message] =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? [408, "request_timeout", "the request did not arrive in time"]
      : error.code === "HPE_HEADER_OVERFLOW"
        ? [431, "headers_too_large", "the request headers are too large"]
        : [
            400,
            "invalid_request",
            "the request is not valid HTTP (for example a raw byte a URL may not hold)",
          ];
  // Node hands over the bytes it could not parse, a Buffer whatever the type declarations say.
  const packet = error.rawPacket as unknown;
  const isHead = Buffer.isBuffer(packet) && packet.subarray(0, 5).toString("latin1") === "HEAD ";
  const body = isHead
    ? ""
    : JSON.stringify({ error: { message, type: "invalid_request_error", code, param: null } });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${isHead ? 0 : Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

/** Apply what can only be set on the listening server. */
export function limitConnections(app: FastifyInstance, config: Pick<Config, "maxConnections">): void {
  app.server.maxConnections = config.maxConnections;
}

function sendError(reply: FastifyReply, status: number, type: ErrorType, code: string, message: string) {
  return reply
    .code(status)
    .header("content-type", "application/json; charset=utf-8")
    .send({ error: { message, type, code, param: null } });
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** This route takes data: URLs in its JSON body: long ones stream to a spool file (json-body.ts). */
    spoolDataUrls?: boolean;
  }
  interface FastifyRequest {
    /** Spooled data: URLs of this request's body, by the marker that stands for each in the body. */
    spooled?: Map<string, SpooledText>;
  }
}

/**
 * JSON bodies parsed as they arrive, in bounded memory (json-body.ts). The route's `bodyLimit` is
 * the size limit; a Content-Length over it is refused before a byte is read.
 */
export function installJsonBodies(
  app: FastifyInstance,
  options: { spoolDir: string; maxInMemoryBytes: number },
): void {
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", async (request: FastifyRequest, payload: Readable) => {
    try {
      return await parseJson(request, payload);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      // Fastify answers a parser's error with "Connection: close" and closes while the client may
      // still be sending, which most clients report as a broken connection (EPIPE), never seeing
      // the 413. Refused here, the rest of the body is read and dropped (bounded by the request
      // timeout), the refusal is answered like any other error, and the connection stays usable.
      refusals.set(request, error);
      return undefined;
    }
  });
  app.addHook("preValidation", async (request) => {
    const refusal = refusals.get(request);
    if (refusal) throw refusal;
  });
  const parseJson = async (request: FastifyRequest, payload: Readable) => {
    const maxBytes = request.routeOptions.bodyLimit ?? options.maxInMemoryBytes;
    const declared = Number(request.headers["content-length"]);
    if (Number.isFinite(declared) && declared > maxBytes) throw bodyTooLarge(maxBytes);
    const spool = request.routeOptions.config?.spoolDataUrls
      ? { dir: options.spoolDir, afterChars: 64 * 1024 }
      : undefined;
    const parsed = await parseJsonBody(payload, {
      maxBytes,
      maxInMemoryBytes: Math.min(options.maxInMemoryBytes, maxBytes),
      maxDepth: 64,
      spool,
    });
    if (parsed.spooled.size > 0) {
      request.spooled = parsed.spooled;
      discards.set(request, parsed.discard);
    }
    return parsed.value;
  };
  // The spool files live as long as the request: gone when its response is over, however it ends
  // ('close' comes after the response is sent and when the client goes away first).
  app.addHook("onRequest", async (request, reply) => {
    if (!request.routeOptions.config?.spoolDataUrls) return;
    reply.raw.once("close", () => {
      const discard = discards.get(request);
      discards.delete(request);
      void discard?.();
    });
  });
}

const discards = new WeakMap<FastifyRequest, () => Promise<void>>();
const refusals = new WeakMap<FastifyRequest, ApiError>();
