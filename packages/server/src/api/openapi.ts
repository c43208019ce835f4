import { VERSION_STRING } from "../version.ts";
import { openApiComponents } from "./schemas.ts";

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (name: string) => ({ "application/json": { schema: ref(name) } });
const errorResponses = (...codes: number[]) =>
  Object.fromEntries(
    codes.map((code) => [String(code), { description: ERROR_TEXT[code] ?? "error", content: json("Error") }]),
  );
const ERROR_TEXT: Record<number, string> = {
  400: "Invalid request; `param` names the offending field",
  401: "Missing, invalid or revoked API key",
  403: "The key may not do this",
  404: "Unknown, or owned by another account",
  409: "Conflict (Idempotency-Key reused with another body, or the task is not in a state that allows this)",
  413: "Upload too large",
  415: "Media type not accepted",
  416: "Range not satisfiable",
};
const idParam = (name: string, description: string) => ({
  name,
  in: "path",
  required: true,
  schema: { type: "string" },
  description,
});
const listParams = [
  { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 100, default: 20 } },
  {
    name: "after",
    in: "query",
    schema: { type: "string" },
    description: "`next_cursor` of the previous page",
  },
];

const DELIVERY = {
  type: "object",
  properties: {
    id: { type: "string", description: "msg_… — also the webhook-id header, stable across retries" },
    object: { const: "webhook_delivery" },
    task_id: { type: "string" },
    url: { type: "string" },
    status: { enum: ["pending", "delivered", "exhausted", "gone"] },
    attempts: {
      type: "array",
      items: {
        type: "object",
        properties: {
          attempted_at: { type: "number" },
          status_code: { type: ["integer", "null"] },
          latency_ms: { type: "integer" },
          error: { type: ["string", "null"] },
        },
      },
    },
    next_attempt_at: { type: ["integer", "null"] },
    created_at: { type: "integer" },
    delivered_at: { type: ["integer", "null"] },
  },
};
const DELIVERY_LIST = {
  type: "object",
  properties: { object: { const: "list" }, data: { type: "array", items: DELIVERY } },
};
const SECRET = {
  type: "object",
  properties: {
    object: { const: "webhook_secret" },
    secret: { type: "string", description: "whsec_…" },
    previous_secret_expires_at: { type: ["integer", "null"] },
    rotated_at: { type: ["integer", "null"] },
  },
};

/**
 * The OpenAPI 3.1 document. Component schemas come from the zod schemas in `schemas.ts`, the
 * same ones the catalog validator agrees with, so the document cannot drift from the code.
 */
