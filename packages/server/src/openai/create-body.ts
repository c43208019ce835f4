/**
 * The body of `POST /v1/videos` as the `openai` SDK sends it: JSON, or multipart/form-data with an
 * `input_reference` file part (stored as it streams, sniffed and limited like any upload) or
 * `input_reference[image_url]` / `input_reference[file_id]` fields.
 */
import type { FastifyRequest } from "fastify";
import { z } from "zod";
import { invalid } from "../domain/errors.ts";
import { multipartParts } from "../http/multipart.ts";
import { parseBody } from "../http/route.ts";
import { InputReferenceJson, VideoCreateBody } from "./schemas.ts";
import type { InputReference, OpenAiVideos } from "./service.ts";

type CreateFields = Omit<z.output<typeof VideoCreateBody>, "input_reference">;

export interface CreateRequest {
  body: CreateFields;
  reference: InputReference | undefined;
}

function referenceOf(ref: z.output<typeof InputReferenceJson>): InputReference {
  return "image_url" in ref
    ? { kind: "image_url", url: ref.image_url }
    : { kind: "file_id", id: ref.file_id };
}

export function readCreateJson(json: unknown): CreateRequest {
  const { input_reference, ...body } = parseBody(VideoCreateBody.strict(), json ?? {});
  return { body, reference: input_reference ? referenceOf(input_reference) : undefined };
}

export async function readCreateForm(
  request: FastifyRequest,
  videos: Pick<OpenAiVideos, "storeUpload">,
): Promise<CreateRequest> {
  // Parts may come in any order: a file part is stored as it streams, the fields are validated
  // once all have arrived.
  const fields: Record<string, string> = {};
  let stored: InputReference | undefined;
  for await (const part of multipartParts(request)) {
    if (part.type === "field") {
      fields[part.fieldname] = String(part.value);
      continue;
    }
    if (part.fieldname !== "input_reference" || stored) {
      part.file.resume();
      throw invalid(
        "unexpected_file",
        `unexpected file field '${part.fieldname}'; send one image as input_reference`,
        part.fieldname,
      );
    }
    stored = {
      kind: "stored",
      file: await videos.storeUpload(request.principal, part.file, part.filename || "input_reference"),
    };
  }
  // The openai SDK sends {image_url} / {file_id} as `input_reference[image_url]` fields; a
  // JSON-encoded `input_reference` field is read too.
  const {
    input_reference: encoded,
    "input_reference[image_url]": imageUrl,
    "input_reference[file_id]": fileId,
    ...rest
  } = fields;
  const body = parseBody(VideoCreateBody.omit({ input_reference: true }).strict(), rest);
  if (stored || (imageUrl === undefined && fileId === undefined && encoded === undefined)) {
    return { body, reference: stored };
  }
  let given: unknown = imageUrl !== undefined ? { image_url: imageUrl } : { file_id: fileId };
  if (encoded !== undefined) {
    try {
      given = JSON.parse(encoded);
    } catch {
      throw invalid(
        "invalid_input_reference",
        'input_reference must be a file part, or JSON such as {"image_url": "https://…"} or {"file_id": "file_…"}',
        "input_reference",
      );
    }
  }
  const ref = parseBody(z.object({ input_reference: InputReferenceJson }), { input_reference: given });
  return { body, reference: referenceOf(ref.input_reference) };
}
