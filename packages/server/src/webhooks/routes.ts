/** The webhook routes (docs/api.md §5): the signing secret, and a task's deliveries with replay. */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import type { Owner } from "../domain/owner.ts";
import { route } from "../http/route.ts";
import { ownerOf } from "../keys/auth.ts";
import { DeliveryList, DeliveryObject, RotateSecretBody, WebhookSecret } from "./schemas.ts";
import type { WebhookService } from "./service.ts";

/** Every route here is in the Webhooks section of the reference and needs a key. */
const KEYED = { tag: "Webhooks", auth: "key" } as const;

export interface WebhookRouteDeps {
  webhooks: WebhookService;
  /**
   * Finds the caller's task (another account's task does not exist: 404). Structural, because
   * tasks/ sits above webhooks/ (the lifecycle writes the outbox).
   */
  tasks: { get(owner: Owner, taskId: string): Promise<{ id: string; account_id: string }> };
}

const DeliveryParams = z.object({
  task_id: z.string().describe("task_…"),
  delivery_id: z.string().describe("msg_… (the webhook-id)"),
});

export async function webhookRoutes(
  app: FastifyInstance,
  { webhooks, tasks }: WebhookRouteDeps,
): Promise<void> {
  route(app, {
    method: "GET",
    url: "/v1/webhook-secret",
    operationId: "getWebhookSecret",
    summary:
      "The account's webhook signing secret (Standard Webhooks `whsec_…`); test-mode keys have their own",
    ...KEYED,
    response: WebhookSecret,
    errors: [401],
  })(async ({ request }) => webhooks.secrets(ownerOf(request.principal)));

  route(app, {
    method: "POST",
    url: "/v1/webhook-secret/rotate",
    operationId: "rotateWebhookSecret",
    summary: "Rotate the secret; both signatures are sent during the grace period",
    ...KEYED,
    body: RotateSecretBody,
    response: WebhookSecret,
    errors: [400, 401],
  })(async ({ request, body }) => webhooks.rotate(ownerOf(request.principal), body.grace_seconds));

  route(app, {
    method: "GET",
    url: "/v1/video/generations/:task_id/deliveries",
    operationId: "listDeliveries",
    summary: "Webhook deliveries of a task, with every attempt",
    ...KEYED,
    params: z.object({ task_id: z.string().describe("task_…") }),
    response: DeliveryList,
    errors: [401, 404],
  })(async ({ request, params }) => {
    const task = await tasks.get(ownerOf(request.principal), params.task_id);
    return { object: "list", data: await webhooks.list(task.account_id, task.id), has_more: false };
  });

  route(app, {
    method: "POST",
    url: "/v1/video/generations/:task_id/deliveries/:delivery_id/replay",
    operationId: "replayDelivery",
    summary: "Send an exhausted or gone delivery again (same webhook-id, a fresh retry budget)",
    ...KEYED,
    params: DeliveryParams,
    response: DeliveryObject,
    errors: [401, 404, 409],
  })(async ({ request, params }) => {
    const task = await tasks.get(ownerOf(request.principal), params.task_id);
    return webhooks.replay(task.account_id, task.id, params.delivery_id);
  });
}
