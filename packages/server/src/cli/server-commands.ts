import { CONFIG_KEYS, type Config, flagName, loadConfig, storeLabel } from "../config.ts";
import { usesPgBoss } from "../jobs/open-queue.ts";
import { AccountRepository } from "../keys/repository.ts";
import { KeyService } from "../keys/service.ts";
import { ALL_MIGRATIONS } from "../migrations.ts";
import { type RunningServer, startServer } from "../server.ts";
import { migrateToLatest, openDatabase } from "../store/db.ts";
import { VERSION_STRING } from "../version.ts";
import { EXIT, type Io, parse, stdio, UsageError } from "./common.ts";
import { settingsHelp } from "./settings-help.ts";
import { adminKeyCommand, earlierStoreNote, storeLine } from "./store-notice.ts";

/**
 * The operator commands: they run the server or work on its store directly (no HTTP), so they
 * are loaded only when used.
 */

function kebab(key: string): string {
  return flagName(key).slice(2);
}

export const SERVE_HELP = `vidrelay serve — serve the API

Every option is also an environment variable, and may be set in a .env file (see 'vidrelay --help');
flags win over the environment, the environment over the file.

${settingsHelp()}

Example:
  vidrelay serve --port 9000 --data-dir /var/lib/vidrelay
`;

export const KEYS_HELP = `vidrelay keys — manage API keys directly in the store (the server may be running)

  vidrelay keys create --admin [--name LABEL] [--json]       a new key for the admin account
  vidrelay keys create --account-name NAME [--admin] [--name LABEL] [--test-mode] [--json]
  vidrelay keys create --account ACCOUNT_ID [--name LABEL] [--test-mode] [--json]
  vidrelay keys list [--account ACCOUNT_ID] [--json]
  vidrelay keys revoke KEY_ID

Uses the same VIDRELAY_DATA_DIR / VIDRELAY_DATABASE_URL as 'vidrelay serve' (--data-dir,
--database-url), and first prints the store it opened ("store: …"; on stderr with --json).
Lost the admin key? 'vidrelay keys create --admin' on the server's host makes a new one for the
admin account the first start created (the old key keeps working until revoked).

Example:
  vidrelay keys create --account-name acme --name ci
`;

export const WORKER_HELP = `vidrelay worker — run background jobs (renders, dispatch, polling, ingest, webhooks)

A worker shares the store (and the blob storage) with the API processes and serves only
/healthz, /readyz and /metrics on its port. Run the API tier with VIDRELAY_WORKERS=false and as
many workers as the load needs; VIDRELAY_WORKER_KINDS picks what a worker runs.
On SIGTERM a worker stops claiming, lets in-flight jobs finish (up to 10 s), hands the rest back
to the queue and exits.

Takes the same options as 'vidrelay serve' (see vidrelay serve --help).

Example:
  VIDRELAY_DATABASE_URL=postgres://db/vidrelay VIDRELAY_PORT=9101 vidrelay worker
`;

function configFromArgs(args: string[], io: Io, help: string): Config | undefined {
  const options = Object.fromEntries([
    ...CONFIG_KEYS.map((k) => [kebab(k), { type: "string" as const }]),
    ["help", { type: "boolean" as const, short: "h" }],
  ]);
  const parsed = parse(args, options);
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const positionals = parsed.positionals;
  if (values.help) {
    io.out(help);
    return undefined;
  }
  if (positionals.length)
    throw new UsageError(`this command takes no arguments (got ${positionals.join(" ")})`);
  const overrides = Object.fromEntries(CONFIG_KEYS.map((k) => [k, values[kebab(k)]]));
  return loadConfig(overrides);
}

/**
 * serve and worker: the configuration from the flags, listening, `started` (what the process
 * prints and warms), then serving until a signal.
 */
async function runProcess(
  args: string[],
  io: Io,
  help: string,
  role: "api" | "worker",
  started: (config: Config, server: RunningServer) => Promise<void>,
): Promise<number> {
  const config = configFromArgs(args, io, help);
  if (!config) return EXIT.ok;
  const signals = stopOnSignal();
  const server = await startListening(config, role, io);
  if (!server) return EXIT.usage;
  await started(config, server);
  await signals.serveUntilSignal(server);
  return EXIT.ok;
}

export function serve(args: string[], io: Io = stdio): Promise<number> {
  return runProcess(args, io, SERVE_HELP, "api", announceApi);
}

