/**
 * Composition root: builds every service of one server process from its final configuration.
 * Logic lives in the services; this file only decides who gets what. Routes and job handlers are
 * wired from the result (api/register-routes.ts, relay/job-handlers.ts), each taking the few
 * services it needs.
 */
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "pino";
import { Billing } from "./billing/billing.ts";
import { decimalToMicros } from "./billing/money.ts";
import { Catalog, DEFAULT_CATALOG } from "./catalog/models.ts";
import { CircuitBreaker } from "./channels/breaker.ts";
import { cancelUpstream } from "./channels/cancel.ts";
import { ChannelRepository } from "./channels/repository.ts";
import { ChannelRouting } from "./channels/routing.ts";
import { ChannelService } from "./channels/service.ts";
import { storeBudgets } from "./channels/shared-budgets.ts";
import { type Config, ConfigError } from "./config.ts";
import { FileRepository } from "./files/repository.ts";
import { FileService } from "./files/service.ts";
import { openJobQueue } from "./jobs/open-queue.ts";
import { AuthService } from "./keys/auth.ts";
import { AccountRepository } from "./keys/repository.ts";
import { KeyService } from "./keys/service.ts";
import { ALL_MIGRATIONS } from "./migrations.ts";
import { ModelRegistry } from "./models/registry.ts";
import { parseAllowList } from "./net/address-policy.ts";
import { Metrics } from "./ops/metrics.ts";
import { createAdapters } from "./providers/registry.ts";
import type { JobServices } from "./relay/job-handlers.ts";
import { UpstreamPoller } from "./relay/poller.ts";
import { openStorage } from "./storage/open-storage.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "./store/db.ts";
import type { TaskRow } from "./store/schema.ts";
import { TransactionGroup } from "./store/transaction-group.ts";
import { whenStoreAnswers } from "./store/unavailable.ts";
import { ChannelSlots } from "./tasks/channel-slots.ts";
import { TaskEvents } from "./tasks/events.ts";
import { IdempotencyRepository } from "./tasks/idempotency-repository.ts";
import { TaskLifecycle } from "./tasks/lifecycle.ts";
import { TaskMedia } from "./tasks/media.ts";
import { TaskObjectCache } from "./tasks/object-cache.ts";
import { PgTaskEventBridge } from "./tasks/pg-events.ts";
import { Posters } from "./tasks/posters.ts";
import { TaskPresenter } from "./tasks/presenter.ts";
import { TaskRepository } from "./tasks/repository.ts";
import { TaskService } from "./tasks/service.ts";
import { SecretBox } from "./util/secret-box.ts";
import { WebhookRepository } from "./webhooks/repository.ts";
import { WebhookService } from "./webhooks/service.ts";

/**
 * The services one server process composed, exposed on RunningServer for the CLI, tests and
 * benchmarks. Routes and job handlers do not get this: each declares the few it needs.
 */
export interface AppServices extends JobServices {
  /** The handle every repository uses (writes through it reach the task object cache). */
  database: DatabaseHandle;
  accounts: AccountRepository;
  idempotency: IdempotencyRepository;
  auth: AuthService;
  keys: KeyService;
  tasks: TaskService;
  presenter: TaskPresenter;
  posters: Posters;
  /** A finished task's media behind the three download doors. */
  media: TaskMedia;
  billing: Billing;
  /** The operator's model declarations; keeps this process's catalog current. */
  models: ModelRegistry;
  /** Unchanged task objects served from memory (SQLite only: the store says cheaply what changed). */
  taskObjects: TaskObjectCache | undefined;
  /** Ask the task's provider to stop it (cancel, timeout, deadline). */
  cancelUpstream(task: TaskRow): ReturnType<typeof cancelUpstream>;
  /** Close what the services hold open: deliveries, the queue, notifications, the store. */
  close(): Promise<void>;
}

/** How long a starting process waits for an unreachable store (Postgres restarting) before it gives up. */
const STARTUP_STORE_WAIT_MS = 60_000;

export async function buildServices(
  config: Readonly<Config>,
  options: { logger: Logger; role: "api" | "worker" },
): Promise<AppServices> {
  const { logger } = options;
  const storeLogger = logger.child({ component: "store" });
  const database = openDatabase(config.databaseUrl, {
    applicationName: `vidrelay-${options.role}`,
    onConnectionError: (error) =>
      storeLogger.warn({ err: error }, "a pooled store connection failed; it is replaced when next needed"),
  });
  const waitForStore = <T>(what: string, step: () => Promise<T>) =>
    whenStoreAnswers(step, { what, withinMs: STARTUP_STORE_WAIT_MS, log: (m) => storeLogger.warn(m) });
  const opened: Array<() => unknown> = [() => database.close()];
  const closeOpened = async () => {
    for (const close of opened.reverse()) await close();
  };
  try {
    await waitForStore("migrations", () => migrateToLatest(database.db, ALL_MIGRATIONS));
    // Every write this process makes reports itself to the task object cache through the plugin,
    // so all repositories must use this handle.
    const taskObjects = database.externalChanges ? new TaskObjectCache(database.externalChanges) : undefined;
    const db = taskObjects ? database.db.withPlugin(taskObjects.writeObserver()) : database.db;
    // Uploads in progress, spooled data: URLs, posters being made.
    await mkdir(join(config.dataDir, "tmp"), { recursive: true });
    const storage = await openStorage(config, (problem) => new ConfigError([problem]));
    const events = new TaskEvents();
    // On Postgres, processes tell each other about task changes (SSE on any API process, cancels
    // reaching the worker that renders); SQLite deployments are one machine and resync from the store.
    if (database.dialect === "postgres") {
      const bridge = await waitForStore("task notifications", () =>
        PgTaskEventBridge.start(config.databaseUrl, events, logger.child({ component: "events" })),
      );
      opened.push(() => bridge.close());
    }
    const queue = await waitForStore("job queue", () =>
      openJobQueue(config, db, logger, (problem) => new ConfigError([problem])),
    );
    opened.push(() => queue.close?.());
    return await compose(
      { config, logger, database: { ...database, db }, taskObjects, storage, events, queue },
      () => closeOpened(),
    );
  } catch (error) {
    await closeOpened().catch(() => {});
    throw error;
  }
}

