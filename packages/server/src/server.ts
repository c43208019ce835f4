import { mkdir } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from "fastify";
import pino, { type Logger } from "pino";
import { type RegisteredRoute, recordRoutes } from "./api/openapi.ts";
import { consoleRoutes } from "./api/routes/console.ts";
import { docsRoutes } from "./api/routes/docs.ts";
import { mediaRoutes } from "./api/routes/media.ts";
import { modelRoutes } from "./api/routes/models.ts";
import { opsRoutes } from "./api/routes/ops.ts";
import type { AppServices } from "./app-services.ts";
import { Billing } from "./billing/billing.ts";
import { decimalToMicros } from "./billing/money.ts";
import { billingRoutes } from "./billing/routes.ts";
import { Catalog, DEFAULT_CATALOG } from "./catalog/models.ts";
import { CircuitBreaker } from "./channels/breaker.ts";
import { cancelUpstream } from "./channels/cancel.ts";
import { channelRoutes } from "./channels/routes.ts";
import { ChannelRouting } from "./channels/routing.ts";
import { ChannelService } from "./channels/service.ts";
import { storeBudgets } from "./channels/shared-budgets.ts";
import { type Config, ConfigError } from "./config.ts";
import { FileRepository } from "./files/repository.ts";
import { fileRoutes } from "./files/routes.ts";
import { FileService } from "./files/service.ts";
import { installErrorHandling } from "./http/errors.ts";
import { installJsonBodies, limitConnections, serverOptions } from "./http/server-options.ts";
import { openJobQueue } from "./jobs/open-queue.ts";
import type { JobKind } from "./jobs/queue.ts";
import { type JobHandler, JobRunner } from "./jobs/runner.ts";
import { openScratch, type Scratch } from "./jobs/scratch.ts";
import type { Sweeper } from "./jobs/sweeper.ts";
import { AuthService, metricsAccess } from "./keys/auth.ts";
import { AccountRepository } from "./keys/repository.ts";
import { keyRoutes, whoAmIRoutes } from "./keys/routes.ts";
import { KeyService } from "./keys/service.ts";
import { ALL_MIGRATIONS } from "./migrations.ts";
import { parseAllowList } from "./net/address-policy.ts";
import { openAiVideoRoutes } from "./openai/routes.ts";
import { OpenAiVideos } from "./openai/service.ts";
import { Metrics } from "./ops/metrics.ts";
import { createAdapters } from "./providers/registry.ts";
import { DispatchJob } from "./relay/dispatch-job.ts";
import { IngestJob } from "./relay/ingest-job.ts";
import { UpstreamPoller } from "./relay/poller.ts";
import { LocalRenderJob } from "./relay/render-job.ts";
import { upstreamHookRoutes } from "./relay/routes.ts";
import { openStorage } from "./storage/open-storage.ts";
import { type DatabaseHandle, migrateToLatest, openDatabase } from "./store/db.ts";
import { TransactionGroup } from "./store/transaction-group.ts";
import { whenStoreAnswers } from "./store/unavailable.ts";
import { TaskEvents } from "./tasks/events.ts";
import { IdempotencyRepository } from "./tasks/idempotency-repository.ts";
import { TaskLifecycle } from "./tasks/lifecycle.ts";
import { TaskObjectCache, TaskObjectReader } from "./tasks/object-cache.ts";
import { PgTaskEventBridge } from "./tasks/pg-events.ts";
import { Posters } from "./tasks/posters.ts";
import { TaskPresenter } from "./tasks/presenter.ts";
import { TaskRepository } from "./tasks/repository.ts";
import { taskRoutes } from "./tasks/routes.ts";
import { TaskService } from "./tasks/service.ts";
import { StreamSlots } from "./tasks/stream-slots.ts";
import { housekeeping } from "./tasks/sweeps.ts";
import { randomAlphanumeric } from "./util/ids.ts";
import { SecretBox } from "./util/secret-box.ts";
import { DeliverWebhookJob } from "./webhooks/deliver-job.ts";
import { WebhookRepository } from "./webhooks/repository.ts";
import { webhookRoutes } from "./webhooks/routes.ts";
import { WebhookService } from "./webhooks/service.ts";

