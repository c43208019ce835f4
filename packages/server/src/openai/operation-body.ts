/**
 * The body of `POST /v1/videos/edits` and `/v1/videos/extensions` as the `openai` SDK sends it:
 * multipart/form-data with the source as a file part named `video` (stored as it streams, sniffed
 * and limited like any upload) or as a `video[id]` field, or JSON with `video: {id}` (LiteLLM and
 * other gateways).
 */
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { invalid } from "../domain/errors.ts";
import type { Operation } from "../domain/request.ts";
import { multipartParts } from "../http/multipart.ts";
import { parseBody } from "../http/route.ts";
import { VideoEditBody, VideoExtendBody, type VideoOperationBody, VideoReferenceJson } from "./schemas.ts";
import type { OpenAiVideos, VideoSource } from "./service.ts";

export interface OperationRequest {
  body: VideoOperationBody;
  source: VideoSource | undefined;
}

const schemaOf = (operation: Operation) => (operation === "edit" ? VideoEditBody : VideoExtendBody);

export function readOperationJson(operation: Operation, json: unknown): OperationRequest {
  const { video, ...body } = parseBody(schemaOf(operation).strict(), json ?? {});
  return { body, source: video ? { kind: "id", id: video.id } : undefined };
}

export async function readOperationForm(
  operation: Operation,
  request: FastifyRequest,
  videos: Pick<OpenAiVideos, "storeSource">,
): Promise<OperationRequest> {
  const fields: Record<string, string> = {};
  let stored: VideoSource | undefined;
  for await (const part of multipartParts(request)) {
    if (part.type === "field") {
      fields[part.fieldname] = String(part.value);
      continue;
    }
    if (part.fieldname !== "video" || stored) {
      part.file.resume();
      throw invalid(
        "unexpected_file",
        `unexpected file field '${part.fieldname}'; send one video as video`,
        part.fieldname,
      );
    }
    stored = {
      kind: "stored",
      file: await videos.storeSource(request.principal, part.file, part.filename || "video.mp4"),
    };
  }
  const { "video[id]": id, video: encoded, ...rest } = fields;
  const body = parseBody(schemaOf(operation).omit({ video: true }).strict(), rest);
  if (stored) return { body, source: stored };
  if (id !== undefined) return { body, source: { kind: "id", id } };
  if (encoded === undefined) return { body, source: undefined };
  let given: unknown;
  try {
    given = JSON.parse(encoded);
  } catch {
    throw invalid("invalid_value", 'video must be a file part, or JSON such as {"id": "task_…"}', "video");
  }
  const ref = parseBody(z.object({ video: VideoReferenceJson }), { video: given });
  return { body, source: { kind: "id", id: ref.video.id } };
}
