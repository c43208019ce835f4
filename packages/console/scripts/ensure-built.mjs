#!/usr/bin/env node
/**
 * Build the console when its build is missing or older than its sources, so `npm start` on a fresh
 * clone serves /console with no extra step (and a source change shows up on the next start).
 * `--force` always builds.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const built = join(root, "dist", "index.html");

function newest(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let latest = stat.mtimeMs;
  for (const entry of readdirSync(path)) latest = Math.max(latest, newest(join(path, entry)));
  return latest;
}

const inputs = ["src", "index.html", "vite.config.ts", "package.json"].map((p) => join(root, p));
const sdk = join(root, "..", "sdk", "src");
if (existsSync(sdk)) inputs.push(sdk);
// With the console turned off (VIDRELAY_CONSOLE=false) there is nothing to build for `npm start`.
const off = ["0", "false", "no", "off"].includes((process.env.VIDRELAY_CONSOLE ?? "").trim().toLowerCase());
const stale =
  process.argv.includes("--force") ||
  (!off &&
    (!existsSync(built) || statSync(built).mtimeMs < Math.max(...inputs.filter(existsSync).map(newest))));
if (stale) {
  console.error("vidrelay: building the web console (packages/console) …");
  const vite = join(root, "node_modules", ".bin", "vite");
  const bin = existsSync(vite) ? vite : join(root, "..", "..", "node_modules", ".bin", "vite");
  const result = spawnSync(bin, ["build", "--logLevel", "warn"], { cwd: root, stdio: "inherit" });
  if (result.status !== 0) {
    console.error("vidrelay: the console build failed; the API still starts, /console will say so");
    process.exitCode = 0;
  }
}
