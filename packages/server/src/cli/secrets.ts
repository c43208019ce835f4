import { existsSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../config.ts";
import { ALL_MIGRATIONS } from "../migrations.ts";
import { migrateToLatest, openDatabase } from "../store/db.ts";
import { resealAll, type SealedColumnReport, sealedStatus } from "../store/sealed-columns.ts";
import { SecretBox, SecretKeyError } from "../util/secret-box.ts";
import { EXIT, type Io, parse, stdio, UsageError } from "./common.ts";
import { storeLine } from "./store-notice.ts";

export const SECRETS_HELP = `vidrelay secrets — the key ring that seals channel keys and webhook signing secrets at rest

  vidrelay secrets status [--json]    how each stored secret is sealed (current key, a previous one, …)
  vidrelay secrets rotate [--json]    re-seal every stored secret with the current VIDRELAY_SECRET

The current secret is VIDRELAY_SECRET (without it, the generated <data dir>/secret.key); earlier
secrets listed in VIDRELAY_SECRET_PREVIOUS (comma-separated) only open. Once VIDRELAY_SECRET is set,
a leftover <data dir>/secret.key opens too. Works on the store directly, while the server runs;
rotate is safe to run again. Prints counts and key ids (fingerprints), never a secret.

Options: --data-dir, --database-url, --secret, --secret-previous (as for 'vidrelay serve').

To replace VIDRELAY_SECRET (docs/deployment.md, "Rotating VIDRELAY_SECRET"):
  1. give every process VIDRELAY_SECRET=<new> and VIDRELAY_SECRET_PREVIOUS=<old>; restart them
  2. vidrelay secrets rotate
  3. vidrelay secrets status (all current), then remove VIDRELAY_SECRET_PREVIOUS and restart

Exit codes: 0 ok (status: everything sealed with the current key), 1 a value needs rotate,
cannot be opened or changed during rotate (run it again), 2 usage error.
`;

export async function secrets(args: string[], io: Io = stdio): Promise<number> {
  const [sub, ...rest] = args;
  const { values, positionals } = parse(rest, {
    json: { type: "boolean" },
    help: { type: "boolean", short: "h" },
    "data-dir": { type: "string" },
    "database-url": { type: "string" },
    secret: { type: "string" },
    "secret-previous": { type: "string" },
  });
  if (values.help || !sub || sub === "--help" || sub === "-h") {
    io.out(SECRETS_HELP);
    return sub ? EXIT.ok : EXIT.usage;
  }
  if (sub !== "status" && sub !== "rotate")
    throw new UsageError(`unknown secrets command "${sub}"\n\n${SECRETS_HELP}`);
  if (positionals.length)
    throw new UsageError(`secrets ${sub} takes no arguments (got ${positionals.join(" ")})`);
  const config = loadConfig({
    dataDir: values["data-dir"],
    databaseUrl: values["database-url"],
    secret: values.secret,
    secretPrevious: values["secret-previous"],
  });
  const keyFile = join(config.dataDir, "secret.key");
  if (!config.secret && !existsSync(keyFile)) {
    throw new UsageError(
      `no secret to work with: VIDRELAY_SECRET is not set and ${keyFile} does not exist (set VIDRELAY_SECRET, or VIDRELAY_DATA_DIR to the server's data dir)`,
    );
  }
  const box = SecretBox.fromConfig(config);
  // Which store, first (on stderr with --json, which stays one JSON document on stdout).
  if (values.json) io.err(storeLine(config));
  else io.out(storeLine(config));
  const database = openDatabase(config.databaseUrl, { poolSize: 2 });
  try {
    await migrateToLatest(database.db, ALL_MIGRATIONS);
    const reports =
      sub === "rotate"
        ? await resealAll(database.db, box, { dialect: database.dialect })
        : await sealedStatus(database.db, box);
    const total = (field: keyof Omit<SealedColumnReport, "column">) =>
      reports.reduce((sum, r) => sum + r[field], 0);
    const pending = total("previous") + total("legacy") + total("clear");
    const ok = sub === "rotate" ? total("skipped") === 0 : pending === 0;
    if (values.json) {
      io.out(
        JSON.stringify(
          {
            ok,
            key_id: box.keyId,
            key_source: box.source,
            previous_keys: box.previousKeys,
            columns: reports,
          },
          null,
          2,
        ),
      );
      return ok ? EXIT.ok : EXIT.failed;
    }
    io.out(`current key ${box.keyId} (${box.source})`);
    for (const key of box.previousKeys) io.out(`open-only key ${key.id} (${key.source})`);
    for (const r of reports) {
      const parts = [
        `${r.current} current key`,
        `${r.previous} previous key`,
        `${r.legacy} v1 format`,
        `${r.clear} in clear`,
      ];
      if (sub === "rotate")
        parts.push(`${r.resealed} re-sealed`, ...(r.skipped ? [`${r.skipped} changed meanwhile`] : []));
      io.out(`  ${r.column.padEnd(32)} ${String(r.stored).padStart(5)} stored: ${parts.join(", ")}`);
    }
    if (sub === "rotate") {
      io.out(
        `re-sealed ${total("resealed")} of ${total("stored")} stored secrets with key ${box.keyId}` +
          ` (${total("current")} already were)`,
      );
      if (total("skipped")) {
        io.err(
          `vidrelay: ${total("skipped")} value(s) changed while rotating (another process wrote them): run 'vidrelay secrets rotate' again`,
        );
        return EXIT.failed;
      }
      if (box.previousKeys.length) {
        io.out(
          "every stored secret now opens with the current key alone; once every process runs with it" +
            " (restarted after the change), the previous secrets can be removed",
        );
      }
      return EXIT.ok;
    }
    if (pending) {
      io.out(
        `${pending} stored secret(s) are not sealed with the current key: run 'vidrelay secrets rotate'`,
      );
      return EXIT.failed;
    }
    io.out(`all ${total("stored")} stored secrets are sealed with the current key`);
    return EXIT.ok;
  } catch (error) {
    if (error instanceof SecretKeyError) {
      io.err(`vidrelay: ${error.message}`);
      return EXIT.failed;
    }
    throw error;
  } finally {
    await database.close();
  }
}
