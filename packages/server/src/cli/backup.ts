import { closeSync, existsSync, fsyncSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { type Config, loadConfig } from "../config.ts";
import { parseStorageUrl } from "../storage/storage-url.ts";
import { openSqlite, type SqliteConnection } from "../store/sqlite-driver.ts";
import { EXIT, type Io, parse, stdio, UsageError } from "./common.ts";

export const BACKUP_HELP = `vidrelay backup — a consistent copy of the SQLite store, taken while the server keeps serving

  vidrelay backup FILE [--data-dir DIR] [--database-url URL] [--force]

Writes a snapshot of the store (SQLite's VACUUM INTO: a read transaction, so the server goes on
writing) to FILE.partial, checks it (pragma integrity_check) and only then renames it to FILE.
Uses the same VIDRELAY_DATA_DIR / VIDRELAY_DATABASE_URL as 'vidrelay serve'.

  --force     replace FILE when it exists

Not in the copy: the blobs (uploads and videos: <data dir>/blobs, or the bucket of
VIDRELAY_STORAGE_URL) and the secret that seals channel keys (VIDRELAY_SECRET, or
<data dir>/secret.key). Copy the blobs after the store; keep the secret with the backup.
To restore: stop the server, put FILE back as <data dir>/vidrelay.db, start it.

A Postgres store is backed up with pg_dump instead (docs/deployment.md, "Backups and restore").

Exit codes: 0 ok, 1 the copy failed (FILE is left as it was), 2 usage error.

Example:
  vidrelay backup /backups/vidrelay-$(date +%F).db --data-dir /var/lib/vidrelay
`;

export async function backup(args: string[], io: Io = stdio): Promise<number> {
  const { values, positionals } = parse(args, {
    force: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    "data-dir": { type: "string" },
    "database-url": { type: "string" },
  });
  if (values.help) {
    io.out(BACKUP_HELP);
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0
        ? "backup needs the FILE to write: vidrelay backup FILE (see 'vidrelay backup --help')"
        : `backup takes one FILE (got ${positionals.join(" ")})`,
    );
  }
  const target = resolve(positionals[0]!);
  const config = loadConfig({ dataDir: values["data-dir"], databaseUrl: values["database-url"] });

  if (!config.databaseUrl.startsWith("sqlite:")) {
    io.err(
      "vidrelay: backup copies a SQLite store, and this store is Postgres. Back it up with pg_dump, which takes" +
        ` a consistent snapshot while the gateway runs: pg_dump --format=custom --file=${shellWord(positionals[0]!)}` +
        ' "$VIDRELAY_DATABASE_URL" (the whole database: the pg-boss job schema is in it too), and restore it' +
        ' with pg_restore into an empty database; see docs/deployment.md, "Backups and restore".',
    );
    return EXIT.usage;
  }
  const source = resolve(config.databaseUrl.replace(/^sqlite:(\/\/)?/, ""));
  if (!existsSync(source)) {
    throw new UsageError(
      `no store at ${source} (point --data-dir or VIDRELAY_DATA_DIR at the server's data dir, or --database-url at its store)`,
    );
  }
  if (target === source) throw new UsageError(`FILE is the store itself (${source}); name another file`);
  if (existsSync(target) && !values.force) {
    throw new UsageError(`${target} exists; pass --force to replace it`);
  }
  if (!existsSync(dirname(target))) throw new UsageError(`the folder ${dirname(target)} does not exist`);

  // Written under another name until it is whole and checked: a backup cut short by a crash, a full
  // disk or a failed check is never found at FILE.
  const partial = `${target}.partial`;
  const started = Date.now();
  try {
    rmSync(partial, { force: true }); // a leftover of an earlier attempt; VACUUM INTO wants no file there
    const journal = snapshot(source, partial);
    const problems = integrityProblems(partial);
    if (problems.length > 0) {
      rmSync(partial, { force: true });
      io.err(`vidrelay: backup failed: the copy did not pass integrity_check: ${problems.join("; ")}`);
      return EXIT.failed;
    }
    // SQLite does not fsync what VACUUM INTO writes; a backup must be on disk before it has its name.
    syncPath(partial);
    renameSync(partial, target);
    syncPath(dirname(target));
    const bytes = statSync(target).size;
    io.out(`backed up ${source}`);
    io.out(`       to ${target}  (${formatBytes(bytes)}, ${Date.now() - started} ms, integrity_check ok)`);
    if (journal !== "wal") {
      io.out(`note: the store is in ${journal} journal mode, so writers waited while it was copied`);
    }
    for (const line of notIncluded(config)) io.out(line);
    return EXIT.ok;
  } catch (error) {
    rmSync(partial, { force: true });
    io.err(`vidrelay: backup failed: ${oneLine(error instanceof Error ? error.message : String(error))}`);
    return EXIT.failed;
  }
}

/**
 * Copy the store into `into` with VACUUM INTO: one read transaction on the source, so (in WAL mode,
 * which the server sets) the server keeps reading and writing meanwhile and the copy is the store
 * as of the moment the copy began. The connection only reads, and runs no migration: the backup of
 * a store an older server still serves leaves it as it was. Returns the store's journal mode.
 */
function snapshot(store: string, into: string): string {
  const sqlite = openSqlite(store);
  try {
    // Opening a read transaction can meet a checkpoint in progress: wait rather than fail.
    sqlite.exec("pragma busy_timeout = 5000");
    const journal = String(firstValue(sqlite, "pragma journal_mode"));
    sqlite.exec(`vacuum into '${into.replaceAll("'", "''")}'`);
    return journal;
  } finally {
    sqlite.close();
  }
}

function integrityProblems(file: string): string[] {
  const sqlite = openSqlite(file);
  try {
    const rows = sqlite.prepare("pragma integrity_check").all([]) as Record<string, unknown>[];
    const messages = rows.map((row) => String(Object.values(row)[0]));
    return messages.length === 1 && messages[0] === "ok" ? [] : messages.slice(0, 5);
  } finally {
    sqlite.close();
  }
}

function firstValue(sqlite: SqliteConnection, statement: string): unknown {
  const rows = sqlite.prepare(statement).all([]) as Record<string, unknown>[];
  return rows[0] ? Object.values(rows[0])[0] : undefined;
}

function syncPath(path: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    fsyncSync(fd);
  } catch (error) {
    // Some platforms cannot fsync a directory; the file itself must be synced.
    if (statSync(path).isFile()) throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** What the file does not hold, and how to keep it. */
function notIncluded(config: Config): string[] {
  const secret = config.secret
    ? "VIDRELAY_SECRET (keep it: sealed channel keys and webhook secrets open only with it)"
    : `${join(config.dataDir, "secret.key")} (keep it with the backup: sealed channel keys and webhook secrets open only with it)`;
  const location = config.storageUrl ? parseStorageUrl(config.storageUrl) : undefined;
  if (location?.kind === "s3") {
    const where = `s3://${location.bucket}/${location.prefix}`;
    return [
      `not included: the blobs (uploads and videos) in ${where} (VIDRELAY_STORAGE_URL); keep the bucket`,
      `  versioned or replicated, or copy them after the store: aws s3 sync ${where} DEST`,
      `not included: ${secret}`,
    ];
  }
  const blobs = location?.root ?? join(config.dataDir, "blobs");
  return [
    `not included: the blobs (uploads and videos) in ${blobs}; copy them after the store, e.g.`,
    `  rsync -a ${shellWord(`${blobs}/`)} DEST/blobs/`,
    `not included: ${secret}`,
  ];
}

function formatBytes(bytes: number): string {
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** A path as one shell word (quoted only when it needs to be). */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}
