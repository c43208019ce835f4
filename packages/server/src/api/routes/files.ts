import multipart from "@fastify/multipart";
import type { FastifyInstance } from "fastify";
import { invalid } from "../../domain/errors.ts";
import type { AppContext } from "../context.ts";
import { listEnvelope, parseListQuery } from "../pagination.ts";

export async function fileRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  // Registered here, not for all of /v1: its hooks would otherwise run on every JSON request.
  await app.register(multipart, {
    limits: {
      fileSize: Math.max(ctx.config.maxImageBytes, ctx.config.maxVideoBytes, ctx.config.maxAudioBytes) + 1,
      files: 1,
      fields: 10,
      parts: 12,
    },
  });
  app.post("/v1/files", async (request) => {
    if (!request.isMultipart()) {
      throw invalid(
        "invalid_multipart",
        "POST /v1/files takes multipart/form-data with the file in the field 'file' (curl -F file=@photo.jpg)",
        "file",
      );
    }
    // Stream parts in order; only the field named "file" is stored, other fields (purpose) are ignored.
    for await (const part of request.parts()) {
      if (part.type === "file" && part.fieldname === "file") {
        const file = await ctx.files.create(
          request.principal.account.id,
          part.file,
          part.filename || "upload",
        );
        // Drain anything after the file so the connection stays usable.
        return ctx.files.toApi(file);
      }
      if (part.type === "file") part.file.resume();
    }
    throw invalid("missing_file", "no file in the multipart body: send it in the field named 'file'", "file");
  });

  app.get("/v1/files", async (request) => {
    const { limit, after } = parseListQuery(request.query as Record<string, unknown>);
    const page = await ctx.files.list(request.principal.account.id, limit, after);
    return listEnvelope(
      page.items.filter((f) => f.expires_at > Date.now()).map((f) => ctx.files.toApi(f)),
      page.nextCursor,
    );
  });

  app.get<{ Params: { id: string } }>("/v1/files/:id", async (request) => {
    return ctx.files.toApi(await ctx.files.get(request.principal.account.id, request.params.id));
  });

  app.delete<{ Params: { id: string } }>("/v1/files/:id", async (request) => {
    const file = await ctx.files.delete(request.principal.account.id, request.params.id);
    return { id: file.id, object: "file", deleted: true };
  });
}
