/**
 * What each setting of `vidrelay serve` / `vidrelay worker` does and its default, for `--help`.
 * Typed by the config schema's keys: a new setting does not compile until it is described here.
 */
import { CONFIG_KEYS, type ConfigSchema, defaultDataDir, envName, flagName } from "../config.ts";

type SettingKey = keyof typeof ConfigSchema.shape;

export const SETTINGS_HELP: Record<SettingKey, { what: string; default: string }> = {
  host: { what: "address to listen on (0.0.0.0 for every interface)", default: "127.0.0.1" },
  port: { what: "TCP port (0 picks a free one)", default: "8080" },
  dataDir: {
    what: "SQLite file, local media and scratch space; a relative path is relative to the folder the command is typed in (under npm: where npm was run)",
    default: `<repository>/data in a checkout, else $XDG_DATA_HOME/vidrelay or ~/.local/share/vidrelay; here: ${defaultDataDir()}`,
  },
  publicUrl: {
    what: "origin of every URL we return (behind a proxy: the public one)",
    default: "http://HOST:PORT",
  },
  databaseUrl: {
    what: "the store: sqlite:/path/file.db or postgres://user@host/db",
    default: "sqlite:<data dir>/vidrelay.db",
  },
  bootstrapKey: {
    what: "the admin key created on first start (sk- and 32+ characters)",
    default: "generated, printed once",
  },
  secret: {
    what: "seals upstream keys and webhook signing secrets at rest (16+ characters; every process of a cluster the same)",
    default: "<data dir>/secret.key, made on first start",
  },
  secretPrevious: {
    what: "earlier secrets, comma-separated: they only open, until 'vidrelay secrets rotate' re-seals with the current one",
    default: "none",
  },
  storageUrl: {
    what: "media storage: file:///abs/path or s3://BUCKET[/PREFIX]?endpoint=…&region=…",
    default: "<data dir>/blobs",
  },
  allowPrivateTargets: {
    what: "private/loopback hosts outbound URLs may reach (localhost,10.0.0.0/8 or *)",
    default: "none",
  },
  logLevel: { what: "fatal, error, warn, info, debug, trace or silent", default: "info" },
  fileTtlSeconds: { what: "how long uploaded files are kept", default: "604800 (7 days)" },
  videoTtlSeconds: { what: "how long finished videos are kept", default: "2592000 (30 days)" },
  maxImageBytes: { what: "largest image upload", default: "31457280 (30 MB)" },
  maxImagePixels: { what: "largest image, in pixels", default: "36000000" },
  maxVideoBytes: { what: "largest video upload", default: "209715200 (200 MB)" },
  maxAudioBytes: { what: "largest audio upload", default: "52428800 (50 MB)" },
  renderConcurrency: { what: "local renders at once in this process", default: "one per core" },
  workers: {
    what: "run background jobs here (false: API only; run 'vidrelay worker' elsewhere)",
    default: "true",
  },
  jobQueue: { what: "auto (pg-boss on Postgres, built-in on SQLite), builtin or pgboss", default: "auto" },
  pgbossSchema: { what: "Postgres schema of pg-boss's tables (one per deployment)", default: "pgboss" },
  workerKinds: {
    what: "jobs this process runs: all, or a list of render,deliver,dispatch,ingest",
    default: "all",
  },
  jobLeaseSeconds: {
    what: "a claimed job returns to the queue if its worker is silent this long",
    default: "30",
  },
  taskTimeoutSeconds: { what: "an unfinished task then fails with timeout", default: "3600" },
  fetchTimeoutSeconds: { what: "timeout for fetching media from URLs", default: "20" },
  webhookRetrySchedule: {
    what: "seconds between webhook attempts",
    default: "5,30,120,600,1800,3600,7200,14400,28800,28800,28800",
  },
  localEngine: {
    what: "models the local engine serves: auto (all until a channel exists), all, off",
    default: "auto",
  },
  localRendersBilled: { what: "charge local renders at the model's price", default: "false" },
  upstreamPollScale: { what: "multiplies the providers' polling delays", default: "1" },
  upstreamQueryRps: { what: "status queries per second per channel", default: "20" },
  upstreamSubmitTimeoutSeconds: {
    what: "a provider submit slower than this is treated as ambiguous",
    default: "30",
  },
  sweepIntervalSeconds: {
    what: "how often expired files, stuck tasks and old keys are swept",
    default: "60",
  },
  breakerThreshold: { what: "consecutive failures that open a channel's circuit breaker", default: "3" },
  breakerCooldownSeconds: { what: "how long an open breaker stays open", default: "30" },
  webhookTimeoutSeconds: { what: "timeout of one webhook attempt", default: "10" },
  webhookConcurrency: { what: "webhook deliveries in flight in this process", default: "64" },
  webhookPerHostConcurrency: { what: "deliveries in flight per receiving host to begin with", default: "4" },
  webhookPerHostMaxConcurrency: { what: "the most a fast receiving host earns", default: "32" },
  console: { what: "serve the web console at /console", default: "true" },
  consoleDir: { what: "folder of a built console to serve", default: "packages/console/dist" },
  maxJsonBytes: {
    what: "largest JSON body, and the most of one held in memory (a submit's data: URLs go to disk)",
    default: "1048576 (1 MiB)",
  },
  maxSubmitBytes: {
    what: "largest submit body, data: URLs included (bigger media: POST /v1/files)",
    default: "67108864 (64 MiB)",
  },
  requestTimeoutSeconds: { what: "a request (headers and body) must arrive within this", default: "300" },
  idleTimeoutSeconds: {
    what: "a connection with nothing moving either way this long is closed",
    default: "60",
  },
  maxConnections: { what: "open client connections per process", default: "4096" },
  defaultRequestsPerMinute: {
    what: "requests per minute per key of non-admin accounts, unless set",
    default: "600",
  },
  defaultMaxConcurrent: { what: "tasks in flight per key of non-admin accounts, unless set", default: "50" },
  defaultDailySpend: {
    what: "spend per UTC day per key of non-admin accounts, unless set (e.g. 250)",
    default: "none",
  },
  storageQuotaBytes: {
    what: "bytes of unexpired uploads an account may keep (0: no quota)",
    default: "10737418240 (10 GiB)",
  },
  maxStreamsPerKey: { what: "event streams (…/events) open at once per API key", default: "20" },
  maxStreams: { what: "event streams open at once in this process", default: "1000" },
  metricsToken: {
    what: "bearer token for /metrics (16+ characters; an admin key also works)",
    default: "none: admin keys only",
  },
  idempotentReplayOfDeleted: {
    what: "an Idempotency-Key whose task was deleted: conflict (409) or new (a new task)",
    default: "conflict",
  },
  webhookSecretGraceSeconds: {
    what: "a rotated webhook secret still signs for this long",
    default: "86400 (1 day)",
  },
};

/** One block per setting: flag and variable, then what it does and its default. */
export function settingsHelp(): string {
  return CONFIG_KEYS.map((key) => {
    const { what, default: fallback } = SETTINGS_HELP[key];
    return `  ${flagName(key)}, ${envName(key)}\n      ${what} (default: ${fallback})`;
  }).join("\n");
}
