import { type ParseArgsConfig, parseArgs } from "node:util";
import {
  APIConnectionError,
  APITimeoutError,
  AuthenticationError,
  PermissionDeniedError,
  TaskFailedError,
  VidRelay,
  VidRelayError,
} from "@vidrelay/sdk";

export const EXIT = { ok: 0, failed: 1, usage: 2, auth: 3, network: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export const DEFAULT_BASE_URL = "http://127.0.0.1:8080";

/** A mistake in the command line: exit 2 with the message. */
export class UsageError extends Error {}

/** Where a command writes: injectable so commands stay testable and quiet in --json mode. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const stdio: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Options every client command takes. */
export const CLIENT_OPTIONS = {
  "api-key": { type: "string" },
  "base-url": { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const satisfies Options;

export const CLIENT_OPTIONS_HELP = `Connection (every client command):
  --api-key KEY        API key (default: $VIDRELAY_API_KEY)
  --base-url URL       gateway origin (default: $VIDRELAY_BASE_URL, else ${DEFAULT_BASE_URL})
  --json               machine-readable output
  -h, --help           this help`;

/** parseArgs that turns its errors into UsageError (exit 2). */
export function parse<T extends Options>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

type ClientValues<T extends Options> = ReturnType<typeof parse<typeof CLIENT_OPTIONS & T>>["values"];

/** A client command's parsed flags (its own and CLIENT_OPTIONS) and its SDK client, made when asked for. */
export interface ClientCommand<T extends Options> {
  values: ClientValues<T>;
  positionals: string[];
  client(): VidRelay;
}

/**
 * `vidrelay COMMAND [flags]`: the flags (`options` and CLIENT_OPTIONS), or exit 0 after the help
 * when `-h`/`--help` asks for it.
 */
export function clientCommand<T extends Options>(
  args: string[],
  io: Io,
  help: string,
  options: T = {} as T,
): ClientCommand<T> | ExitCode {
  const { values, positionals } = parse(args, { ...CLIENT_OPTIONS, ...options });
  if ((values as { help?: boolean }).help) {
    io.out(help);
    return EXIT.ok;
  }
  return { values, positionals, client: () => clientFrom(values) };
}

/**
 * `vidrelay COMMAND SUB [flags]`: the subcommand and its parsed flags, or the exit code when the
 * command line only asks for help (none at all: the help and exit 2; `-h`/`--help`: exit 0).
 * `helpWords` are the words that, in SUB's place, ask for help.
 */
export function subcommand<T extends Options>(
  args: string[],
  io: Io,
  help: string,
  options: T,
  helpWords: readonly string[] = ["--help", "-h"],
): (ClientCommand<T> & { sub: string }) | ExitCode {
  const [sub, ...rest] = args;
  if (!sub || helpWords.includes(sub)) {
    io.out(help);
    return sub ? EXIT.ok : EXIT.usage;
  }
  const command = clientCommand(rest, io, help, options);
  return typeof command === "number" ? command : { ...command, sub };
}

export interface ConnectionFlags {
  "api-key"?: string;
  "base-url"?: string;
}

export function baseUrlOf(flags: ConnectionFlags): string {
  return (flags["base-url"] ?? process.env.VIDRELAY_BASE_URL ?? "").trim() || DEFAULT_BASE_URL;
}

/** The SDK client for the flags/env; a missing key is a usage error. */
export function clientFrom(flags: ConnectionFlags): VidRelay {
  const apiKey = (flags["api-key"] ?? process.env.VIDRELAY_API_KEY ?? "").trim();
  if (!apiKey) {
    throw new UsageError(
      "no API key: set VIDRELAY_API_KEY or pass --api-key (create one with 'vidrelay keys create')",
    );
  }
  try {
    return new VidRelay({ apiKey, baseURL: baseUrlOf(flags) });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

/** Whole number flag, or a usage error naming the flag. */
export function intFlag(name: string, value: string | undefined, min?: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim()))
    throw new UsageError(`--${name} must be a whole number (got "${value}")`);
  const n = Number(value);
  if (min !== undefined && n < min) throw new UsageError(`--${name} must be at least ${min} (got ${n})`);
  return n;
}

/**
 * Exit code and one-line explanation for an error from a client command:
 * 1 task failed, 2 usage (and requests the server refused as invalid), 3 auth, 4 network/server.
 */
export function explain(error: unknown, baseUrl: string): { code: ExitCode; message: string } {
  if (error instanceof UsageError) return { code: EXIT.usage, message: error.message };
  if (error instanceof TaskFailedError) {
    const { task } = error;
    return {
      code: EXIT.failed,
      message: `task ${task.task_id} failed (${task.error?.code ?? "failed"}): ${task.error?.message ?? "no reason given"}`,
    };
  }
  if (error instanceof APIConnectionError) {
    const reason = /\(([^)]*)\)\s*$/.exec(error.message)?.[1] ?? "network error";
    const hint = error.code === "ECONNREFUSED" ? " — is 'vidrelay serve' running?" : "";
    return { code: EXIT.network, message: `cannot reach ${baseUrl} (${reason})${hint}` };
  }
  if (error instanceof APITimeoutError) return { code: EXIT.network, message: oneLine(error.message) };
  if (error instanceof AuthenticationError) {
    return {
      code: EXIT.auth,
      message: `${baseUrl} refused the API key: ${oneLine(error.message)} (check VIDRELAY_API_KEY or --api-key)`,
    };
  }
  if (error instanceof PermissionDeniedError) return { code: EXIT.auth, message: oneLine(error.message) };
  if (error instanceof VidRelayError) {
    const status = error.status;
    const where = error.param ? ` [${error.param}]` : "";
    const id = error.requestId ? ` (request ${error.requestId})` : "";
    if (status === undefined) return { code: EXIT.failed, message: oneLine(error.message) };
    if (status === 429 || status >= 500) {
      return { code: EXIT.network, message: `server error ${status}: ${oneLine(error.message)}${id}` };
    }
    return { code: EXIT.usage, message: `${oneLine(error.message)}${where}` };
  }
  const code = (error as { code?: unknown })?.code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) {
    return { code: EXIT.failed, message: oneLine(error instanceof Error ? error.message : String(error)) };
  }
  throw error;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

/** Seconds → `m:ss` (or `h:mm:ss`). */
export function clock(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
}

/** A fixed-width text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...rows.map(line)].join("\n");
}

export function isoTime(unixSeconds: number | null | undefined): string {
  if (!unixSeconds) return "-";
  return new Date(unixSeconds * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
}
