import type { Kysely } from "kysely";
import type { Billing } from "./billing/billing.ts";
import type { Catalog } from "./catalog/models.ts";
import type { ChannelRouting } from "./channels/routing.ts";
import type { ChannelService } from "./channels/service.ts";
import type { Config } from "./config.ts";
import type { FileService } from "./files/service.ts";
import type { JobQueue } from "./jobs/queue.ts";
import type { AuthService } from "./keys/auth.ts";
import type { AccountRepository } from "./keys/repository.ts";
import type { Metrics } from "./ops/metrics.ts";
import type { UpstreamPoller } from "./relay/poller.ts";
import type { BlobStorage } from "./storage/storage.ts";
import type { Database } from "./store/schema.ts";
import type { TaskEvents } from "./tasks/events.ts";
import type { TaskPresenter } from "./tasks/presenter.ts";
import type { TaskRepository } from "./tasks/repository.ts";
import type { TaskService } from "./tasks/service.ts";
import type { WebhookService } from "./webhooks/service.ts";

/**
 * The services one server process composed (server.ts), exposed on RunningServer for the CLI,
 * tests and benchmarks. Routes do not get this: each route plugin declares the few it needs.
 */
export interface AppServices {
  config: Config;
  db: Kysely<Database>;
  catalog: Catalog;
  storage: BlobStorage;
  queue: JobQueue;
  metrics: Metrics;
  events: TaskEvents;
  accounts: AccountRepository;
  taskRepo: TaskRepository;
  auth: AuthService;
  files: FileService;
  tasks: TaskService;
  webhooks: WebhookService;
  routing: ChannelRouting;
  poller: UpstreamPoller;
  presenter: TaskPresenter;
  channels: ChannelService;
  billing: Billing;
}
