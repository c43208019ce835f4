/**
 * One server process: bind the port, build the services, serve the routes, run the jobs and the
 * sweeps, and stop in the reverse order. What each step is lives in its own module:
 * http/listener.ts, app-services.ts, http/app.ts, api/register-routes.ts, relay/job-handlers.ts,
 * tasks/sweeps.ts.
 */
import type { FastifyInstance } from "fastify";
import pino, { type Logger } from "pino";
import type { RegisteredRoute } from "./api/openapi.ts";
import { registerRoutes } from "./app-routes.ts";
import { type AppServices, buildServices } from "./app-services.ts";
import { type Config, ConfigError } from "./config.ts";
import { createHttpApp } from "./http/app.ts";
import { Listener } from "./http/listener.ts";
import type { JobRunner } from "./jobs/runner.ts";
import type { Sweeper } from "./jobs/sweeper.ts";
import type { KeyService } from "./keys/service.ts";
import { type RunningJobs, startJobs } from "./relay/job-handlers.ts";
import type { DatabaseHandle } from "./store/db.ts";
import { housekeeping } from "./tasks/sweeps.ts";

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

export interface StartOptions {
  logger?: Logger;
  /**
   * "api" (default): the whole API, plus the job runner unless `config.workers` is false.
   * "worker" (`vidrelay worker`): the job runner and only /healthz, /readyz and /metrics.
   */
  role?: "api" | "worker";
}

export async function startServer(given: Config, options: StartOptions = {}): Promise<RunningServer> {
  const role = options.role ?? "api";
  refuseUnsafeSetups(given, role);
  // A port in use fails here, before the store is touched; from here on the configuration is final.
  const listener = await Listener.open(given);
  const config = listener.finalConfig(given, Boolean(process.env.VIDRELAY_PUBLIC_URL));
  const logger = options.logger ?? createLogger(config);
  let services: AppServices;
  try {
    services = await buildServices(config, { logger, role });
  } catch (error) {
    await listener.close();
    throw error;
  }
  let draining = false;
  const app = createHttpApp({ config, logger, metrics: services.metrics, listener });
  let routes: RegisteredRoute[];
  try {
    routes = await registerRoutes(app, services, { role, isDraining: () => draining });
    await app.ready();
  } catch (error) {
    await Promise.allSettled([app.close(), listener.close()]);
    await services.close();
    throw error;
  }
  listener.serve();
  const jobs: RunningJobs | undefined = config.workers ? await startJobs(services) : undefined;
  const sweeper = housekeeping({ ...services, tasks: services.taskRepo });
  sweeper.start();

  let closing: Promise<void> | undefined;
  const running: RunningServer = {
    app,
    services,
    routes,
    keys: services.keys,
    runner: jobs?.runner,
    sweeper,
    database: services.database,
    url: config.publicUrl,
    adminCreated: false,
    close(graceMs = 10_000) {
      closing ??= (async () => {
        draining = true;
        await sweeper.stop();
        services.poller.stop();
        // No new connections; requests in flight are answered before the app closes.
        const stopped = listener.close();
        await app.close();
        await stopped;
        await jobs?.stop(graceMs);
        await services.close();
      })();
      return closing;
    },
  };
  // The API tier creates the first admin account and its key last, once everything above worked:
  // a start that fails must not leave an account whose key nobody saw, and the caller gets the key
  // with nothing left to fail before it can print it. A worker has no one to show a key to.
  if (role === "api") {
    try {
      const bootstrap = await services.keys.bootstrap(config.bootstrapKey);
      running.adminCreated = bootstrap.created;
      running.bootstrapSecret = bootstrap.secret;
    } catch (error) {
      await running.close(0).catch(() => {});
      throw error;
    }
  }
  return running;
}

function refuseUnsafeSetups(config: Config, role: "api" | "worker"): void {
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
}
