/** Operations routes, no key needed: liveness, readiness, Prometheus metrics. */
import type { FastifyInstance } from "fastify";
import { type Kysely, sql } from "kysely";
import { z } from "zod";
import { ApiError } from "../../domain/errors.ts";
import { route } from "../../http/route.ts";
import type { JobQueue } from "../../jobs/queue.ts";
import type { Metrics } from "../../ops/metrics.ts";
import type { Database } from "../../store/schema.ts";
import type { TaskRepository } from "../../tasks/repository.ts";

export interface OpsRouteDeps {
  db: Kysely<Database>;
  tasks: Pick<TaskRepository, "countActive">;
  queue: Pick<JobQueue, "depth">;
  metrics: Metrics;
  /** Who may read /metrics: the operator's token, or a live admin key. */
  metricsAccess(authorization: string | undefined): Promise<boolean>;
  /** Whether the HTTP server is shutting down (readiness goes false first). */
  isDraining(): boolean;
}

const Health = z.object({ status: z.literal("ok") }).meta({ title: "Health" });
const Readiness = z
  .object({
    status: z.enum(["ready", "not_ready"]),
    checks: z.record(z.string(), z.string()).describe("`ok`, or why not (store, http)."),
  })
  .meta({ title: "Readiness" });

export async function opsRoutes(app: FastifyInstance, deps: OpsRouteDeps): Promise<void> {
  const { metrics } = deps;
  route(app, {
    method: "GET",
    url: "/healthz",
    operationId: "healthz",
    summary: "Liveness: the process answers",
    tag: "Operations",
    auth: "public",
    response: Health,
    errors: [],
  })(async () => ({ status: "ok" }));

  route(app, {
    method: "GET",
    url: "/readyz",
    operationId: "readyz",
    summary: "Readiness: the store answers and the server is not draining (503 otherwise, same body)",
    tag: "Operations",
    auth: "public",
    response: Readiness,
    errors: [],
  })(async ({ request, reply }) => {
    const checks: Record<string, string> = {};
    try {
      await sql`select 1`.execute(deps.db);
      checks.store = "ok";
    } catch (error) {
      // The reason goes to the log: the answer is public and must not show addresses or paths.
      request.log.warn({ err: error }, "readiness: the store does not answer");
      checks.store = "unreachable";
    }
    checks.http = deps.isDraining() ? "draining" : "ok";
    const ready = Object.values(checks).every((v) => v === "ok");
    reply.code(ready ? 200 : 503);
    return { status: ready ? "ready" : "not_ready", checks };
  });

  // Gauges read from the store are refreshed at most this often, however often Prometheus scrapes.
  let refreshedAt = 0;
  const refreshGauges = async () => {
    if (Date.now() - refreshedAt < GAUGE_REFRESH_MS) return;
    const [active, depth] = await Promise.all([deps.tasks.countActive(), deps.queue.depth()]);
    metrics.tasks.reset();
    for (const row of active)
      metrics.tasks.set({ status: row.status, model: row.model, provider: row.provider }, row.n);
    metrics.queueDepth.reset();
    for (const row of depth) metrics.queueDepth.set({ kind: row.kind, status: row.status }, row.n);
    refreshedAt = Date.now();
  };

  route(app, {
    method: "GET",
    url: "/metrics",
    operationId: "metrics",
    summary: "Prometheus metrics (text exposition format); bearer VIDRELAY_METRICS_TOKEN or an admin key",
    tag: "Operations",
    auth: "operator",
    async authorize(request) {
      if (await deps.metricsAccess(request.headers.authorization)) return;
      throw new ApiError(
        401,
        "authentication_error",
        "metrics_token_required",
        "GET /metrics needs 'Authorization: Bearer <VIDRELAY_METRICS_TOKEN>' or an admin API key",
      );
    },
    response: {
      description: "Prometheus text format",
      content: { "text/plain": { schema: { type: "string" } } },
    },
    errors: [401],
  })(async ({ reply }) => {
    await refreshGauges();
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}

const GAUGE_REFRESH_MS = 10_000;
