/**
 * The Fastify app before any route: limits, request ids, error shape, JSON bodies and the request
 * log. Routes are registered on it by api/register-routes.ts.
 */
import { join } from "node:path";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { Metrics } from "../ops/metrics.ts";
import { randomAlphanumeric } from "../util/ids.ts";
import { installErrorHandling } from "./errors.ts";
import type { Listener } from "./listener.ts";
import { installJsonBodies, serverOptions } from "./server-options.ts";

export function createHttpApp(deps: {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  listener: Listener;
}): FastifyInstance {
  const { config, metrics } = deps;
  // Request ids: a random per-process prefix and a counter (unique, and no crypto call per request).
  const requestIdPrefix = randomAlphanumeric(10);
  let requestSeq = 0;
  const app: FastifyInstance = Fastify({
    ...serverOptions(config),
    serverFactory: deps.listener.factory,
    loggerInstance: deps.logger as unknown as FastifyBaseLogger,
    // Our own onResponse hook logs requests (with route and latency); the id label matches task logs.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: "request_id" }),
    genReqId: (req) => {
      const given = req.headers["x-request-id"];
      return typeof given === "string" && /^[\w.-]{1,100}$/.test(given)
        ? given
        : `req_${requestIdPrefix}${(requestSeq++).toString(36)}`;
    },
  });
  app.decorateRequest("principal", null as never);
  // The API speaks JSON (and multipart for uploads); a text/plain body is a client mistake → 415.
  app.removeContentTypeParser("text/plain");
  installErrorHandling(app);
  installJsonBodies(app, { spoolDir: join(config.dataDir, "tmp"), maxInMemoryBytes: config.maxJsonBytes });
  app.addHook("onRequest", async (request, reply) => {
    reply.header("x-request-id", request.id);
  });
  app.addHook("onResponse", async (request, reply) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.httpDuration.observe(
      { method: request.method, route, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    if (reply.statusCode >= 500) {
      request.log.warn({ method: request.method, route, status: reply.statusCode }, "request failed");
    } else {
      request.log.debug(
        { method: request.method, route, status: reply.statusCode, ms: reply.elapsedTime },
        "request",
      );
    }
  });
  return app;
}