async function announceApi(config: Config, server: RunningServer): Promise<void> {
  // Printed before anything else can fail (warming the renderer, below): the admin key exists
  // only in this output.
  const lines = [
    `vidrelay ${VERSION_STRING} listening on ${server.url}  (bound to ${config.host}:${boundPort(server)})`,
    `  store:    ${storeLabel(config.databaseUrl)}`,
    `  data:     ${config.dataDir}`,
    `  docs:     ${server.url}/docs`,
    `  jobs:     ${config.workers ? config.workerKinds.join(", ") : "none here (VIDRELAY_WORKERS=false: run 'vidrelay worker' processes)"}` +
      ` · queue: ${queueName(config)}`,
    "  providers: no upstream channel is configured, so every model is served by the built-in local engine",
    "             (camera motion over your images rendered with ffmpeg; it is not a generative AI model)",
  ];
  if (server.bootstrapSecret) {
    lines.push(
      "",
      "  First start: created the admin account. Its API key is shown ONCE — store it now:",
      "",
      `      ${server.bootstrapSecret}`,
      "",
      `  Try: curl -H "Authorization: Bearer ${server.bootstrapSecret.slice(0, 7)}…" ${server.url}/v1/models`,
    );
  } else if (server.adminCreated) {
    lines.push("", "  First start: created the admin account with the key VIDRELAY_BOOTSTRAP_KEY gives.");
  } else {
    lines.push("", `  admin account exists; lost its key? run: ${adminKeyCommand(config)}`);
  }
  const earlier = earlierStoreNote(config);
  if (earlier) lines.push("", `  ${earlier}`);
  console.log(lines.join("\n"));
  await warmRenderer(config);
}

/**
 * startServer, with the usual ways listening fails (a port in use, a privileged port, an address
 * not on this machine) told in one line naming the setting to change — exit code 2, no stack
 * trace. startServer has closed the store by then, and created no account.
 */
async function startListening(
  config: Config,
  role: "api" | "worker",
  io: Io,
): Promise<RunningServer | undefined> {
  try {
    return await startServer(config, { role });
  } catch (error) {
    const problem = listenProblem(error, config);
    if (!problem) throw error;
    io.err(`vidrelay: ${problem}`);
    return undefined;
  }
}

function listenProblem(error: unknown, config: Config): string | undefined {
  const { code, syscall } = error as NodeJS.ErrnoException;
  if (syscall !== "listen" && syscall !== "bind") return undefined;
  const where = `port ${config.port} on ${config.host}`;
  // The next port up is likely free; a privileged port's usual replacement is 8080.
  const other = code === "EACCES" ? 8080 : config.port < 65535 ? config.port + 1 : config.port - 1;
  const instead = `start with VIDRELAY_PORT=${other} (or --port ${other})`;
  switch (code) {
    case "EADDRINUSE":
      return `${where} is in use; ${instead}, or stop what uses it`;
    case "EACCES":
      return `${where} needs privileges this user lacks (ports below 1024 usually do); ${instead}`;
    case "EADDRNOTAVAIL":
      return `${config.host} is not an address of this machine; start with VIDRELAY_HOST=127.0.0.1 (or --host 127.0.0.1), or 0.0.0.0 for every interface`;
    default:
      return undefined;
  }
}

export function worker(args: string[], io: Io = stdio): Promise<number> {
  return runProcess(args, io, WORKER_HELP, "worker", async (config, server) => {
    await warmRenderer(config);
    console.log(
      [
        `vidrelay ${VERSION_STRING} worker running ${config.workerKinds.join(", ")}`,
        `  ops:      http://${config.host}:${boundPort(server)}/healthz, /readyz, /metrics`,
        `  store:    ${storeLabel(config.databaseUrl)} · queue: ${queueName(config)}`,
      ].join("\n"),
    );
  });
}

function boundPort(server: RunningServer): number {
  const address = server.app.server.address();
  return address && typeof address === "object" ? address.port : 0;
}

async function warmRenderer(config: Config): Promise<void> {
  if (config.workers && config.workerKinds.includes("render")) {
    // Boot the render engine's worker threads now rather than on the first render.
    (await import("../engine/frame-workers.ts")).frameWorkers().warm();
  }
}

/**
 * Serve until SIGINT/SIGTERM, then stop accepting work, let in-flight jobs finish (10 s), hand the
 * rest back to the queue, close the store and return, so the process exits by itself. A second
 * signal exits at once. Listening starts before the server does: /readyz answers while the render
 * workers are still warming, and a supervisor's SIGTERM in that window must still stop cleanly.
 */