/** The services over an open store, storage and queue (no I/O but the default prices). */
async function compose(
  open: Pick<AppServices, "config" | "logger" | "database" | "taskObjects" | "storage" | "events" | "queue">,
  closeOpened: () => Promise<void>,
): Promise<AppServices> {
  const { config, logger, database, storage, events, queue } = open;
  const db = database.db;
  const catalog = new Catalog(DEFAULT_CATALOG);
  const metrics = new Metrics();
  const accounts = new AccountRepository(db);
  const taskRepo = new TaskRepository(db);
  const files = new FileService(config, new FileRepository(db), storage);
  const idempotency = new IdempotencyRepository(db);
  const allowPrivate = parseAllowList(config.allowPrivateTargets);
  const secretBox = SecretBox.fromConfig(config);
  const webhooks = new WebhookService(
    config,
    new WebhookRepository(db, secretBox),
    queue,
    allowPrivate,
    logger.child({ component: "webhooks" }),
  );
  // Query budgets and breakers live in the store: every process of a deployment shares them.
  const budgets = storeBudgets(db);
  const adapters = createAdapters(config, { budgets });
  const billing = new Billing(db, catalog, {
    localRenders: config.localRendersBilled ? "priced" : "free",
    defaults: {
      requestsPerMinute: config.defaultRequestsPerMinute,
      maxConcurrent: config.defaultMaxConcurrent,
      dailySpendCap: config.defaultDailySpend ? decimalToMicros(config.defaultDailySpend)! : null,
    },
  });
  const channelRepository = new ChannelRepository(db);
  const channels = new ChannelService(channelRepository, secretBox, catalog, adapters);
  // The operator's declarations over the built-in data file, before anything reads the catalog.
  const models = await ModelRegistry.open({ db, catalog, prices: billing.prices, channels, logger });
  await billing.prices.ensureDefaultPrices();
  const slots = new ChannelSlots({ db, tasks: taskRepo, channels: channelRepository });
  const routing = new ChannelRouting(config, channels);
  const breaker = new CircuitBreaker(db, config.breakerThreshold, config.breakerCooldownSeconds * 1000);
  const presenter = new TaskPresenter(
    config,
    billing.usage,
    new Map([...adapters].map(([name, adapter]) => [name, adapter.cancelScope])),
  );
  const lifecycle = new TaskLifecycle({
    config,
    db,
    transactions: new TransactionGroup(db, database.dialect === "sqlite"),
    tasks: taskRepo,
    idempotency,
    queue,
    slots,
    billing: billing.holds,
    webhooks,
    presenter,
    events,
    metrics,
  });
  const relayLogger = logger.child({ component: "upstream" });
  const cancel = (task: TaskRow) => cancelUpstream({ channels, logger: relayLogger }, task);
  const tasks = new TaskService({
    catalog,
    tasks: taskRepo,
    idempotency,
    files,
    lifecycle,
    routing,
    cancelUpstream: cancel,
    checkCallbackUrl: (url) => webhooks.checkCallbackUrl(url),
    storage,
    replayOfDeleted: config.idempotentReplayOfDeleted,
    quote: (task) => billing.holds.quoteForTaskRow(task),
  });
  const poller = new UpstreamPoller({
    config,
    budgets,
    db,
    tasks: taskRepo,
    lifecycle,
    channels,
    queue,
    events,
    metrics,
    logger: relayLogger,
  });
  const posters = new Posters({ tasks: taskRepo, storage, tmpDir: join(config.dataDir, "tmp") });
  return {
    ...open,
    db,
    catalog,
    metrics,
    accounts,
    taskRepo,
    idempotency,
    auth: new AuthService(accounts),
    keys: new KeyService(accounts),
    files,
    tasks,
    lifecycle,
    webhooks,
    routing,
    breaker,
    slots,
    poller,
    presenter,
    posters,
    media: new TaskMedia({ storage, posters }),
    channels,
    billing,
    allowPrivate,
    cancelUpstream: cancel,
    models,
    async close() {
      models.stop();
      webhooks.close();
      await closeOpened();
    },
  };
}
