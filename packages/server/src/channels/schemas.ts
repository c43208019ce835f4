/** Zod schemas of the channel administration routes (admin keys only). */
import { z } from "zod";
import { plainList, UnixSeconds } from "../http/schema.ts";

export const ChannelObject = z
  .object({
    id: z.string(),
    object: z.literal("channel"),
    name: z.string(),
    provider: z.string().describe("The adapter: ark, dashscope, fal, xai, relaydance."),
    base_url: z.string(),
    api_key_hint: z
      .string()
      .describe("The last characters of the key, to tell keys apart; the key itself is never returned."),
    models: z.record(z.string(), z.string()).describe("catalog model id → upstream model id"),
    priority: z.int(),
    weight: z.int(),
    max_concurrent: z.int(),
    in_flight: z.int(),
    enabled: z.boolean(),
    created_at: UnixSeconds,
    updated_at: UnixSeconds,
  })
  .meta({ title: "Channel", description: "An upstream account the gateway routes tasks to." });
export type ChannelObject = z.infer<typeof ChannelObject>;

export const ChannelList = plainList(ChannelObject, "ChannelList");

const str = (name: string) => z.string({ error: `${name} must be a string` });
const num = (name: string) => z.number({ error: `${name} must be a number` });

/** Create and update take the same fields (update: any subset); the service checks values. */
export const ChannelBody = z
  .object({
    name: str("name").max(100, "name must be at most 100 characters").optional(),
    provider: str("provider").optional(),
    base_url: str("base_url").optional(),
    api_key: str("api_key").optional().describe("Sealed at rest; never returned."),
    models: z
      .record(z.string().max(100, "a catalog model id is at most 100 characters"), z.string(), {
        error: "models must be an object mapping catalog model ids to upstream model ids",
      })
      .optional(),
    priority: num("priority").optional(),
    weight: num("weight").optional(),
    max_concurrent: num("max_concurrent").optional(),
    enabled: z.boolean({ error: "enabled must be true or false" }).optional(),
  })
  .meta({ title: "ChannelInput" });
export type ChannelBody = z.infer<typeof ChannelBody>;

export const ChannelTestResult = z
  .object({
    id: z.string(),
    ok: z.boolean(),
    latency_ms: z.int(),
    error: z.string().optional().describe("Why the check failed."),
  })
  .meta({ title: "ChannelTestResult" });