export { VERSION_STRING as VERSION } from "./version.ts";

export interface RunningServer {
  app: FastifyInstance;
  /** The composed services (for the CLI, tests and benchmarks). */
  services: AppServices;
  /** Every route registered, with its declaration (what /openapi.json is built from). */
  routes: RegisteredRoute[];
  keys: KeyService;
  runner: JobRunner | undefined;
  /** Housekeeping (expired files and videos, task timeouts, tmp leftovers); tests run rounds of it. */
  sweeper: Sweeper;
  database: DatabaseHandle;
  /** The origin clients should use (config.publicUrl, with the real port when port 0 was asked). */
  url: string;
  /** Set on first start with an empty store and no VIDRELAY_BOOTSTRAP_KEY: shown once, never stored. */
  bootstrapSecret?: string;
  /** This start created the admin account (the store had no accounts); with VIDRELAY_BOOTSTRAP_KEY, without a secret. */
  adminCreated: boolean;
  /** Stop accepting requests, finish or re-queue in-flight work, close the store. */
  close(graceMs?: number): Promise<void>;
}

export function createLogger(config: Pick<Config, "logLevel">): Logger {
  return pino({
    level: config.logLevel,
    // Secrets never reach the log, whatever a future log line includes.
    redact: {
      paths: [
        "req.headers.authorization",
        "headers.authorization",
        "*.api_key",
        "*.key",
        "*.secret",
        "secret",
      ],
      censor: "[redacted]",
    },
  });
}

/** How long a starting process waits for an unreachable store (Postgres restarting) before it gives up. */
const STARTUP_STORE_WAIT_MS = 60_000;

export interface StartOptions {
  logger?: Logger;
  /**
   * "api" (default): the whole API, plus the job runner unless `config.workers` is false.
   * "worker" (`vidrelay worker`): the job runner and only /healthz, /readyz and /metrics.
   */
  role?: "api" | "worker";
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const role = options.role ?? "api";
  if (role === "worker" && !config.workers) {
    throw new ConfigError([
      "VIDRELAY_WORKERS=false: `vidrelay worker` exists to run jobs; unset it (and pick kinds with VIDRELAY_WORKER_KINDS)",
    ]);
  }
  if (!config.secret && /^postgres(ql)?:/.test(config.databaseUrl)) {
    // A generated <data dir>/secret.key is one machine's: a second process (another data dir,
    // another host) would seal with a key the first cannot open, and channels would stop working.
    throw new ConfigError([
      "VIDRELAY_SECRET (--secret) is required with a Postgres store: every process sharing it must seal and open upstream keys and webhook secrets with the same secret (e.g. `openssl rand -base64 32`, the same value everywhere)",
    ]);
  }
  const logger = options.logger ?? createLogger(config);
  const storeLogger = logger.child({ component: "store" });
  const database = openDatabase(config.databaseUrl, {
    applicationName: `vidrelay-${role}`,
    onConnectionError: (error) =>
      storeLogger.warn({ err: error }, "a pooled store connection failed; it is replaced when next needed"),
  });
  const waitForStore = <T>(what: string, step: () => Promise<T>) =>
    whenStoreAnswers(step, { what, withinMs: STARTUP_STORE_WAIT_MS, log: (m) => storeLogger.warn(m) });
  await waitForStore("migrations", () => migrateToLatest(database.db, ALL_MIGRATIONS));
  // Unchanged task objects are served from memory where the store can say cheaply whether another
  // process changed anything (SQLite); every write this process makes reports itself through the
  // plugin, so all repositories must use this handle.
  const taskObjects = database.externalChanges ? new TaskObjectCache(database.externalChanges) : undefined;
  const db = taskObjects ? database.db.withPlugin(taskObjects.writeObserver()) : database.db;

