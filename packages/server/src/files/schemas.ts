/** Zod schemas of the file routes' bodies (docs/api.md §2). */
import { z } from "zod";
import { listEnvelope, UnixSeconds } from "../http/schema.ts";

// ---------------------------------------------------------------------------------------------
// §2 Files

export const FileObject = z
  .object({
    id: z.string().describe("`file_…`"),
    object: z.literal("file"),
    url: z
      .string()
      .describe("Unguessable capability URL: anyone may GET it (Range supported) until expires_at."),
    filename: z.string(),
    bytes: z.int().min(0),
    content_type: z.string().describe("Sniffed from the bytes."),
    kind: z.enum(["image", "video", "audio"]).optional(),
    width: z.int().nullish(),
    height: z.int().nullish(),
    duration: z.number().nullish().describe("Seconds, for video and audio."),
    created_at: UnixSeconds,
    expires_at: UnixSeconds,
  })
  .meta({ title: "File", description: "An uploaded reference medium (docs/api.md §2)." });

export type FileObject = z.infer<typeof FileObject>;

export const FileList = listEnvelope(FileObject, "FileList");

export const FileDeleted = z
  .object({ id: z.string(), object: z.literal("file"), deleted: z.literal(true) })
  .meta({ title: "FileDeleted" });
