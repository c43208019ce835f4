/**
 * The job runner of a process with workers: one handler per job kind (those VIDRELAY_WORKER_KINDS
 * names), and the upstream poller where dispatch runs.
 */
import { hostname } from "node:os";
import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Catalog } from "../catalog/models.ts";
import type { CircuitBreaker } from "../channels/breaker.ts";
import type { ChannelRouting } from "../channels/routing.ts";
import type { ChannelService } from "../channels/service.ts";
import type { Config } from "../config.ts";
import type { FileService } from "../files/service.ts";
import type { JobKind, JobQueue } from "../jobs/queue.ts";
import { type JobHandler, JobRunner } from "../jobs/runner.ts";
import { openScratch, type Scratch } from "../jobs/scratch.ts";
import type { AllowMatcher } from "../net/address-policy.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { Database } from "../store/schema.ts";
import type { ChannelSlots } from "../tasks/channel-slots.ts";
import type { TaskEvents } from "../tasks/events.ts";
import type { TaskLifecycle } from "../tasks/lifecycle.ts";
import type { TaskRepository } from "../tasks/repository.ts";
import { randomAlphanumeric } from "../util/ids.ts";
import { DeliverWebhookJob } from "../webhooks/deliver-job.ts";
import type { WebhookService } from "../webhooks/service.ts";
import { DispatchJob } from "./dispatch-job.ts";
import { IngestJob } from "./ingest-job.ts";
import type { UpstreamPoller } from "./poller.ts";
import { LocalRenderJob } from "./render-job.ts";

/** What the job handlers are built from (app-services.ts composes them). */
export interface JobServices {
  config: Readonly<Config>;
  db: Kysely<Database>;
  logger: Logger;
  catalog: Catalog;
  storage: BlobStorage;
  queue: JobQueue;
  metrics: Metrics;
  events: TaskEvents;
  taskRepo: TaskRepository;
  files: FileService;
  lifecycle: TaskLifecycle;
  webhooks: WebhookService;
  routing: ChannelRouting;
  breaker: CircuitBreaker;
  /** Channel concurrency slots, and the sweep that restores leaked ones. */
  slots: ChannelSlots;
  poller: UpstreamPoller;
  channels: ChannelService;
  /** Private ranges outbound fetches may reach anyway (VIDRELAY_ALLOW_PRIVATE_TARGETS). */
  allowPrivate: AllowMatcher;
}

export interface RunningJobs {
  runner: JobRunner;
  /** Stop claiming, finish or re-queue in-flight jobs within `graceMs`, remove the scratch dir. */
  stop(graceMs: number): Promise<void>;
}

export async function startJobs(s: JobServices): Promise<RunningJobs> {
  const { config } = s;
  const scratch: Scratch = await openScratch(config.dataDir);
  const relayLogger = s.logger.child({ component: "upstream" });
  const materialize = {
    files: s.files,
    storage: s.storage,
    limits: s.files.limits,
    allowPrivate: s.allowPrivate,
    fetchTimeoutMs: config.fetchTimeoutSeconds * 1000,
  };
  const firstFrame = { catalog: s.catalog, materialize };
  const handlers: Partial<Record<JobKind, JobHandler>> = {
    render: new LocalRenderJob(config.renderConcurrency, {
      workRoot: scratch.dir,
      tasks: s.taskRepo,
      lifecycle: s.lifecycle,
      storage: s.storage,
      events: s.events,
      metrics: s.metrics,
      materialize,
      firstFrame,
    }),
    deliver: new DeliverWebhookJob(config.webhookConcurrency, s.webhooks),
    dispatch: new DispatchJob({
      config,
      db: s.db,
      tasks: s.taskRepo,
      lifecycle: s.lifecycle,
      channels: s.channels,
      routing: s.routing,
      breaker: s.breaker,
      slots: s.slots,
      files: s.files,
      storage: s.storage,
      metrics: s.metrics,
      poller: s.poller,
      logger: relayLogger,
      firstFrame,
    }),
    // Ingest is I/O (download, MP4 box read, store): no process per task.
    ingest: new IngestJob({
      workRoot: scratch.dir,
      tasks: s.taskRepo,
      lifecycle: s.lifecycle,
      channels: s.channels,
      storage: s.storage,
      allowPrivate: s.allowPrivate,
    }),
  };
  for (const kind of Object.keys(handlers) as JobKind[])
    if (!config.workerKinds.includes(kind)) delete handlers[kind];
  const runner = new JobRunner(s.queue, handlers, {
    owner: `${hostname()}:${process.pid}:${randomAlphanumeric(6)}`,
    leaseMs: config.jobLeaseSeconds * 1000,
    logger: s.logger.child({ component: "jobs" }),
  });
  runner.start();
  if (config.workerKinds.includes("dispatch")) s.poller.start();
  return {
    runner,
    async stop(graceMs) {
      s.poller.stop();
      await runner.stop(graceMs);
      await scratch.remove();
    },
  };
}
