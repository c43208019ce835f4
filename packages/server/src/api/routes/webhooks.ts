import type { FastifyInstance } from "fastify";
import { invalid } from "../../domain/errors.ts";
import type { WebhookService } from "../../webhooks/service.ts";
import type { AppContext } from "../context.ts";

export async function webhookRoutes(
  app: FastifyInstance,
  { ctx, webhooks }: { ctx: AppContext; webhooks: WebhookService },
): Promise<void> {
  app.get("/v1/webhook-secret", async (request) => webhooks.secrets(request.principal.account.id));

  app.post("/v1/webhook-secret/rotate", async (request) => {
    const body = (request.body ?? {}) as { grace_seconds?: unknown };
    if (body.grace_seconds !== undefined && typeof body.grace_seconds !== "number") {
      throw invalid("invalid_type", "grace_seconds must be a number of seconds", "grace_seconds");
    }
    return webhooks.rotate(request.principal.account.id, body.grace_seconds as number | undefined);
  });

  app.get<{ Params: { id: string } }>("/v1/video/generations/:id/deliveries", async (request) => {
    const task = await ctx.tasks.get(request.principal.account.id, request.params.id);
    return { object: "list", data: await webhooks.list(task.account_id, task.id), has_more: false };
  });

  app.post<{ Params: { id: string; deliveryId: string } }>(
    "/v1/video/generations/:id/deliveries/:deliveryId/replay",
    async (request) => {
      const task = await ctx.tasks.get(request.principal.account.id, request.params.id);
      return webhooks.replay(task.account_id, task.id, request.params.deliveryId);
    },
  );
}
