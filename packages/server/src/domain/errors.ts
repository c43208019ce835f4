/**
 * The one error type every layer throws when a request is refused. The HTTP layer turns it into
 * the contract's `{"error": {message, type, code, param}}` body (docs/api.md §1). Its code is one
 * of the registered ones (error-codes.ts).
 */
import type { ErrorCode, ErrorType } from "./error-codes.ts";

export type { ErrorType } from "./error-codes.ts";

export interface ApiErrorBody {
  error: { message: string; type: ErrorType; code: string; param: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ErrorType,
    readonly code: ErrorCode,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "ApiError";
  }

  toJSON(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

/** 400 invalid_request_error — the most common refusal; `param` is a JSON path into the request. */
export function invalid(code: ErrorCode, message: string, param: string | null = null): ApiError {
  return new ApiError(400, "invalid_request_error", code, message, param);
}

export function notFound(code: ErrorCode, message: string, param: string | null = null): ApiError {
  return new ApiError(404, "not_found_error", code, message, param);
}

/**
 * A value from the request as an error message may repeat it: short, so an answer never echoes
 * an oversized input back (ids are far shorter than 64 characters).
 */
export function shown(value: string, max = 64): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}
