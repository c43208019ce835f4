import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { test } from "node:test";
import { SEALED_COLUMNS } from "../../src/store/sealed-columns.ts";
import { SERVER_ROOT } from "../helpers/paths.ts";

/**
 * `vidrelay secrets rotate` re-seals the columns SEALED_COLUMNS lists, nothing else: a value sealed
 * anywhere else would be stranded when VIDRELAY_SECRET changes. This fails until a new sealing
 * site is looked at (and its column listed).
 */
const SRC = join(SERVER_ROOT, "src");
const KNOWN_SEALERS: Record<string, string[]> = {
  "channels/service.ts": ["channels.api_key_sealed"],
  "webhooks/repository.ts": [
    "webhook_secrets.secret",
    "webhook_secrets.previous_secret",
    "webhook_test_secrets.secret",
    "webhook_test_secrets.previous_secret",
  ],
};

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

test("every file that seals a value has its columns in SEALED_COLUMNS", () => {
  const listed = SEALED_COLUMNS.flatMap(({ table, columns }) => columns.map((c) => `${table}.${c}`));
  const sealers = files(SRC)
    .map((f) => relative(SRC, f))
    .filter((f) => !["util/secret-box.ts", "store/sealed-columns.ts"].includes(f))
    .filter((f) => /\.seal\(/.test(readFileSync(join(SRC, f), "utf8")));
  assert.deepEqual(
    sealers.sort(),
    Object.keys(KNOWN_SEALERS).sort(),
    "a file seals values: list its columns in src/store/sealed-columns.ts and here",
  );
  assert.deepEqual(listed.sort(), Object.values(KNOWN_SEALERS).flat().sort());
  const schema = readFileSync(join(SRC, "store/schema.ts"), "utf8");
  for (const column of schema.matchAll(/^\s+(\w+_sealed)\b/gm)) {
    assert.ok(
      listed.some((c) => c.endsWith(`.${column[1]}`)),
      `${column[1]} is missing from SEALED_COLUMNS`,
    );
  }
});