function stopOnSignal(): { serveUntilSignal(server: RunningServer): Promise<void> } {
  let first: string | undefined;
  let onFirst: ((signal: string) => void) | undefined;
  const handle = (signal: string) => {
    if (first) {
      console.error(`vidrelay: ${signal} again, exiting now`);
      process.exit(1);
    }
    first = signal;
    onFirst?.(signal);
  };
  process.on("SIGINT", () => handle("SIGINT"));
  process.on("SIGTERM", () => handle("SIGTERM"));
  return {
    serveUntilSignal: (server) =>
      new Promise<void>((resolve) => {
        const stop = (signal: string) => {
          console.log(`vidrelay: ${signal} received, finishing in-flight work (up to 10 s)…`);
          server.close(10_000).then(
            () => {
              console.log("vidrelay: stopped");
              resolve();
            },
            (error) => {
              console.error(error);
              resolve();
            },
          );
        };
        if (first) stop(first);
        else onFirst = stop;
      }),
  };
}

export async function keys(args: string[], io: Io = stdio): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, {
    account: { type: "string" },
    "account-name": { type: "string" },
    admin: { type: "boolean" },
    name: { type: "string" },
    "test-mode": { type: "boolean" },
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    "data-dir": { type: "string" },
    "database-url": { type: "string" },
  });
  if (values.help || !sub || sub === "--help" || sub === "-h") {
    io.out(KEYS_HELP);
    return sub ? EXIT.ok : EXIT.usage;
  }
  const config = loadConfig({ dataDir: values["data-dir"], databaseUrl: values["database-url"] });
  // Which store, before anything else: machine-readable output stays alone on stdout.
  if (values.json) io.err(storeLine(config));
  else io.out(storeLine(config));
  const database = openDatabase(config.databaseUrl, { poolSize: 2 });
  try {
    await migrateToLatest(database.db, ALL_MIGRATIONS);
    const repository = new AccountRepository(database.db);
    const service = new KeyService(repository);
    switch (sub) {
      case "create": {
        const accountName = values["account-name"] as string | undefined;
        let accountId = values.account as string | undefined;
        if (values.admin && !accountId && !accountName) {
          // The way back in when the admin key is lost: a new key for the first admin account
          // (the one the server's first start created).
          const admin = (await repository.listAccounts()).find((a) => a.is_admin === 1);
          if (!admin) {
            throw new UsageError(
              `this store has no admin account (${storeLabel(config.databaseUrl)}): is it the server's? ` +
                "The server creates one on its first start; give --data-dir or --database-url as the server has them, " +
                "or --account-name NAME --admin to create one here",
            );
          }
          accountId = admin.id;
        }
        const { account, key } = await service.create({
          accountId,
          accountName,
          admin: values.admin as boolean | undefined,
          name: values.name as string | undefined,
          testMode: values["test-mode"] as boolean | undefined,
        });
        if (values.json)
          console.log(JSON.stringify({ ...key, account: service.accountToApi(account) }, null, 2));
        else {
          console.log(
            `created key ${key.id} for account ${account.id} (${account.name})${key.test_mode ? " [test mode]" : ""}`,
          );
          console.log("the key is shown once:");
          console.log(key.key);
        }
        return EXIT.ok;
      }
      case "list": {
        const list = await service.list(values.account as string | undefined);
        if (values.json) console.log(JSON.stringify(list, null, 2));
        else {
          console.log(
            ["ID".padEnd(26), "ACCOUNT".padEnd(26), "PREFIX".padEnd(16), "NAME".padEnd(14), "STATE"].join(
              " ",
            ),
          );
          for (const k of list) {
            const state = k.revoked_at ? "revoked" : k.test_mode ? "active (test)" : "active";
            console.log(
              [
                k.id.padEnd(26),
                k.account_id.padEnd(26),
                k.prefix.padEnd(16),
                k.name.slice(0, 14).padEnd(14),
                state,
              ].join(" "),
            );
          }
        }
        return EXIT.ok;
      }
      case "revoke": {
        const id = positionals[0];
        if (!id) throw new UsageError("keys revoke needs a KEY_ID (see 'vidrelay keys list')");
        const key = await service.revoke(id);
        console.log(values.json ? JSON.stringify(key, null, 2) : `revoked ${key.id}`);
        return EXIT.ok;
      }
      default:
        throw new UsageError(`unknown keys command "${sub}"\n\n${KEYS_HELP}`);
    }
  } finally {
    await database.close();
  }
}

/** Which job queue the process uses. */
function queueName(config: Config): string {
  return usesPgBoss(config) ? `pg-boss (schema ${config.pgbossSchema})` : "built-in";
}
