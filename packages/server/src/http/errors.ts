import type { FastifyError, FastifyInstance, FastifyReply } from "fastify";
import { ApiError, type ApiErrorBody } from "../domain/errors.ts";
import { isStorageUnavailable } from "../storage/unavailable.ts";
import { isStoreUnavailable } from "../store/unavailable.ts";

/**
 * Outages after which the request may simply be sent again (a submit with its Idempotency-Key), so
 * the answer says so instead of "internal error": Postgres restarting or failing over, a dropped
 * connection; the media storage unavailable.
 */
const OUTAGES = [
  {
    is: isStoreUnavailable,
    what: "store",
    code: "store_unavailable",
    retryAfter: "2",
    message:
      "the gateway's database is unreachable at the moment; retry in a few seconds (a submit with the same Idempotency-Key is safe to repeat)",
  },
  {
    is: isStorageUnavailable,
    what: "storage",
    code: "storage_unavailable",
    retryAfter: "5",
    message:
      "the gateway's media storage is unavailable at the moment; nothing was kept, retry in a few seconds",
  },
];

/** Map every failure to the contract's error JSON (docs/api.md §1), including Fastify's own errors. */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | ApiError | Error, request, reply) => {
    if (error instanceof ApiError) {
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      return reply.code(error.status).send(bounded(error.toJSON()));
    }
    const fastifyError = error as FastifyError;
    const code = fastifyError.code;
    const mapped = mapFastifyError(code, fastifyError);
    if (mapped) return reply.code(mapped.status).send(bounded(mapped.toJSON()));
    const outage = OUTAGES.find((o) => o.is(error));
    if (outage) {
      request.log.warn({ err: error }, `${outage.what} unavailable`);
      const busy = reply.code(503).header("retry-after", outage.retryAfter);
      return serverError(busy, outage.code, outage.message);
    }
    request.log.error({ err: error }, "unhandled error");
    return serverError(
      reply.code(500),
      "internal_error",
      `internal error; retry with back-off, and report request id ${request.id} if it persists`,
    );
  });

  app.setNotFoundHandler((request, reply) => {
    reply.code(404).send({
      error: {
        message: `no route ${request.method} ${shownPath(request.url)}; see /docs for the API reference`,
        type: "not_found_error",
        code: "route_not_found",
        param: null,
      },
    });
  });
}

function mapFastifyError(code: string | undefined, error: FastifyError): ApiError | undefined {
  switch (code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ApiError(
        400,
        "invalid_request_error",
        "invalid_json",
        `the request body is not valid JSON (${error.message}); send a JSON object with Content-Type: application/json`,
      );
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError(
        413,
        "invalid_request_error",
        "body_too_large",
        "the request body is too large",
        null,
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError(
        415,
        "invalid_request_error",
        "unsupported_content_type",
        "unsupported Content-Type: send application/json (or multipart/form-data for POST /v1/files)",
      );
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return new ApiError(
        400,
        "invalid_request_error",
        "invalid_content_length",
        "Content-Length does not match the body",
      );
    case "FST_INVALID_MULTIPART_CONTENT_TYPE":
      return new ApiError(
        400,
        "invalid_request_error",
        "invalid_multipart",
        "POST /v1/files takes multipart/form-data with the file in the field 'file'",
        "file",
      );
    case "FST_REQ_FILE_TOO_LARGE":
      return new ApiError(413, "invalid_request_error", "file_too_large", error.message, "file");
    case "FST_PROTO_VIOLATION":
    case "FST_MP_PREMATURE_CLOSE":
    case "FST_INVALID_JSON_FIELD_ERROR":
      return malformedMultipart();
    case "FST_PARTS_LIMIT":
    case "FST_FILES_LIMIT":
    case "FST_FIELDS_LIMIT":
      return new ApiError(400, "invalid_request_error", "invalid_multipart", error.message, "file");
    default:
      // busboy's own parse errors carry no code.
      if (/^Multipart: |unexpected end of multipart data|^Malformed part header/i.test(error.message ?? "")) {
        return malformedMultipart();
      }
      if (typeof error.statusCode === "number" && error.statusCode >= 400 && error.statusCode < 500) {
        return new ApiError(error.statusCode, "invalid_request_error", "bad_request", error.message);
      }
      return undefined;
  }
}

/** A request path as an error message may repeat it: printable ASCII only, and not too long. */
/** A failure of the gateway itself (not the request) in the contract's error JSON. */
function serverError(reply: FastifyReply, code: string, message: string): FastifyReply {
  return reply.send({ error: { message, type: "server_error", code, param: null } });
}

function shownPath(url: string): string {
  const path = url.split("?")[0]!.replace(/[^\x21-\x7e]/g, "?");
  return path.length > 80 ? `${path.slice(0, 80)}…` : path;
}

function malformedMultipart(): ApiError {
  return new ApiError(
    400,
    "invalid_request_error",
    "invalid_multipart",
    "the multipart body is malformed or cut short (a boundary in Content-Type that the body uses, and a complete final part); curl -F file=@photo.jpg builds one",
    "file",
  );
}

/**
 * The last guard against echoing an oversized input: a message that quotes one (a zod message
 * naming a value, a framework message) is cut, and so is `param`.
 */
function bounded(body: ApiErrorBody): ApiErrorBody {
  const { message, param } = body.error;
  if (message.length <= MAX_MESSAGE && (param === null || param.length <= MAX_PARAM)) return body;
  return {
    error: {
      ...body.error,
      message: message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message,
      param: param !== null && param.length > MAX_PARAM ? `${param.slice(0, MAX_PARAM)}…` : param,
    },
  };
}

const MAX_MESSAGE = 600;
const MAX_PARAM = 120;
