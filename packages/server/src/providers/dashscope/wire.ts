import { z } from "zod";

/** DashScope's async task object (GET /api/v1/tasks/{id}), validated loosely: unknown fields pass. */
export const DashScopeTask = z
  .object({
    request_id: z.string().optional(),
    output: z
      .object({
        task_id: z.string().optional(),
        task_status: z.string(),
        code: z.string().optional(),
        message: z.string().optional(),
        video_url: z.string().optional(),
        submit_time: z.string().optional(),
        scheduled_time: z.string().optional(),
        end_time: z.string().optional(),
        orig_prompt: z.string().optional(),
      })
      .loose(),
    usage: z
      .object({
        duration: z.number().optional(),
        output_video_duration: z.number().optional(),
        SR: z.number().optional(),
      })
      .loose()
      .nullish(),
  })
  .loose();
export type DashScopeTask = z.infer<typeof DashScopeTask>;

/** The create answer: `{output: {task_id, task_status: "PENDING"}, request_id}`. */
export const DashScopeCreated = z
  .object({ output: z.object({ task_id: z.string().min(1) }).loose(), request_id: z.string().optional() })
  .loose();

/** Synchronous error envelope: `{request_id, code, message}`. */
export const DashScopeError = z
  .object({ request_id: z.string().optional(), code: z.string().optional(), message: z.string().optional() })
  .loose();
