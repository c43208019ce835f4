import { VERSION_STRING } from "../version.ts";
import { DEFAULT_BASE_URL, EXIT, explain, type Io, stdio, UsageError } from "./common.ts";

export { EXIT } from "./common.ts";

const HELP = `vidrelay ${VERSION_STRING} — a self-hostable RelayDance v1 video-generation gateway

Usage:
  vidrelay serve [options]            serve the API (defaults: 127.0.0.1:8080, data in <repository>/data)
  vidrelay worker [options]           run background jobs only (for a cluster: see docs/deployment.md)
  vidrelay keys create [options]      create an API key (printed once; --admin: lost the admin key)
  vidrelay keys list [--account ID]   list keys (never the secrets)
  vidrelay keys revoke KEY_ID         revoke a key at once
  vidrelay secrets status|rotate      re-seal stored secrets after changing VIDRELAY_SECRET
  vidrelay backup FILE                copy the SQLite store while the server runs (Postgres: pg_dump)

  vidrelay generate -i IMG -p PROMPT  upload, submit, show progress, download the mp4
  vidrelay tasks list|get|cancel|wait video tasks
  vidrelay files upload|list|rm       reference media
  vidrelay models                     the models your key may use
  vidrelay doctor                     check the server, the key and ffmpeg
  vidrelay webhooks secret|deliveries|replay   signing secret (--rotate) and deliveries
  vidrelay channels add|list|update|disable|test   upstream channels (admin key)
  vidrelay usage | balance            what was charged, and what is left
  vidrelay accounts list|topup|billing-mode   accounts, top-ups, billing modes (admin key)
  vidrelay --version

Client commands (generate, tasks, files, models, doctor, webhooks, channels) talk to a running gateway:
  VIDRELAY_BASE_URL (or --base-url, default ${DEFAULT_BASE_URL}) and VIDRELAY_API_KEY (or --api-key).
Settings are read from the environment, then from a .env file in the working directory
(or the file VIDRELAY_ENV_FILE names); the environment wins.
Exit codes: 0 ok, 1 task failed, 2 usage error, 3 auth error, 4 network/server error.

Run 'vidrelay <command> --help' for a command's options.

Example:
  vidrelay generate -i photo.jpg -p "@image1 slow push-in" --seconds 5 --ratio 9:16 -o clip.mp4
`;

type Command = (args: string[], io: Io) => Promise<number>;

/** Client commands, loaded on demand so `serve` never pays for them (and vice versa). */
const CLIENT_COMMANDS: Record<string, () => Promise<Command>> = {
  generate: async () => (await import("./generate.ts")).generate,
  tasks: async () => (await import("./tasks.ts")).tasks,
  files: async () => (await import("./files.ts")).files,
  models: async () => (await import("./models.ts")).models,
  doctor: async () => (await import("./doctor.ts")).doctor,
  channels: async () => (await import("./channels.ts")).channels,
  webhooks: async () => (await import("./webhooks.ts")).webhooks,
  usage: async () => (await import("./billing.ts")).usage,
  balance: async () => (await import("./billing.ts")).balance,
  accounts: async () => (await import("./billing.ts")).accounts,
};

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== undefined && Object.hasOwn(CLIENT_COMMANDS, command)) {
    return runClientCommand(await CLIENT_COMMANDS[command]!(), rest, io);
  }
  try {
    switch (command) {
      case "serve":
        return await (await import("./server-commands.ts")).serve(rest, io);
      case "worker":
        return await (await import("./server-commands.ts")).worker(rest, io);
      case "keys":
        return await (await import("./server-commands.ts")).keys(rest, io);
      case "secrets":
        return await (await import("./secrets.ts")).secrets(rest, io);
      case "backup":
        return await (await import("./backup.ts")).backup(rest, io);
      case "--version":
      case "-v":
        io.out(VERSION_STRING);
        return EXIT.ok;
      case undefined:
      case "help":
      case "--help":
      case "-h":
        io.out(HELP);
        return command === undefined ? EXIT.usage : EXIT.ok;
      default:
        io.err(`vidrelay: unknown command "${command}"\n\n${HELP}`);
        return EXIT.usage;
    }
  } catch (error) {
    const { ConfigError } = await import("../config.ts");
    const { ApiError } = await import("../domain/errors.ts");
    if (error instanceof ConfigError || error instanceof UsageError) {
      io.err(`vidrelay: ${error.message}`);
      return EXIT.usage;
    }
    if (error instanceof ApiError) {
      io.err(`vidrelay: ${error.message}`);
      return error.status === 401 ? EXIT.auth : EXIT.failed;
    }
    throw error;
  }
}

async function runClientCommand(command: Command, args: string[], io: Io): Promise<number> {
  try {
    return await command(args, io);
  } catch (error) {
    const { code, message } = explain(error, baseUrlFromArgs(args));
    io.err(`vidrelay: ${message}`);
    return code;
  }
}

/** The base URL a client command used, for error messages (flags are parsed again by the command). */
function baseUrlFromArgs(args: string[]): string {
  let flag: string | undefined;
  args.forEach((arg, i) => {
    if (arg === "--base-url") flag = args[i + 1];
    else if (arg.startsWith("--base-url=")) flag = arg.slice("--base-url=".length);
  });
  return (flag ?? process.env.VIDRELAY_BASE_URL ?? "").trim().replace(/\/+$/, "") || DEFAULT_BASE_URL;
}
