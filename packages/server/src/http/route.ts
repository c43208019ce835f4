/**
 * Routes declared with their schemas. One zod schema per part (path params, query, body,
 * response) does three jobs: it validates the request before the handler runs (a failure is the
 * contract's 400 with the offending field in `param`), it types the handler's input and output,
 * and it is what `/openapi.json` publishes (see `openapi.ts`, which reads the declarations back
 * from the registered routes — a route cannot be served and missing from the document).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteShorthandOptions } from "fastify";
import { type core, z } from "zod";
import type { ErrorCode } from "../domain/error-codes.ts";
import { ApiError, invalid, shown } from "../domain/errors.ts";
import { assertAdmin, type Caller } from "./caller.ts";

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

/**
 * Who may call a route: a key (the /v1 scope), an admin key, nobody in particular, a capability URL
 * (the unguessable URL is the credential), or the operator (the route's `authorize`, e.g. the
 * metrics token).
 */
export type RouteAuth = "key" | "admin" | "public" | "capability" | "operator";

/** A non-JSON response (a video, an event stream) or one described without a schema. */
export interface RawResponse {
  description: string;
  /** Content type → JSON Schema of the body (for binary bodies `{type:"string", format:"binary"}`). */
  content?: Record<string, { schema: Record<string, unknown> }>;
  /** Further statuses, e.g. 206 for a range. */
  alsoStatuses?: Record<number, string>;
}

/** How the request body is read. */
export type BodyMode =
  /** JSON validated by `body` before the handler runs. */
  | "validated"
  /**
   * JSON documented by `body` but validated by the domain: the submit body's compatibility
   * forms and field-path errors are the catalog validator's job (catalog/validate.ts), and it
   * accepts exactly what the loose `SubmitBody` schema describes (test/catalog/validate.test.ts).
   */
  | "domain"
  /** multipart/form-data, documented by `body`, streamed by the handler. */
  | "multipart";

export interface RouteSpec<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends z.ZodType | RawResponse = z.ZodType | RawResponse,
  H extends HeaderSchema | undefined = HeaderSchema | undefined,
> {
  method: HttpMethod;
  /** Fastify path (`/v1/files/:id`); the document shows it as `/v1/files/{id}`. */
  url: string;
  operationId: string;
  summary: string;
  description?: string;
  /** The concern, for grouping in the reference (`Tasks`, `Files`, `Billing`, …). */
  tag: string;
  auth: RouteAuth;
  /** With `auth: "operator"`: throws the route's 401 unless the request carries the operator's credential. */
  authorize?: (request: FastifyRequest) => Promise<void>;
  params?: P;
  query?: Q;
  body?: B;
  bodyMode?: BodyMode;
  /**
   * Request headers the route reads, keyed by their canonical name (`Idempotency-Key`): parsed
   * (the first value of a repeated header), validated like any other part (`param` is the header's
   * name) and handed to the handler typed; documented as header parameters.
   */
  headers?: H;
  /** The 200 body: a zod schema (JSON), or a raw description. */
  response: R;
  /** Error statuses this route answers with (documented with the error body). */
  errors: number[];
  /** Further bodiless statuses of a JSON route, e.g. 304 for a conditional GET. */
  alsoStatuses?: Record<number, string>;
  /** Fastify route options (bodyLimit, preHandler, …). */
  options?: RouteShorthandOptions;
}

/** Header schemas are objects of optional strings: a header is text, and may be absent. */
export type HeaderSchema = z.ZodObject<Record<string, z.ZodOptional<z.ZodType<string | undefined>>>>;

type Out<T> = T extends z.ZodType ? z.output<T> : undefined;
type Reply<R> = R extends z.ZodType ? z.input<R> : unknown;

export interface RouteInput<P, Q, B, H = undefined> {
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  headers: Out<H>;
  request: FastifyRequest;
  reply: FastifyReply;
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** The declaration a route was registered with (read back for the OpenAPI document). */
    spec?: AnyRouteSpec;
  }
}

/**
 * Register a route from its declaration: `route(app, spec)(handler)`. The handler receives the
 * parsed `params`, `query` and `body` (zod output types) and returns the response schema's input
 * type. (Two calls, so the declaration's types are fixed before the handler is checked against
 * them; in one call TypeScript widens the handler's literals while it is still inferring.)
 */
export function route<
  P extends z.ZodType | undefined = undefined,
  Q extends z.ZodType | undefined = undefined,
  B extends z.ZodType | undefined = undefined,
  R extends z.ZodType | RawResponse = RawResponse,
  H extends HeaderSchema | undefined = undefined,
>(
  app: FastifyInstance,
  spec: RouteSpec<P, Q, B, R, H>,
): (handler: (input: RouteInput<P, Q, B, H>) => Promise<Reply<R>>) => void {
  return (handler) => register(app, spec as AnyRouteSpec, handler);
}

type AnyRouteSpec = RouteSpec<
  z.ZodType | undefined,
  z.ZodType | undefined,
  z.ZodType | undefined,
  z.ZodType | RawResponse,
  HeaderSchema | undefined
>;

