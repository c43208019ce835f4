#!/usr/bin/env node
/**
 * Build the published form of the SDK: plain ESM + .d.ts in dist/ (`tsc -p tsconfig.build.json`).
 * It is compiled into a scratch folder and then swapped in, so a process importing the package
 * while it builds (npm pack runs this; so does `npm ci`, via `prepare`) never sees a half-written
 * or missing dist/, and files of deleted sources do not linger.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const scratch = join(root, ".tmp", `build-${process.pid}`);
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(scratch, { recursive: true, force: true });
mkdirSync(scratch, { recursive: true });
const result = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json", "--outDir", scratch], {
  cwd: root,
  stdio: "inherit",
});
if (result.status !== 0) {
  rmSync(scratch, { recursive: true, force: true });
  console.error("@vidrelay/sdk: the build failed");
  process.exit(result.status ?? 1);
}
for (let attempt = 0; ; attempt++) {
  const old = join(root, ".tmp", `old-${process.pid}-${attempt}`);
  try {
    renameSync(dist, old);
  } catch (error) {
    if (error.code !== "ENOENT") throw error;
  }
  try {
    renameSync(scratch, dist);
    rmSync(old, { recursive: true, force: true });
    break;
  } catch (error) {
    // Another build swapped its dist/ in between our two renames: move that one aside too.
    if (!["ENOTEMPTY", "EEXIST"].includes(error.code) || attempt >= 5) throw error;
  }
}
try {
  rmdirSync(join(root, ".tmp")); // only when empty: another build may be using it
} catch {}
