import { z } from "zod";

/** POST /v1/videos/generations answers `{request_id}` (docs/providers.md §3). */
export const XaiCreated = z.object({ request_id: z.string().min(1) }).loose();

/** GET /v1/videos/{request_id}. */
export const XaiVideo = z
  .object({
    status: z.string(),
    model: z.string().optional(),
    progress: z.number().nullish(),
    video: z
      .object({
        url: z.string().nullish(),
        duration: z.number().nullish(),
        respect_moderation: z.boolean().nullish(),
      })
      .loose()
      .nullish(),
    usage: z.object({ cost_in_usd_ticks: z.number().nullish() }).loose().nullish(),
    error: z
      .union([z.string(), z.object({ code: z.string().nullish(), message: z.string().nullish() }).loose()])
      .nullish(),
  })
  .loose();
export type XaiVideo = z.infer<typeof XaiVideo>;

/** xAI's error body: `{code, error}` (a gRPC-style status text and a message), or OpenAI-style. */
export const XaiError = z
  .object({
    code: z.union([z.string(), z.number()]).optional(),
    error: z
      .union([z.string(), z.object({ message: z.string().optional(), code: z.string().nullish() }).loose()])
      .optional(),
  })
  .loose();
