import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { AppContext } from "../context.ts";

export async function opsRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply) => {
    const checks: Record<string, string> = {};
    try {
      await sql`select 1`.execute(ctx.db);
      checks.store = "ok";
    } catch (error) {
      checks.store = `failing: ${error instanceof Error ? error.message : error}`;
    }
    checks.http = ctx.isDraining() ? "draining" : "ok";
    const ready = Object.values(checks).every((v) => v === "ok");
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "not_ready", checks });
  });

  app.get("/metrics", async (_request, reply) => {
    // Gauges that live in the store are refreshed on scrape.
    const [byStatus, depth] = await Promise.all([ctx.taskRepo.countByStatus(), ctx.queue.depth()]);
    ctx.metrics.tasks.reset();
    for (const row of byStatus)
      ctx.metrics.tasks.set({ status: row.status, model: row.model, provider: row.provider }, row.n);
    ctx.metrics.queueDepth.reset();
    for (const row of depth) ctx.metrics.queueDepth.set({ kind: row.kind, status: row.status }, row.n);
    reply.header("content-type", ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
