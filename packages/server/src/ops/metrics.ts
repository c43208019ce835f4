import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** One registry per server instance (tests run several in one process). */
export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration = this.histogram(
    "vidrelay_http_request_duration_seconds",
    "HTTP request latency by route and status",
    ["method", "route", "status"],
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
  );
  readonly tasks = this.gauge("vidrelay_tasks", "Tasks in the store by status, model and provider", [
    "status",
    "model",
    "provider",
  ]);
  readonly queueDepth = this.gauge("vidrelay_queue_jobs", "Jobs waiting or running, by kind and status", [
    "kind",
    "status",
  ]);
  readonly taskFinished = this.counter(
    "vidrelay_tasks_finished_total",
    "Tasks that reached a terminal status in this process",
    ["status", "model", "provider"],
  );
  readonly renderSeconds = this.histogram(
    "vidrelay_render_duration_seconds",
    "Local engine render wall time",
    ["resolution"],
    [0.5, 1, 2, 4, 8, 16, 32, 64],
  );

  readonly upstreamRequests = this.counter(
    "vidrelay_upstream_requests_total",
    "Requests made to upstream providers, by channel and operation",
    ["channel", "op"],
  );
  readonly upstreamUnknownStatus = this.counter(
    "vidrelay_upstream_unknown_status_total",
    "Upstream statuses the adapter did not recognise (tasks stay polled)",
    ["provider", "status"],
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "vidrelay_process_" });
  }

  private counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private gauge<L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}
