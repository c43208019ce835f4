/** The file routes (docs/api.md §2): upload (multipart, streamed), list, get, delete. */
import multipart from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Config } from "../config.ts";
import { invalid } from "../domain/errors.ts";
import { multipartParts } from "../http/multipart.ts";
import { listEnvelope } from "../http/pagination.ts";
import { route } from "../http/route.ts";
import { idParams, PageQuery } from "../http/schema.ts";
import { ownerOf } from "../keys/auth.ts";
import { decodeCursor } from "../store/pagination.ts";
import { FileDeleted, FileList, FileObject } from "./schemas.ts";
import type { FileService } from "./service.ts";

/** Every route here is in the Files section of the reference and needs a key. */
const KEYED = { tag: "Files", auth: "key" } as const;

export interface FileRouteDeps {
  config: Pick<Config, "maxImageBytes" | "maxVideoBytes" | "maxAudioBytes">;
  files: FileService;
}

const FileParams = idParams("file_id", "file_…");

/** The upload form, for the document: the handler streams it part by part. */
const UploadForm = z
  .object({
    file: z
      .string()
      .meta({ format: "binary" })
      .describe("The media file; its type is sniffed from the bytes"),
    purpose: z.string().optional().describe("Accepted and ignored"),
  })
  .meta({ title: "FileUpload" });

export async function fileRoutes(app: FastifyInstance, { config, files }: FileRouteDeps): Promise<void> {
  // Registered here, not for all of /v1: its hooks would otherwise run on every JSON request.
  await app.register(multipart, {
    limits: {
      fileSize: Math.max(config.maxImageBytes, config.maxVideoBytes, config.maxAudioBytes) + 1,
      files: 1,
      fields: 10,
      parts: 12,
    },
  });

  route(app, {
    method: "POST",
    url: "/v1/files",
    operationId: "uploadFile",
    summary: "Upload reference media (image, video or audio)",
    ...KEYED,
    body: UploadForm,
    bodyMode: "multipart",
    response: FileObject,
    errors: [400, 401, 413, 415],
  })(async ({ request }) => {
    if (!request.isMultipart()) {
      throw invalid(
        "invalid_multipart",
        "POST /v1/files takes multipart/form-data with the file in the field 'file' (curl -F file=@photo.jpg)",
        "file",
      );
    }
    // Stream parts in order; only the field named "file" is stored, other fields (purpose) are ignored.
    for await (const part of multipartParts(request)) {
      if (part.type === "file" && part.fieldname === "file") {
        const file = await files.create(ownerOf(request.principal), part.file, part.filename || "upload");
        return files.toApi(file);
      }
      if (part.type === "file") part.file.resume();
    }
    throw invalid("missing_file", "no file in the multipart body: send it in the field named 'file'", "file");
  });

  route(app, {
    method: "GET",
    url: "/v1/files",
    operationId: "listFiles",
    summary: "List files, newest first",
    ...KEYED,
    query: PageQuery,
    response: FileList,
    errors: [400, 401],
  })(async ({ request, query }) => {
    const after = query.after ? decodeCursor(query.after, "after") : undefined;
    const page = await files.list(ownerOf(request.principal), query.limit, after);
    return listEnvelope(
      page.items.filter((f) => f.expires_at > Date.now()).map((f) => files.toApi(f)),
      page.nextCursor,
    );
  });

  route(app, {
    method: "GET",
    url: "/v1/files/:file_id",
    operationId: "getFile",
    summary: "Get a file",
    ...KEYED,
    params: FileParams,
    response: FileObject,
    errors: [401, 404],
  })(async ({ request, params }) => files.toApi(await files.get(ownerOf(request.principal), params.file_id)));

  route(app, {
    method: "DELETE",
    url: "/v1/files/:file_id",
    operationId: "deleteFile",
    summary: "Delete a file",
    ...KEYED,
    params: FileParams,
    response: FileDeleted,
    errors: [401, 404],
  })(async ({ request, params }) => {
    const file = await files.delete(ownerOf(request.principal), params.file_id);
    return { id: file.id, object: "file", deleted: true };
  });
}
