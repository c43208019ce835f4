import { json, type Reply } from "../lib/http.ts";

/** The Ark error envelope (docs/providers.md §1.10): HTTP status and `type` by code. */

interface Kind {
  status: number;
  type: string;
}

const BAD_REQUEST: Kind = { status: 400, type: "BadRequest" };
const UNAUTHORIZED: Kind = { status: 401, type: "Unauthorized" };
const FORBIDDEN: Kind = { status: 403, type: "Forbidden" };
const NOT_FOUND: Kind = { status: 404, type: "NotFound" };
const TOO_MANY: Kind = { status: 429, type: "TooManyRequests" };
const INTERNAL: Kind = { status: 500, type: "InternalServiceError" };

const EXACT: Record<string, Kind> = {
  AuthenticationError: UNAUTHORIZED,
  InvalidAccountStatus: UNAUTHORIZED,
  AccountOverdueError: FORBIDDEN,
  AccessDenied: FORBIDDEN,
  ModelNotOpen: NOT_FOUND,
  ResourceNotFound: NOT_FOUND,
  QuotaExceeded: TOO_MANY,
  SetLimitExceeded: TOO_MANY,
  RequestBurstTooFast: TOO_MANY,
  ServerOverloaded: TOO_MANY,
  InflightBatchsizeExceeded: TOO_MANY,
  AccountRateLimitExceeded: TOO_MANY,
  InternalServiceError: INTERNAL,
};

const PREFIXES: Array<[RegExp, Kind]> = [
  [/^(MissingParameter|InvalidParameter|InvalidEndpoint\.|InvalidImageURL)/, BAD_REQUEST],
  [/SensitiveContentDetected|RiskDetection/, BAD_REQUEST],
  [/^OperationDenied\./, FORBIDDEN],
  [/^(InvalidEndpointOrModel\.|NotFound)/, NOT_FOUND],
  [/RateLimitExceeded/, TOO_MANY],
];

export function errorKind(code: string): Kind {
  const exact = EXACT[code];
  if (exact) return exact;
  for (const [re, kind] of PREFIXES) if (re.test(code)) return kind;
  return BAD_REQUEST;
}

const DEFAULT_MESSAGES: Record<string, string> = {
  AuthenticationError: "The API key or AK/SK in the request is missing or invalid.",
  AccountOverdueError: "Your account has an overdue balance. Please top up and try again.",
  QuotaExceeded: "Your account has too many queued tasks or has run out of quota.",
  SetLimitExceeded: "Your account has reached the spending limit set in Safe Experience Mode.",
  "RateLimitExceeded.EndpointRPMExceeded": "The request rate of this endpoint exceeds its RPM limit.",
  "RateLimitExceeded.EndpointTPMExceeded": "The token rate of this endpoint exceeds its TPM limit.",
  ModelAccountRpmRateLimitExceeded: "The request rate of your account for this model exceeds the RPM limit.",
  ModelAccountTpmRateLimitExceeded: "The token rate of your account for this model exceeds the TPM limit.",
  RequestBurstTooFast: "Requests are arriving too fast; please slow down and retry.",
  ServerOverloaded: "The service is overloaded; please retry later.",
  InternalServiceError: "The service encountered an unexpected internal error.",
  InputTextSensitiveContentDetected:
    "The request failed because the input text may contain sensitive information.",
  "InputImageSensitiveContentDetected.PrivacyInformation":
    "The request failed because the input image may contain real-person privacy information.",
  "InputVideoSensitiveContentDetected.PrivacyInformation":
    "The request failed because the input video may contain real-person privacy information.",
  OutputVideoSensitiveContentDetected: "The generated video may contain sensitive information.",
  OutputAudioSensitiveContentDetected: "The generated audio may contain sensitive information.",
  ResourceNotFound: "The specified resource is not found.",
};

export function defaultMessage(code: string): string {
  return DEFAULT_MESSAGES[code] ?? `The request failed: ${code}.`;
}

/** An Ark error response; the message ends with the request id, as the real service does. */
export function arkError(
  code: string,
  requestId: string,
  options: { message?: string; param?: string; status?: number; headers?: Record<string, string> } = {},
): Reply {
  const kind = errorKind(code);
  const message = `${options.message ?? defaultMessage(code)} Request id: ${requestId}`;
  return json(
    options.status ?? kind.status,
    { error: { code, message, param: options.param ?? "", type: kind.type } },
    options.headers ?? {},
  );
}

/** A validation failure raised while checking a create request. */
export class ArkRequestError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly param = "",
  ) {
    super(message);
  }
}

export const invalid = (param: string, why: string) =>
  new ArkRequestError(
    "InvalidParameter",
    `The parameter \`${param}\` specified in the request is not valid: ${why}.`,
    param,
  );

export const missing = (param: string, why = "it is required") =>
  new ArkRequestError(
    "MissingParameter",
    `The request failed because it is missing \`${param}\`: ${why}.`,
    param,
  );
