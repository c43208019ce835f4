/**
 * Which route plugins a process serves, and what each is given. A worker serves only the
 * operations routes; the API tier serves everything. Every route registered here is recorded for
 * /openapi.json (an undeclared one fails the suite).
 */
import type { FastifyInstance } from "fastify";
import { type RegisteredRoute, recordRoutes } from "./api/openapi.ts";
import { consoleRoutes } from "./api/routes/console.ts";
import { docsRoutes } from "./api/routes/docs.ts";
import { mediaRoutes } from "./api/routes/media.ts";
import { modelRoutes } from "./api/routes/models.ts";
import { opsRoutes } from "./api/routes/ops.ts";
import type { AppServices } from "./app-services.ts";
import { billingRoutes } from "./billing/routes.ts";
import { channelRoutes } from "./channels/routes.ts";
import { typicalRenderMs } from "./engine/render.ts";
import { fileRoutes } from "./files/routes.ts";
import { metricsAccess } from "./keys/auth.ts";
import { keyRoutes, whoAmIRoutes } from "./keys/routes.ts";
import { modelAdminRoutes } from "./models/routes.ts";
import { openAiVideoRoutes } from "./openai/routes.ts";
import { OpenAiVideos } from "./openai/service.ts";
import { upstreamHookRoutes } from "./relay/routes.ts";
import { TaskObjectReader } from "./tasks/object-cache.ts";
import { taskRoutes } from "./tasks/routes.ts";
import { StreamSlots } from "./tasks/stream-slots.ts";
import { webhookRoutes } from "./webhooks/routes.ts";

export async function registerRoutes(
  app: FastifyInstance,
  s: AppServices,
  options: { role: "api" | "worker"; isDraining(): boolean },
): Promise<RegisteredRoute[]> {
  const { config } = s;
  const routes = recordRoutes(app);
  await app.register(opsRoutes, {
    db: s.db,
    tasks: s.taskRepo,
    queue: s.queue,
    metrics: s.metrics,
    isDraining: options.isDraining,
    metricsAccess: (authorization) =>
      metricsAccess(authorization, { token: config.metricsToken, auth: s.auth }),
  });
  if (options.role === "worker") return routes;

  await app.register(docsRoutes, { config, routes });
  if (config.console) await app.register(consoleRoutes, { dir: config.consoleDir });
  await app.register(mediaRoutes, {
    storage: s.storage,
    files: s.files,
    tasks: s.taskRepo,
    media: s.media,
  });
  await app.register(upstreamHookRoutes, { channels: s.channels, poller: s.poller });
  // Everything under /v1 needs a key; the plugin scope keeps the hook off the public routes.
  await app.register(async (v1) => {
    v1.addHook("onRequest", async (request, reply) => {
      request.principal = await s.auth.authenticate(request.headers.authorization);
      // Per-key requests per minute (no store access unless the key or account has a limit).
      reply.headers(await s.billing.limits.enforceRateLimit(request.principal));
    });
    await v1.register(fileRoutes, { config, files: s.files });
    await v1.register(taskRoutes, {
      config,
      tasks: s.tasks,
      presenter: s.presenter,
      reader: new TaskObjectReader(s.tasks, s.presenter, s.taskObjects),
      events: s.events,
      media: s.media,
      streams: new StreamSlots({ perKey: config.maxStreamsPerKey, total: config.maxStreams }),
      keyStillValid: (authorization) =>
        s.auth.authenticate(authorization).then(
          () => true,
          () => false,
        ),
      // Upstream run times scaled like the gateway's own polling; the local engine's as they are.
      typicalRunMs: (provider, facts) => {
        if (provider === "local") return typicalRenderMs(facts);
        const adapter = s.channels.adapterNamed(provider);
        return adapter ? adapter.typicalRunMs(facts) * config.upstreamPollScale : undefined;
      },
    });
    const videos = new OpenAiVideos({
      catalog: s.catalog,
      tasks: s.tasks,
      files: s.files,
      routing: s.routing,
    });
    await v1.register(openAiVideoRoutes, {
      config,
      videos,
      tasks: s.tasks,
      media: s.media,
    });
    await v1.register(modelRoutes, { catalog: s.catalog, routing: s.routing, billing: s.billing });
    await v1.register(whoAmIRoutes, { keys: s.keys });
    await v1.register(keyRoutes, { keys: s.keys, auth: s.auth });
    await v1.register(webhookRoutes, { webhooks: s.webhooks, tasks: s.tasks });
    await v1.register(channelRoutes, { channels: s.channels });
    await v1.register(modelAdminRoutes, { models: s.models });
    await v1.register(billingRoutes, { billing: s.billing });
  });
  return routes;
}
