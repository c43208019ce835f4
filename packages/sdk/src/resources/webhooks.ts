import type { Core, RequestOptions } from "../core.ts";
import type { ListPage } from "../types.ts";

/** The account's webhook signing secret (`GET /v1/webhook-secret`). */
export interface WebhookSecret {
  object: "webhook_secret";
  /** `whsec_…`: pass it to `verifyWebhook`. */
  secret: string;
  /** While set and in the future, deliveries are also signed with the previous secret. */
  previous_secret_expires_at: number | null;
  rotated_at: number | null;
}

export interface WebhookAttempt {
  attempted_at: number;
  status_code: number | null;
  latency_ms: number | null;
  error: string | null;
}

/** One webhook delivery of a task and its attempts. */
export interface WebhookDelivery {
  id: string;
  object: "webhook_delivery";
  task_id: string;
  url: string;
  status: string;
  attempts: WebhookAttempt[];
  next_attempt_at: number | null;
  created_at: number;
  delivered_at: number | null;
}

/** Webhook secret and deliveries (the gateway signs per Standard Webhooks; see `verifyWebhook`). */
export class Webhooks {
  constructor(private readonly core: Core) {}

  /** The signing secret, created on first use. */
  secret(options: RequestOptions = {}): Promise<WebhookSecret> {
    return this.core.request({ ...options, method: "GET", path: "/v1/webhook-secret" });
  }

  /** A new secret; the old one keeps signing (beside the new) for `graceSeconds` (server default when omitted). */
  rotateSecret(params: { graceSeconds?: number } = {}, options: RequestOptions = {}): Promise<WebhookSecret> {
    return this.core.request({
      ...options,
      method: "POST",
      path: "/v1/webhook-secret/rotate",
      json: params.graceSeconds === undefined ? {} : { grace_seconds: params.graceSeconds },
    });
  }

  /** The deliveries of a task's webhook, with every attempt. */
  async deliveries(taskId: string, options: RequestOptions = {}): Promise<WebhookDelivery[]> {
    const page = await this.core.request<ListPage<WebhookDelivery>>({
      ...options,
      method: "GET",
      path: `/v1/video/generations/${encodeURIComponent(taskId)}/deliveries`,
    });
    return page.data;
  }

  /** Send a delivery again (same `webhook-id`, a fresh retry budget). */
  replay(taskId: string, deliveryId: string, options: RequestOptions = {}): Promise<WebhookDelivery> {
    return this.core.request({
      ...options,
      method: "POST",
      path: `/v1/video/generations/${encodeURIComponent(taskId)}/deliveries/${encodeURIComponent(deliveryId)}/replay`,
    });
  }
}
