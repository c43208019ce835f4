/**
 * The settings: every one is an environment variable `VIDRELAY_<NAME>` and a `vidrelay serve
 * --<name>` flag (flags win), named after its key here. One zod schema validates both, so a bad
 * value stops the server at start with a message naming the variable. Loading them (env over
 * defaults, flags over env, the data dir and store resolved) is config.ts.
 */
import { cpus } from "node:os";
import { z } from "zod";
import { parseStorageUrl } from "./storage/storage-url.ts";

const port = z.coerce.number().int().min(0).max(65535);
const bool = z.union([z.boolean(), z.string()]).transform((v, ctx) => {
  if (typeof v === "boolean") return v;
  const s = v.trim().toLowerCase();
  if (["1", "true", "yes", "on"].includes(s)) return true;
  if (["0", "false", "no", "off", ""].includes(s)) return false;
  ctx.addIssue({ code: "custom", message: `expected true or false, got "${v}"` });
  return z.NEVER;
});
const bytes = z.coerce.number().int().positive();

function isHttpUrl(value: string): boolean {
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}

/** A comma-separated setting's items, trimmed, empty ones dropped. */
function commaList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean);
}

export const ConfigSchema = z.object({
  host: z.string().min(1).default("127.0.0.1"),
  port: port.default(8080),
  /** Unset: `defaultDataDir()` (one place whichever folder a command runs in); see `resolveDataDir`. */
  dataDir: z.string().min(1).optional(),
  publicUrl: z
    .string()
    .refine(isHttpUrl, "must be an http(s) origin such as https://video.example.com")
    .optional(),
  databaseUrl: z
    .string()
    .refine(
      (u) => /^(postgres(ql)?:\/\/|sqlite:)/.test(u),
      "must be postgres://user@host:5432/db or sqlite:/path/to/file.db",
    )
    .optional(),
  bootstrapKey: z
    .string()
    .regex(/^sk-[A-Za-z0-9_-]{32,}$/, "must look like sk- followed by at least 32 letters, digits, - or _")
    .optional(),
  secret: z.string().min(16, "must be at least 16 characters (used to encrypt upstream keys)").optional(),
  /**
   * Earlier values of VIDRELAY_SECRET, comma-separated: they only open what they sealed, while
   * `vidrelay secrets rotate` re-seals it with the current secret (docs/deployment.md).
   */
  secretPrevious: z
    .string()
    .default("")
    .transform((value, ctx) => {
      const secrets = commaList(value);
      if (secrets.some((s) => s.length < 16)) {
        ctx.addIssue({
          code: "custom",
          message: "must be a comma-separated list of earlier VIDRELAY_SECRET values (16+ characters each)",
        });
        return z.NEVER;
      }
      return secrets;
    }),
  /**
   * Where uploads and videos are kept: unset = `<data dir>/blobs`; `file:///abs/path`; or
   * `s3://BUCKET[/PREFIX]?endpoint=URL&region=R&force_path_style=true` (credentials: the AWS chain).
   */
  storageUrl: z
    .string()
    .superRefine((value, ctx) => {
      try {
        parseStorageUrl(value);
      } catch (error) {
        ctx.addIssue({ code: "custom", message: (error as Error).message });
      }
    })
    .optional(),
  allowPrivateTargets: z.string().default(""),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  fileTtlSeconds: z.coerce
    .number()
    .int()
    .positive()
    .default(7 * 24 * 3600),
  videoTtlSeconds: z.coerce
    .number()
    .int()
    .positive()
    .default(30 * 24 * 3600),
  maxImageBytes: bytes.default(30 * 1024 * 1024),
  maxImagePixels: bytes.default(36_000_000),
  maxVideoBytes: bytes.default(200 * 1024 * 1024),
  maxAudioBytes: bytes.default(50 * 1024 * 1024),
  renderConcurrency: z.coerce.number().int().min(1).default(Math.max(1, cpus().length)),
  workers: bool.default(true),
  /**
   * The job queue: "auto" (default) is pg-boss when the store is Postgres and the built-in queue
   * (the store's own `jobs` table) on SQLite; "builtin" keeps the built-in queue on Postgres too.
   */
  jobQueue: z.enum(["auto", "builtin", "pgboss"]).default("auto"),
  /** The Postgres schema pg-boss keeps its tables in (one per deployment; every process names the same). */
  pgbossSchema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,49}$/, "must be a lowercase identifier (letters, digits, _)")
    .default("pgboss"),
  /**
   * Which job kinds this process runs: "all", or a comma list of render, deliver, dispatch, ingest
   * (e.g. API-only processes with VIDRELAY_WORKERS=false, and render-only workers elsewhere).
   */
  workerKinds: z
    .string()
    .default("all")
    .transform((value, ctx) => {
      const kinds = commaList(value);
      const known = ["all", "render", "deliver", "dispatch", "ingest"];
      const bad = kinds.filter((k) => !known.includes(k));
      if (bad.length || kinds.length === 0) {
        ctx.addIssue({
          code: "custom",
          message: `must be "all" or a comma list of render, deliver, dispatch, ingest`,
        });
        return z.NEVER;
      }
      return kinds.includes("all") ? ["render", "deliver", "dispatch", "ingest"] : kinds;
    }),
  jobLeaseSeconds: z.coerce.number().positive().default(30),
  taskTimeoutSeconds: z.coerce.number().int().positive().default(3600),
  fetchTimeoutSeconds: z.coerce.number().positive().default(20),
  /** Seconds between webhook attempts, after the first; its sum must cover at least a day in production. */
  webhookRetrySchedule: z
    .string()
    .default("5,30,120,600,1800,3600,7200,14400,28800,28800,28800")
    .transform((value, ctx) => {
      const steps = value.split(",").map((part) => Number(part.trim()));
      if (steps.length === 0 || steps.some((n) => !Number.isFinite(n) || n < 0)) {
        ctx.addIssue({ code: "custom", message: "must be a comma-separated list of seconds, e.g. 5,30,120" });
        return z.NEVER;
      }
      return steps;
    }),
  /**
   * Which models the built-in local engine serves for live keys: "auto" (all of them while no
   * upstream channel is enabled, none once one is), "all" (every model no channel serves), "off".
   * Test-mode keys always render locally.
   */
  localEngine: z.enum(["auto", "all", "off"]).default("auto"),
  /** Whether renders by the local engine are charged at the model's price (test-mode keys never are). */
  localRendersBilled: bool.default(false),
  /** Multiplies the providers' polling delays (tests use a tiny value with fast doubles). */
  upstreamPollScale: z.coerce.number().positive().default(1),
  /** Status queries per second per channel (DashScope allows 20 per account); batched lists count once. */
  upstreamQueryRps: z.coerce.number().positive().default(20),
  /** How long a submit to a provider may take before its outcome is treated as ambiguous. */
  upstreamSubmitTimeoutSeconds: z.coerce.number().positive().default(30),
  /** How often expired files, stuck tasks and old idempotency keys are swept. */
  sweepIntervalSeconds: z.coerce.number().positive().default(60),
  /** Consecutive failures that open a channel's circuit breaker, and how long it stays open. */
  breakerThreshold: z.coerce.number().int().min(1).default(3),
  breakerCooldownSeconds: z.coerce.number().positive().default(30),
  webhookTimeoutSeconds: z.coerce.number().positive().default(10),
  webhookConcurrency: z.coerce.number().int().min(1).default(64),
  /** Deliveries in flight per receiving host to begin with, and after the host signals overload. */
  webhookPerHostConcurrency: z.coerce.number().int().min(1).default(4),
  /** The most a host that answers quickly earns (set it equal to the above for a fixed limit). */
  webhookPerHostMaxConcurrency: z.coerce.number().int().min(1).default(32),
  /** Serve the web console at /console (packages/console, built by `npm start` when missing). */
  console: bool.default(true),
  /** The built console's folder; unset = the workspace package's `dist`. */
  consoleDir: z.string().min(1).optional(),
  /**
   * The largest JSON request body, and the most of any JSON body kept in memory (data: URLs of a
   * submit aside, which stream to disk).
   */
  maxJsonBytes: bytes.default(1024 * 1024),
  /** The largest submit body, data: URLs included (larger media go through POST /v1/files). */
  maxSubmitBytes: bytes.default(64 * 1024 * 1024),
  /** How long a client may take to send a whole request, headers and body (uploads included). */
  requestTimeoutSeconds: z.coerce.number().positive().default(300),
  /** A connection on which nothing moves either way for this long is closed (slow bodies, stalled readers). */
  idleTimeoutSeconds: z.coerce.number().positive().default(60),
  /** Open client connections per process; more wait in the kernel's backlog, then are refused. */
  maxConnections: z.coerce.number().int().min(1).default(4096),
  /**
   * Limits for keys of non-admin accounts that have none of their own (a key's or its account's
   * setting wins; admin accounts are unlimited unless set): requests per minute, tasks in flight,
   * and spend per UTC day in the billing currency ("" = no daily cap).
   */
  defaultRequestsPerMinute: z.coerce.number().int().min(1).default(600),
  defaultMaxConcurrent: z.coerce.number().int().min(1).default(50),
  defaultDailySpend: z
    .string()
    .regex(
      /^(\d{1,9}(\.\d{1,6})?)?$/,
      "must be an amount such as 250 or 99.50 (the billing currency), or empty",
    )
    .default(""),
  /** Bytes of unexpired uploaded files an account may keep (uploads, data: URLs); 0 = no quota. */
  storageQuotaBytes: z.coerce
    .number()
    .int()
    .min(0)
    .default(10 * 1024 * 1024 * 1024),
  /** Event streams (`GET …/events`) open at once per API key, and per process. */
  maxStreamsPerKey: z.coerce.number().int().min(1).default(20),
  maxStreams: z.coerce.number().int().min(1).default(1000),
  /**
   * A bearer token for `GET /metrics` (an admin API key works too); unset: only admin keys. The
   * metrics name models, providers and volumes, so they are not public.
   */
  metricsToken: z.string().min(16, "must be at least 16 characters").optional(),
  /**
   * A submit whose Idempotency-Key names a task its owner has since deleted: "conflict" (409, the
   * key is spent) or "new" (the key starts over: a new task).
   */
  idempotentReplayOfDeleted: z.enum(["conflict", "new"]).default("conflict"),
  webhookSecretGraceSeconds: z.coerce
    .number()
    .int()
    .min(0)
    .default(24 * 3600),
});

export type ConfigInput = z.input<typeof ConfigSchema>;

/** Flag/env names, derived from the schema: `dataDir` ↔ `VIDRELAY_DATA_DIR` ↔ `--data-dir`. */
export const CONFIG_KEYS = Object.keys(ConfigSchema.shape) as Array<keyof typeof ConfigSchema.shape>;
export const envName = (key: string) => `VIDRELAY_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
export const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
