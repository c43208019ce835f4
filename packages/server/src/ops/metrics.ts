import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** One registry per server instance (tests run several in one process). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = new Histogram({
    name: "vidrelay_http_request_duration_seconds",
    help: "HTTP request latency by route and status",
    labelNames: ["method", "route", "status"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly tasks = new Gauge({
    name: "vidrelay_tasks",
    help: "Tasks in the store by status, model and provider",
    labelNames: ["status", "model", "provider"] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "vidrelay_queue_jobs",
    help: "Jobs waiting or running, by kind and status",
    labelNames: ["kind", "status"] as const,
    registers: [this.registry],
  });
  readonly taskFinished = new Counter({
    name: "vidrelay_tasks_finished_total",
    help: "Tasks that reached a terminal status in this process",
    labelNames: ["status", "model", "provider"] as const,
    registers: [this.registry],
  });
  readonly renderSeconds = new Histogram({
    name: "vidrelay_render_duration_seconds",
    help: "Local engine render wall time",
    labelNames: ["resolution"] as const,
    buckets: [0.5, 1, 2, 4, 8, 16, 32, 64],
    registers: [this.registry],
  });

  readonly upstreamRequests = new Counter({
    name: "vidrelay_upstream_requests_total",
    help: "Requests made to upstream providers, by channel and operation",
    labelNames: ["channel", "op"] as const,
    registers: [this.registry],
  });
  readonly upstreamUnknownStatus = new Counter({
    name: "vidrelay_upstream_unknown_status_total",
    help: "Upstream statuses the adapter did not recognise (tasks stay polled)",
    labelNames: ["provider", "status"] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "vidrelay_process_" });
  }
}
