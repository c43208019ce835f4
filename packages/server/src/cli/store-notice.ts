import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { type Config, checkoutRoot, defaultDataDir, storeLabel } from "../config.ts";

/**
 * What the server-side commands say about the store they open. A command that silently opened
 * another store than the server's (another folder's `./data`) once made keys the server refused;
 * naming the store on every command makes such a mix-up visible at once.
 */

/** The SQLite file of a `sqlite:` store, undefined for Postgres. */
function sqliteFile(config: Config): string | undefined {
  return config.databaseUrl.startsWith("sqlite:")
    ? resolve(config.databaseUrl.replace(/^sqlite:(\/\/)?/, ""))
    : undefined;
}

/**
 * `store: sqlite:/…/data/vidrelay.db` — with "(new: …)" when the file is not there yet, i.e. the
 * command is about to create an empty store (worth a second look for `keys create`). Call it
 * before opening the store.
 */
export function storeLine(config: Config): string {
  const file = sqliteFile(config);
  const isNew = file !== undefined && file !== resolve(":memory:") && !existsSync(file);
  return `store: ${storeLabel(config.databaseUrl)}${isNew ? " (new: no store was there yet)" : ""}`;
}

/**
 * The flags a command on the server's host needs to reach the store `config` names: none with
 * the defaults, `--data-dir DIR` for another data dir; an explicit VIDRELAY_DATABASE_URL is not
 * repeated (it may hold a password), only named.
 */
function storeFlags(config: Config): string {
  const derived = config.databaseUrl === `sqlite:${resolve(config.dataDir, "vidrelay.db")}`;
  if (!derived) return " (with the server's VIDRELAY_DATABASE_URL)";
  return config.dataDir === defaultDataDir() ? "" : ` --data-dir ${shellWord(config.dataDir)}`;
}

/** The way back in when the admin key is lost, for this store. */
export function adminKeyCommand(config: Config): string {
  return `vidrelay keys create --admin${storeFlags(config)}`;
}

/**
 * Before the data dir was fixed, `npm start` kept it in packages/server/data. A store left there
 * is pointed out (not moved: the operator decides) when the default data dir is in use.
 */
export function earlierStoreNote(config: Config): string | undefined {
  const root = checkoutRoot();
  if (!root || config.dataDir !== defaultDataDir()) return undefined;
  const earlier = join(root, "packages", "server", "data");
  if (!existsSync(join(earlier, "vidrelay.db"))) return undefined;
  return (
    `note: ${earlier} holds a store from an earlier version (npm start kept it there); ` +
    `to use it, stop the server and move it to ${config.dataDir}, or set VIDRELAY_DATA_DIR=${shellWord(earlier)}`
  );
}

function shellWord(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}
