/**
 * Schema pieces every concern's routes share: time stamps, the error body (docs/api.md §1), list
 * envelopes, the paging query, and the conversion of a zod schema to the JSON Schema that
 * `/openapi.json` publishes.
 */
import { z } from "zod";
import { ERROR_TYPES } from "../domain/error-codes.ts";
import { withErrorCode } from "./route.ts";

export const UnixSeconds = z.int().min(0).describe("Unix time, seconds.");

// ---------------------------------------------------------------------------------------------
// §1 Errors

export const ErrorType = z
  .enum(ERROR_TYPES)
  .describe("Error class; the HTTP status follows from it (docs/api.md §1).");

export const ErrorBody = z
  .object({
    error: z.object({
      message: z.string().describe("What went wrong and what to do about it, for a person."),
      type: ErrorType,
      code: z
        .string()
        .describe(
          "Stable machine-readable code, e.g. `model_not_found`, `unsupported_by_model`, `invalid_url`.",
        ),
      param: z
        .string()
        .nullable()
        .describe(
          "JSON path of the offending request field, e.g. `metadata.content[2].role`; null when none.",
        ),
    }),
  })
  .meta({
    title: "Error",
    description: "Every error response has this body.",
    examples: [
      {
        error: {
          message: "seconds must be a whole number from 4 to 12 for seedance-1-5-pro-with-audio; got 15.",
          type: "invalid_request_error",
          code: "unsupported_by_model",
          param: "seconds",
        },
      },
    ],
  });

// ---------------------------------------------------------------------------------------------
// Lists

export function listEnvelope<T extends z.ZodType>(item: T, title: string, paginated = true) {
  return z
    .object({
      object: z.literal("list"),
      data: z.array(item),
      has_more: paginated ? z.boolean() : z.boolean().optional(),
      next_cursor: z
        .string()
        .nullish()
        .describe("Pass as `after` to get the next page; null or absent on the last."),
    })
    .meta({ title });
}

/** A list without a cursor: `{ object: "list", data, has_more }`. */
export function plainList<T extends z.ZodType>(item: T, title: string) {
  return z.object({ object: z.literal("list"), data: z.array(item), has_more: z.boolean() }).meta({ title });
}

const LIMIT_MESSAGE = "limit must be a whole number from 1 to 100";

/** `?limit=1..100` (default 20) and `?after=<next_cursor>`. */
export const PageQuery = z.object({
  limit: withErrorCode(
    z.coerce
      .number({ error: LIMIT_MESSAGE })
      .int({ error: LIMIT_MESSAGE })
      .min(1, { error: LIMIT_MESSAGE })
      .max(100, { error: LIMIT_MESSAGE }),
    "invalid_limit",
  )
    .default(20)
    .describe("Page size, 1–100."),
  after: z.string().optional().describe("`next_cursor` of the previous page."),
});

/** A path with one id in it: `{task_id}`, `{file_id}`, … */
export function idParams<K extends string>(name: K, description: string) {
  return z.object({ [name]: z.string().describe(description) } as Record<K, z.ZodString>);
}

// ---------------------------------------------------------------------------------------------
// OpenAPI

export type JsonSchema = Record<string, unknown>;

/**
 * A self-contained JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1 Schema Objects) for
 * embedding in an OpenAPI 3.1 document: no `$schema`, no `$defs`/`$ref` (everything inlined), and
 * no `additionalProperties` (clients must tolerate new fields; unknown request fields are ignored).
 * Use `io: "input"` for request bodies, `"output"` (default) for responses.
 */
export function toJsonSchema(schema: z.ZodType, options: { io?: "input" | "output" } = {}): JsonSchema {
  const json = z.toJSONSchema(schema, {
    target: "draft-2020-12",
    io: options.io ?? "output",
    unrepresentable: "any",
    reused: "inline",
    cycles: "throw",
    override: ({ jsonSchema }) => {
      const node = jsonSchema as JsonSchema;
      delete node.additionalProperties;
      // z.int() bounds itself to the safe-integer range; that is noise in the document.
      if (node.maximum === Number.MAX_SAFE_INTEGER) delete node.maximum;
      if (node.minimum === Number.MIN_SAFE_INTEGER) delete node.minimum;
    },
  }) as JsonSchema;
  delete json.$schema;
  return json;
}

/**
 * The Idempotency-Key header of a create: `what` names the object a replay returns. The rule is the
 * one TaskService applies to any caller; here it refuses a bad key before the body is read.
 */
export function idempotencyHeaders(what: string) {
  return z.object({
    "Idempotency-Key": withErrorCode(
      z.string().regex(/^[\x21-\x7e]{1,255}$/, {
        error: "Idempotency-Key must be 1–255 printable ASCII characters without spaces",
      }),
      "invalid_idempotency_key",
    )
      .optional()
      .describe(`The same key and body within 24 h returns the same ${what}; another body is a 409`),
  });
}

/** A conditional GET's header. */
export const IfNoneMatchHeaders = z.object({
  "If-None-Match": z
    .string()
    .optional()
    .describe("The ETag of an earlier answer: 304 with no body while the object is unchanged."),
});