  // Uploads in progress, spooled data: URLs, posters being made.
  await mkdir(join(config.dataDir, "tmp"), { recursive: true });
  const storage = await openStorage(config, (problem) => new ConfigError([problem]));
  const catalog = new Catalog(DEFAULT_CATALOG);
  const metrics = new Metrics();
  const events = new TaskEvents();
  // On Postgres, processes tell each other about task changes (SSE on any API process, cancels
  // reaching the worker that renders); SQLite deployments are one machine and resync from the store.
  const taskBridge =
    database.dialect === "postgres"
      ? await waitForStore("task notifications", () =>
          PgTaskEventBridge.start(config.databaseUrl, events, logger.child({ component: "events" })),
        )
      : undefined;
  const queue = await waitForStore("job queue", () =>
    openJobQueue(config, db, logger, (problem) => new ConfigError([problem])),
  );
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
  const billing = new Billing(db, catalog, {
    localRenders: config.localRendersBilled ? "priced" : "free",
    defaults: {
      requestsPerMinute: config.defaultRequestsPerMinute,
      maxConcurrent: config.defaultMaxConcurrent,
      dailySpendCap: config.defaultDailySpend ? decimalToMicros(config.defaultDailySpend)! : null,
    },
  });
  await billing.prices.ensureDefaultPrices();
  // Query budgets and breakers live in the store: every process of a deployment shares them.
  const budgets = storeBudgets(db);
  const adapters = createAdapters(config, { budgets });
  const channels = new ChannelService(db, secretBox, catalog, adapters);
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
    channels,
    billing: billing.holds,
    webhooks,
    presenter,
    events,
    metrics,
  });
  const tasks = new TaskService({
    catalog,
    tasks: taskRepo,
    idempotency,
    files,
    lifecycle,
    routing,
    cancelUpstream: (task) =>
      cancelUpstream({ channels, logger: logger.child({ component: "upstream" }) }, task),
    checkCallbackUrl: (url) => webhooks.checkCallbackUrl(url),
    storage,
    replayOfDeleted: config.idempotentReplayOfDeleted,
  });
  const relayLogger = logger.child({ component: "upstream" });
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
  const auth = new AuthService(accounts);
  const keys = new KeyService(accounts);
  let draining = false;
  const services: AppServices = {
    config,
    db,
    catalog,
    storage,
    queue,
    metrics,
    events,
    accounts,
    taskRepo,
    auth,
    files,
    tasks,
    webhooks,
    routing,
    poller,
    presenter,
    channels,
    billing,
  };

  // Request ids: a random per-process prefix and a counter (unique, and no crypto call per request).
  const requestIdPrefix = randomAlphanumeric(10);
  let requestSeq = 0;
  const app: FastifyInstance = Fastify({
    ...serverOptions(config),
    loggerInstance: logger as unknown as FastifyBaseLogger,
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

  // Every route registered from here on is recorded for /openapi.json (an undeclared one fails the suite).
  const routes = recordRoutes(app);
  await app.register(opsRoutes, {
    db,
    tasks: taskRepo,
    queue,
    metrics,
    isDraining: () => draining,
    metricsAccess: (authorization) => metricsAccess(authorization, { token: config.metricsToken, auth }),
  });
  if (role === "api") await registerApi();
  async function registerApi(): Promise<void> {
    await app.register(docsRoutes, { config, routes });
    if (config.console) await app.register(consoleRoutes, { dir: config.consoleDir });
    await app.register(mediaRoutes, { storage, files, tasks: taskRepo, posters });
    await app.register(upstreamHookRoutes, { channels, poller });
    // Everything under /v1 needs a key; the plugin scope keeps the hook off the public routes.
    await app.register(async (v1) => {
      v1.addHook("onRequest", async (request, reply) => {
        request.principal = await auth.authenticate(request.headers.authorization);
        // Per-key requests per minute (no store access unless the key or account has a limit).
        reply.headers(await billing.limits.enforceRateLimit(request.principal));
      });
      await v1.register(fileRoutes, { config, files });
      const reader = new TaskObjectReader(tasks, presenter, taskObjects);
      const streams = new StreamSlots({ perKey: config.maxStreamsPerKey, total: config.maxStreams });
      const keyStillValid = (authorization: string | undefined) =>
        auth.authenticate(authorization).then(
          () => true,
          () => false,
        );
      await v1.register(taskRoutes, {
        config,
        tasks,
        presenter,
        reader,
        events,
        storage,
        streams,
        keyStillValid,
      });
      const videos = new OpenAiVideos({ catalog, tasks, files });
      await v1.register(openAiVideoRoutes, { config, videos, tasks, storage, posters });
      await v1.register(modelRoutes, { catalog, routing, billing });
      await v1.register(whoAmIRoutes, { keys });
      await v1.register(keyRoutes, { keys, auth });
      await v1.register(webhookRoutes, { webhooks, tasks });
      await v1.register(channelRoutes, { channels });
      await v1.register(billingRoutes, { billing });
    });
  }

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // A port in use (or privileged) is the common first-start failure: close what was opened so
    // the CLI can say so in one line and exit. Nothing was written for anyone yet (see bootstrap).
    await app.close().catch(() => {});
    webhooks.close();
    await queue.close?.();
    await taskBridge?.close();
    await database.close();
    throw error;
  }
  limitConnections(app, config);
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.port;
  if (config.port === 0 && !process.env.VIDRELAY_PUBLIC_URL) {
    // Tests ask for an ephemeral port; the URLs we hand out must carry the real one.
    const displayHost = config.host.includes(":") ? `[${config.host}]` : config.host;
    config.publicUrl = `http://${displayHost}:${port}`;
  }

  let runner: JobRunner | undefined;
  let scratch: Scratch | undefined;
  if (config.workers) {
    scratch = await openScratch(config.dataDir);
    const materialize = {
      files,
      storage,
      limits: files.limits,
      allowPrivate,
      fetchTimeoutMs: config.fetchTimeoutSeconds * 1000,
    };
    const handlers: Partial<Record<JobKind, JobHandler>> = {
      render: new LocalRenderJob(config.renderConcurrency, {
        workRoot: scratch.dir,
        tasks: taskRepo,
        lifecycle,
        storage,
        events,
        metrics,
        materialize,
        firstFrame: { catalog, materialize },
      }),
      deliver: new DeliverWebhookJob(config.webhookConcurrency, webhooks),
      dispatch: new DispatchJob({
        config,
        db,
        tasks: taskRepo,
        lifecycle,
        channels,
        routing,
        breaker,
        files,
        storage,
        metrics,
        poller,
        logger: relayLogger,
        firstFrame: { catalog, materialize },
      }),
      // Ingest is I/O (download, MP4 box read, store): no process per task.
      ingest: new IngestJob({
        workRoot: scratch.dir,
        tasks: taskRepo,
        lifecycle,
        channels,
        storage,
        allowPrivate,
      }),
    };
    for (const kind of Object.keys(handlers) as JobKind[])
      if (!config.workerKinds.includes(kind)) delete handlers[kind];
    runner = new JobRunner(queue, handlers, {
      owner: `${hostname()}:${process.pid}:${randomAlphanumeric(6)}`,
      leaseMs: config.jobLeaseSeconds * 1000,
      logger: logger.child({ component: "jobs" }),
    });
    runner.start();
    if (config.workerKinds.includes("dispatch")) poller.start();
  }

  const sweeper = housekeeping({
    config,
    files,
    tasks: taskRepo,
    storage,
    lifecycle,
    idempotency,
    billing,
    cancelUpstream: (task) => cancelUpstream({ channels, logger: relayLogger }, task),
    logger,
  });
  sweeper.start();

  let closing: Promise<void> | undefined;
  const running: RunningServer = {
    app,
    services,
    routes,
    keys,
    runner,
    sweeper,
    // The handle every repository uses (writes through it reach the task object cache).
    database: { ...database, db },
    url: config.publicUrl,
    adminCreated: false,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        draining = true;
        await sweeper.stop();
        poller.stop();
        await app.close();
        await runner?.stop(graceMs);
        webhooks.close();
        await queue.close?.();
        await scratch?.remove();
        await taskBridge?.close();
        await database.close();
      })();
      return closing;
    },
  };
  // The API tier creates the first admin account and its key last, once everything above worked:
  // a start that fails (a port in use) must not leave an account whose key nobody saw, and the
  // caller gets the key with nothing left to fail before it can print it. A worker has no one to
  // show a key to.
  if (role === "api") {
    try {
      const bootstrap = await keys.bootstrap(config.bootstrapKey);
      running.adminCreated = bootstrap.created;
      running.bootstrapSecret = bootstrap.secret;
    } catch (error) {
      await running.close(0).catch(() => {});
      throw error;
    }
  }
  return running;
}
