import type { Kysely } from "kysely";
import type { BillingService } from "../billing/service.ts";
import type { Catalog } from "../catalog/models.ts";
import type { Config } from "../config.ts";
import type { JobQueue } from "../jobs/queue.ts";
import type { Metrics } from "../ops/metrics.ts";
import type { ChannelService } from "../providers/channels.ts";
import type { UpstreamService } from "../providers/upstream.ts";
import type { AuthService, Principal } from "../services/auth.ts";
import type { FileService } from "../services/files.ts";
import type { TaskEvents } from "../services/task-events.ts";
import type { TaskService } from "../services/tasks.ts";
import type { BlobStorage } from "../storage/storage.ts";
import type { AccountRepository } from "../store/repos/accounts.ts";
import type { TaskRepository } from "../store/repos/tasks.ts";
import type { Database } from "../store/schema.ts";
import type { WebhookService } from "../webhooks/service.ts";

/** Everything the routes need, built once by the server and handed to each route plugin. */
export interface AppContext {
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
  upstream: UpstreamService;
  channels: ChannelService;
  billing: BillingService;
  /** Whether the HTTP server is shutting down (readiness goes false first). */
  isDraining(): boolean;
}

declare module "fastify" {
  interface FastifyRequest {
    principal: Principal;
  }
}
