import { CONFIG_KEYS, flagName, loadConfig } from "../config.ts";
import { AccountRepository } from "../keys/repository.ts";
import { KeyService } from "../keys/service.ts";
import { ALL_MIGRATIONS } from "../migrations.ts";
import { startServer } from "../server.ts";
import { migrateToLatest, openDatabase } from "../store/db.ts";
import { VERSION_STRING } from "../version.ts";
import { EXIT, type Io, parse, stdio, UsageError } from "./common.ts";

/**
 * The operator commands: they run the server or work on its store directly (no HTTP), so they
 * are loaded only when used.
 */

function kebab(key: string): string {
  return flagName(key).slice(2);
}

export const SERVE_HELP = `vidrelay serve — serve the API

Every option is also an environment variable (VIDRELAY_<NAME>); flags win.
${CONFIG_KEYS.map((k) => `  ${flagName(k).padEnd(26)} VIDRELAY_${kebab(k).replace(/-/g, "_").toUpperCase()}`).join("\n")}

Example:
  vidrelay serve --port 9000 --data-dir /var/lib/vidrelay
`;

export const KEYS_HELP = `vidrelay keys — manage API keys directly in the store (the server may be running)

  vidrelay keys create --account-name NAME [--admin] [--name LABEL] [--test-mode] [--json]
  vidrelay keys create --account ACCOUNT_ID [--name LABEL] [--test-mode] [--json]
  vidrelay keys list [--account ACCOUNT_ID] [--json]
  vidrelay keys revoke KEY_ID

Uses the same VIDRELAY_DATA_DIR / VIDRELAY_DATABASE_URL as 'vidrelay serve'.

Example:
  vidrelay keys create --account-name acme --name ci
`;

export async function serve(args: string[], io: Io = stdio): Promise<number> {
  const options = Object.fromEntries([
    ...CONFIG_KEYS.map((k) => [kebab(k), { type: "string" as const }]),
    ["help", { type: "boolean" as const, short: "h" }],
  ]);
  const parsed = parse(args, options);
  const values = parsed.values as Record<string, string | boolean | undefined>;
  const positionals = parsed.positionals;
  if (values.help) {
    io.out(SERVE_HELP);
    return EXIT.ok;
  }
  if (positionals.length) throw new UsageError(`serve takes no arguments (got ${positionals.join(" ")})`);
  const overrides = Object.fromEntries(CONFIG_KEYS.map((k) => [k, values[kebab(k)]]));
  const config = loadConfig(overrides);
  const server = await startServer(config);
  if (config.workers && config.workerKinds.includes("render")) {
    // Boot the render engine's worker threads now rather than on the first render.
    (await import("../engine/frame-workers.ts")).frameWorkers().warm();
  }
  const lines = [
    `vidrelay ${VERSION_STRING} listening on ${server.url}  (bound to ${config.host}:${server.app.server.address() && typeof server.app.server.address() === "object" ? (server.app.server.address() as { port: number }).port : config.port})`,
    `  store:    ${config.databaseUrl.startsWith("postgres") ? "postgres" : config.databaseUrl}`,
    `  data:     ${config.dataDir}`,
    `  docs:     ${server.url}/docs`,
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
  }
  console.log(lines.join("\n"));

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        console.error(`vidrelay: ${signal} again, exiting now`);
        process.exit(1);
      }
      stopping = true;
      console.log(`vidrelay: ${signal} received, finishing in-flight work (up to 10 s)…`);
      server.close(10_000).then(resolve, (error) => {
        console.error(error);
        resolve();
      });
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
  return EXIT.ok;
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
  const database = openDatabase(config.databaseUrl, { poolSize: 2 });
  try {
    await migrateToLatest(database.db, ALL_MIGRATIONS);
    const service = new KeyService(new AccountRepository(database.db));
    switch (sub) {
      case "create": {
        const { account, key } = await service.create({
          accountId: values.account as string | undefined,
          accountName: values["account-name"] as string | undefined,
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
