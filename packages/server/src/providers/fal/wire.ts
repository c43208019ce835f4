import { z } from "zod";

/** The queue's submit answer (docs/providers.md §4.1). */
export const FalSubmitted = z
  .object({
    request_id: z.string().min(1),
    response_url: z.string().min(1),
    status_url: z.string().min(1).optional(),
    cancel_url: z.string().min(1).optional(),
    gateway_request_id: z.string().optional(),
    status: z.string().optional(),
    queue_position: z.number().optional(),
  })
  .loose();

/** GET …/requests/{id}/status: 202 while IN_QUEUE / IN_PROGRESS, 200 once COMPLETED. */
export const FalStatus = z
  .object({
    status: z.string(),
    queue_position: z.number().nullish(),
    error: z.string().nullish(),
    error_type: z.string().nullish(),
    logs: z.array(z.unknown()).nullish(),
  })
  .loose();

/** The HappyHorse apps' output: fal's usual File object. */
export const FalVideoResult = z
  .object({
    video: z.object({ url: z.string().min(1), content_type: z.string().optional() }).loose(),
    seed: z.number().optional(),
  })
  .loose();

/** Errors: `{detail: [{loc, msg, type}]}` for validation, `{detail, error_type}` for the platform's. */
export const FalErrorBody = z
  .object({
    detail: z
      .union([
        z.string(),
        z.array(
          z
            .object({
              loc: z.array(z.union([z.string(), z.number()])).optional(),
              msg: z.string().optional(),
              type: z.string().optional(),
            })
            .loose(),
        ),
      ])
      .optional(),
    error_type: z.string().optional(),
    status: z.string().optional(),
  })
  .loose();