function register<P, Q, B, R, H>(
  app: FastifyInstance,
  spec: AnyRouteSpec,
  handler: (input: RouteInput<P, Q, B, H>) => Promise<Reply<R>>,
): void {
  const validateBody = spec.body !== undefined && (spec.bodyMode ?? "validated") === "validated";
  app.route({
    ...spec.options,
    method: spec.method,
    url: spec.url,
    config: { ...spec.options?.config, spec },
    // The declared `auth` is enforced here, before anything of the route's own runs.
    preHandler: [authGuard(spec), ...asArray(spec.options?.preHandler)],
    handler: async (request, reply) => {
      const params = spec.params ? parsePart(spec.params, request.params, "path") : undefined;
      const query = spec.query ? parsePart(spec.query, request.query ?? {}, "query") : undefined;
      const body = validateBody ? parsePart(spec.body!, request.body ?? {}, "body") : request.body;
      const headers = spec.headers
        ? parsePart(spec.headers, declaredHeaders(spec.headers, request), "header")
        : undefined;
      return handler({ params, query, body, headers, request, reply } as RouteInput<P, Q, B, H>);
    },
  });
}

/**
 * The check a route's declared `auth` stands for. Keys are authenticated by the /v1 scope's hook
 * (app-routes.ts), which every keyed route must sit under; a route declared otherwise is a bug that
 * fails at registration, not a route that silently answers without a key.
 */
function authGuard(spec: Pick<RouteSpec, "auth" | "url" | "method" | "authorize">) {
  const keyed = spec.auth === "key" || spec.auth === "admin";
  if (keyed !== spec.url.startsWith("/v1/")) {
    throw new Error(
      `${spec.method} ${spec.url} is declared auth "${spec.auth}": keyed routes live under /v1/ (whose hook authenticates) and only they do`,
    );
  }
  if ((spec.auth === "operator") !== (spec.authorize !== undefined)) {
    throw new Error(`${spec.method} ${spec.url}: \`authorize\` goes with auth "operator", and only with it`);
  }
  return async (request: FastifyRequest): Promise<void> => {
    if (spec.authorize) return spec.authorize(request);
    if (!keyed) return;
    const caller = (request as FastifyRequest & { principal?: Caller | null }).principal;
    if (!caller)
      throw new ApiError(401, "authentication_error", "missing_api_key", "this endpoint needs an API key");
    if (spec.auth === "admin") assertAdmin(caller);
  };
}

/** The declared headers' values by canonical name (the first of a repeated header; absent ones left out). */
function declaredHeaders(schema: HeaderSchema, request: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = request.headers[name.toLowerCase()];
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) out[name] = first;
  }
  return out;
}

function asArray<T>(value: T | T[] | undefined): T[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/**
 * Error codes for fields whose failure has a code of its own (`invalid_limit`, `invalid_amount`),
 * set with `withErrorCode`. Without one a failure is `invalid_type` (wrong JSON type) or
 * `invalid_value` (right type, refused value).
 */
const errorCodes = z.registry<{ errorCode: ErrorCode }>();

export function withErrorCode<T extends z.ZodType>(schema: T, errorCode: ErrorCode): T {
  errorCodes.add(schema, { errorCode });
  return schema;
}

/** Validate a body the handler assembled itself (e.g. from multipart fields) exactly as a JSON body is. */
export function parseBody<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  return parsePart(schema, value, "body") as z.output<T>;
}

function parsePart(schema: z.ZodType, value: unknown, part: "path" | "query" | "body" | "header"): unknown {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  // An unknown field is named by its own path, so the client sees which one to drop (shortened:
  // a key can be as long as the body allows).
  const path = issue.code === "unrecognized_keys" ? [...issue.path, shown(issue.keys[0]!)] : issue.path;
  const param = path.length > 0 ? formatPath(path) : part === "body" ? null : part;
  const code =
    codeAt(schema, issue.path) ??
    (issue.code === "unrecognized_keys"
      ? "unknown_field"
      : issue.code === "invalid_type" && !(part === "body" && issue.path.length === 0)
        ? "invalid_type"
        : issue.path.length === 0 && part === "body"
          ? "invalid_body"
          : "invalid_value");
  throw invalid(code, messageOf(issue, param), param);
}

/** The field's own code, if the schema at `path` (or one it wraps) registered one. */
function codeAt(root: z.ZodType, path: PropertyKey[]): ErrorCode | undefined {
  let node: z.ZodType | undefined = root;
  for (const key of path) {
    node = unwrap(node);
    if (node instanceof z.ZodObject) node = (node.shape as Record<string, z.ZodType>)[String(key)];
    else if (node instanceof z.ZodArray) node = node.element as z.ZodType;
    else return undefined;
    if (!node) return undefined;
  }
  for (let n: z.ZodType | undefined = node; n; n = inner(n)) {
    const code = errorCodes.get(n)?.errorCode;
    if (code) return code;
  }
  return undefined;
}

function inner(schema: z.ZodType): z.ZodType | undefined {
  const def = (schema as unknown as { _zod: { def: { innerType?: z.ZodType; in?: z.ZodType } } })._zod.def;
  return def.innerType ?? def.in;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let n = schema;
  for (let next = inner(n); next; next = inner(n)) n = next;
  return n;
}

/** `metadata.content[2].role` — the contract's way of naming a field (a key shortened: it is input). */
export function formatPath(path: PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${shown(String(key))}` : shown(String(key));
  }
  return out;
}

/** A schema's custom message stands as written; zod's default gets the field name in front. */
function messageOf(issue: core.$ZodIssue, param: string | null): string {
  if (issue.code === "unrecognized_keys") return `${param} is not a field this endpoint takes; remove it`;
  const message = issue.message;
  if (!param || message.includes(param)) return message;
  return `${param}: ${message}`;
}