export function buildOpenApiDocument(publicUrl: string): Record<string, unknown> {
  return {
    openapi: "3.1.0",
    info: {
      title: "vidrelay — RelayDance v1 API",
      version: VERSION_STRING,
      description:
        "Upload reference media, submit a video generation task, poll it (or receive a webhook), download the mp4. " +
        'Every error is `{"error": {message, type, code, param}}`.',
      license: { name: "Apache-2.0" },
    },
    servers: [{ url: publicUrl }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "An API key: sk-…" } },
      schemas: openApiComponents(),
    },
    paths: {
      "/v1/files": {
        post: {
          summary: "Upload reference media (image, video or audio)",
          operationId: "uploadFile",
          requestBody: {
            required: true,
            content: {
              "multipart/form-data": {
                schema: {
                  type: "object",
                  required: ["file"],
                  properties: {
                    file: {
                      type: "string",
                      format: "binary",
                      description: "The media file; its type is sniffed from the bytes",
                    },
                    purpose: { type: "string", description: "Accepted and ignored" },
                  },
                },
              },
            },
          },
          responses: {
            200: { description: "The stored file", content: json("File") },
            ...errorResponses(400, 401, 413, 415),
          },
        },
        get: {
          summary: "List files",
          operationId: "listFiles",
          parameters: listParams,
          responses: {
            200: { description: "A page of files", content: json("FileList") },
            ...errorResponses(400, 401),
          },
        },
      },
      "/v1/files/{file_id}": {
        parameters: [idParam("file_id", "file_…")],
        get: {
          summary: "Get a file",
          operationId: "getFile",
          responses: { 200: { description: "The file", content: json("File") }, ...errorResponses(401, 404) },
        },
        delete: {
          summary: "Delete a file",
          operationId: "deleteFile",
          responses: {
            200: {
              description: "Deleted",
              content: {
                "application/json": {
                  schema: {
                    type: "object",
                    properties: {
                      id: { type: "string" },
                      object: { const: "file" },
                      deleted: { const: true },
                    },
                  },
                },
              },
            },
            ...errorResponses(401, 404),
          },
        },
      },
      "/v1/video/generations": {
        post: {
          summary: "Submit a video generation task",
          operationId: "createVideo",
          parameters: [
            {
              name: "Idempotency-Key",
              in: "header",
              schema: { type: "string", maxLength: 255 },
              description: "The same key and body within 24 h returns the same task; another body is a 409",
            },
          ],
          requestBody: { required: true, content: json("SubmitBody") },
          responses: {
            200: { description: "The accepted task", content: json("TaskCreated") },
            ...errorResponses(400, 401, 403, 404, 409),
          },
        },
        get: {
          summary: "List tasks",
          operationId: "listVideos",
          parameters: [
            ...listParams,
            {
              name: "status",
              in: "query",
              schema: { enum: ["submitted", "running", "succeeded", "failed"] },
            },
            { name: "model", in: "query", schema: { type: "string" } },
          ],
          responses: {
            200: { description: "A page of tasks", content: json("TaskList") },
            ...errorResponses(400, 401),
          },
        },
      },
      "/v1/video/generations/{task_id}": {
        parameters: [idParam("task_id", "task_…")],
        get: {
          summary: "Get a task",
          operationId: "getVideo",
          responses: {
            200: { description: "The task object", content: json("Task") },
            ...errorResponses(401, 404),
          },
        },
      },
      "/v1/video/generations/{task_id}/cancel": {
        parameters: [idParam("task_id", "task_…")],
        post: {
          summary: "Cancel a task (it becomes failed with error.code = cancelled)",
          operationId: "cancelVideo",
          responses: {
            200: { description: "The cancelled task", content: json("Task") },
            ...errorResponses(401, 404, 409),
          },
        },
      },
      "/v1/video/generations/{task_id}/content": {
        parameters: [idParam("task_id", "task_…")],
        get: {
          summary: "Download the video (Range supported)",
          operationId: "downloadVideo",
          responses: {
            200: {
              description: "The mp4",
              content: { "video/mp4": { schema: { type: "string", format: "binary" } } },
            },
            206: { description: "A byte range of the mp4" },
            ...errorResponses(401, 404, 409, 416),
          },
        },
      },
      "/v1/video/generations/{task_id}/events": {
        parameters: [idParam("task_id", "task_…")],
        get: {
          summary: "Server-Sent Events: `task` events with the task object on every change, then `done`",
          operationId: "videoEvents",
          responses: {
            200: {
              description: "An event stream",
              content: { "text/event-stream": { schema: { type: "string" } } },
            },
            ...errorResponses(401, 404),
          },
        },
      },
      "/v1/video/generations/{task_id}/deliveries": {
        parameters: [idParam("task_id", "task_…")],
        get: {
          summary: "Webhook deliveries of a task, with every attempt",
          operationId: "listDeliveries",
          responses: {
            200: { description: "Deliveries", content: { "application/json": { schema: DELIVERY_LIST } } },
            ...errorResponses(401, 404),
          },
        },
      },
      "/v1/video/generations/{task_id}/deliveries/{delivery_id}/replay": {
        parameters: [idParam("task_id", "task_…"), idParam("delivery_id", "msg_… (the webhook-id)")],
        post: {
          summary: "Send an exhausted or gone delivery again (same webhook-id, a fresh retry budget)",
          operationId: "replayDelivery",
          responses: {
            200: { description: "The delivery", content: { "application/json": { schema: DELIVERY } } },
            ...errorResponses(401, 404, 409),
          },
        },
      },
      "/v1/webhook-secret": {
        get: {
          summary: "The account's webhook signing secret (Standard Webhooks `whsec_…`)",
          operationId: "getWebhookSecret",
          responses: {
            200: { description: "The secret", content: { "application/json": { schema: SECRET } } },
            ...errorResponses(401),
          },
        },
      },
      "/v1/webhook-secret/rotate": {
        post: {
          summary: "Rotate the secret; both signatures are sent during the grace period",
          operationId: "rotateWebhookSecret",
          requestBody: {
            content: {
              "application/json": {
                schema: {
                  type: "object",
                  properties: { grace_seconds: { type: "integer", minimum: 0, maximum: 604800 } },
                },
              },
            },
          },
          responses: {
            200: { description: "The new secret", content: { "application/json": { schema: SECRET } } },
            ...errorResponses(400, 401),
          },
        },
      },
      "/v1/models": {
        get: {
          summary: "List the models this key may use, with capabilities",
          operationId: "listModels",
          responses: { 200: { description: "Models", content: json("ModelList") }, ...errorResponses(401) },
        },
      },
      "/v1/models/{model_id}": {
        parameters: [idParam("model_id", "a catalog model id")],
        get: {
          summary: "Get one model",
          operationId: "getModel",
          responses: {
            200: { description: "The model", content: json("Model") },
            ...errorResponses(401, 404),
          },
        },
      },
    },
  };
}
