/** Zod schemas of the webhook routes' bodies (docs/api.md §5): deliveries and the signing secret. */
import { z } from "zod";
import { plainList, UnixSeconds } from "../http/schema.ts";

export const DeliveryStatus = z.enum(["pending", "delivered", "exhausted", "gone"]);

/** One attempt of a delivery (named for the SDK's generated types). */
export const DeliveryAttempt = z.object({
  attempted_at: z.number().describe("Unix time, seconds (fractional)."),
  status_code: z.int().nullable(),
  latency_ms: z.int(),
  error: z.string().nullable(),
});

export const DeliveryObject = z
  .object({
    id: z.string().describe("msg_… — also the webhook-id header, stable across retries"),
    object: z.literal("webhook_delivery"),
    task_id: z.string(),
    url: z.string(),
    status: DeliveryStatus,
    attempts: z.array(DeliveryAttempt),
    next_attempt_at: UnixSeconds.nullable(),
    created_at: UnixSeconds,
    delivered_at: UnixSeconds.nullable(),
  })
  .meta({ title: "WebhookDelivery", description: "One webhook delivery of a task, with every attempt." });
export type DeliveryObject = z.infer<typeof DeliveryObject>;

export const DeliveryList = plainList(DeliveryObject, "WebhookDeliveryList");

export const WebhookSecret = z
  .object({
    object: z.literal("webhook_secret"),
    secret: z.string().describe("whsec_… (Standard Webhooks)"),
    previous_secret_expires_at: UnixSeconds.nullable().describe(
      "While the previous secret is still honoured, deliveries carry both signatures.",
    ),
    rotated_at: UnixSeconds.nullable(),
  })
  .meta({ title: "WebhookSecret" });
export type WebhookSecret = z.infer<typeof WebhookSecret>;

export const RotateSecretBody = z
  .object({
    grace_seconds: z
      .number({ error: "grace_seconds must be a number of seconds" })
      .optional()
      .describe("How long the previous secret keeps signing (0–604800; default from the config)."),
  })
  .meta({ title: "RotateWebhookSecret" });
