import type { Core, RequestOptions } from "../core.ts";
import type { WebhookDelivery, WebhookDeliveryList, WebhookSecret } from "../types.ts";

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
    const page = await this.core.request<WebhookDeliveryList>({
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
