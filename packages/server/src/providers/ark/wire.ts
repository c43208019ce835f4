import { z } from "zod";

/** Ark's task object (GET /contents/generations/tasks/{id}), validated loosely: unknown fields pass. */
export const ArkTask = z
  .object({
    id: z.string(),
    model: z.string().optional(),
    status: z.string(),
    error: z.object({ code: z.string().optional(), message: z.string().optional() }).nullish(),
    content: z.object({ video_url: z.string().optional(), last_frame_url: z.string().optional() }).nullish(),
    usage: z
      .object({ completion_tokens: z.number().optional(), total_tokens: z.number().optional() })
      .nullish(),
    duration: z.number().optional(),
    created_at: z.number().optional(),
    updated_at: z.number().optional(),
  })
  .loose();
export type ArkTask = z.infer<typeof ArkTask>;

export const ArkList = z.object({ total: z.number().optional(), items: z.array(ArkTask) }).loose();

export const ArkCreated = z.object({ id: z.string() }).loose();

export const ArkError = z
  .object({
    error: z
      .object({ code: z.string().optional(), message: z.string().optional(), type: z.string().optional() })
      .loose(),
  })
  .loose();
