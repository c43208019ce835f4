/**
 * The configuration a process runs with: the settings (config-schema.ts) read from the environment
 * and flags, with the data dir, public URL and store resolved; and where things live on disk.
 */
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { z } from "zod";
import { CONFIG_KEYS, ConfigSchema, envName, flagName } from "./config-schema.ts";

export { CONFIG_KEYS, type ConfigInput, ConfigSchema, envName, flagName } from "./config-schema.ts";

export type Config = Omit<z.output<typeof ConfigSchema>, "dataDir"> & {
  /** Absolute (see `resolveDataDir`). */
  dataDir: string;
  publicUrl: string;
  databaseUrl: string;
};

/** Settings whose values are never repeated in an error message. */
const SECRET_SETTINGS: ReadonlySet<string> = new Set([
  "secret",
  "secretPrevious",
  "bootstrapKey",
  "metricsToken",
]);

/**
 * A setting's value as an error message may repeat it: secret settings not at all, and credentials
 * inside a URL masked (a mistyped `VIDRELAY_DATABASE_URL=postgress://app:PASSWORD@db/…` must not put
 * the password in a log).
 */
function shownValue(key: string, value: unknown): string {
  if (SECRET_SETTINGS.has(key)) return "(value hidden)";
  const text = JSON.stringify(value);
  if (typeof value !== "string") return text;
  return text
    .replace(/(\/\/[^/@\s:]*:)[^/@\s]*@/g, "$1***@")
    .replace(
      /([?&](?:password|sslpassword|sslkey|secret|token|access_key|secret_access_key)=)[^&"]*/gi,
      "$1***",
    );
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

/** Read config from env (VIDRELAY_*) overlaid with explicit values (flags). Throws ConfigError listing every bad value. */
export function loadConfig(
  overrides: Partial<Record<string, unknown>> = {},
  env: NodeJS.ProcessEnv = process.env,
): Config {
  const raw: Record<string, unknown> = {};
  for (const key of CONFIG_KEYS) {
    const fromEnv = env[envName(key)];
    if (fromEnv !== undefined && fromEnv !== "") raw[key] = fromEnv;
    if (overrides[key] !== undefined) raw[key] = overrides[key];
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const key = String(issue.path[0] ?? "");
        return `${envName(key)} (${flagName(key)}) = ${shownValue(key, raw[key])}: ${issue.message}`;
      }),
    );
  }
  const value = parsed.data;
  const dataDir = resolveDataDir(value.dataDir, env);
  const displayHost = value.host.includes(":") ? `[${value.host}]` : value.host;
  return {
    ...value,
    dataDir,
    publicUrl: (value.publicUrl ?? `http://${displayHost}:${value.port}`).replace(/\/+$/, ""),
    databaseUrl: absoluteSqliteUrl(value.databaseUrl, env) ?? `sqlite:${resolve(dataDir, "vidrelay.db")}`,
  };
}

/**
 * The folder a command was typed in, which relative paths in settings are relative to. npm runs
 * a script in its package's folder (`npm start` runs `vidrelay serve` in packages/server) and says
 * where it was started in INIT_CWD; it sets INIT_CWD afresh on every run, so a value seen here is
 * this run's.
 */
export function typedInDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.INIT_CWD || process.cwd();
}

/**
 * The data directory every server-side command (serve, worker, keys, secrets, backup) uses, so
 * they all open the same store whichever folder they are started from:
 * - VIDRELAY_DATA_DIR / --data-dir as given; a relative one is relative to the folder the
 *   command was typed in (`typedInDir`), as a shell user expects;
 * - unset, `defaultDataDir()`: never the working directory, which differs between `npm start`
 *   (packages/server) and `npx vidrelay keys create` (wherever it was typed) — the two used to
 *   open two different stores, and the key made in one was refused by the server using the other.
 */
export function resolveDataDir(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return given ? resolve(typedInDir(env), given) : defaultDataDir(env);
}

/**
 * Where the data lives when nothing says otherwise: `<repository root>/data` when running from a
 * checkout of this repository (what the README's quick start does), else the user's data folder
 * (`$XDG_DATA_HOME/vidrelay`, or `~/.local/share/vidrelay`), as for an installed package whose
 * own folder may be read-only or replaced on upgrade.
 */
export function defaultDataDir(
  env: NodeJS.ProcessEnv = process.env,
  packageDir: string = SERVER_PACKAGE_DIR,
): string {
  const checkout = checkoutRoot(packageDir);
  if (checkout) return join(checkout, "data");
  // The XDG spec says a relative XDG_DATA_HOME is invalid and to be ignored.
  const xdg = env.XDG_DATA_HOME;
  return join(xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".local", "share"), "vidrelay");
}

/** This package's folder (packages/server in a checkout, node_modules/@vidrelay/server when installed). */
const SERVER_PACKAGE_DIR = fileURLToPath(new URL("..", import.meta.url));

/**
 * The root of the repository checkout this server package is part of: the nearest folder above
 * it whose package.json is this monorepo's and lists the package among its workspaces (a package
 * installed under some other project's node_modules is not a checkout). Undefined when installed.
 */
export function checkoutRoot(packageDir: string = SERVER_PACKAGE_DIR): string | undefined {
  for (let dir = dirname(resolve(packageDir)); ; dir = dirname(dir)) {
    const manifest = join(dir, "package.json");
    if (existsSync(manifest)) {
      try {
        const json = JSON.parse(readFileSync(manifest, "utf8")) as { name?: unknown; workspaces?: unknown };
        const member = relative(dir, resolve(packageDir)).split("\\").join("/");
        if (
          json.name === "vidrelay-monorepo" &&
          Array.isArray(json.workspaces) &&
          json.workspaces.includes(member)
        )
          return dir;
      } catch {
        // An unreadable or broken package.json above us is not our checkout; keep looking.
      }
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/** A relative `sqlite:` store path, like a relative data dir, is relative to where the command was typed. */
function absoluteSqliteUrl(url: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const path = url?.startsWith("sqlite:") ? url.replace(/^sqlite:(\/\/)?/, "") : undefined;
  if (path === undefined || path === ":memory:" || isAbsolute(path)) return url;
  return `sqlite:${resolve(typedInDir(env), path)}`;
}

/**
 * The store, as the CLI names it ("store: …") so an operator sees which one a command opened:
 * a SQLite file's absolute path, or a Postgres URL without its credentials.
 */
export function storeLabel(databaseUrl: string): string {
  if (databaseUrl.startsWith("sqlite:")) return databaseUrl;
  try {
    const url = new URL(databaseUrl);
    return `${url.protocol}//${url.host}${url.pathname}`;
  } catch {
    return "postgres";
  }
}
