/**
 * Settings from a `.env` file in the working directory, read once at start (as most deployment
 * tools write them). Variables already in the environment win, so `VIDRELAY_PORT=9000 vidrelay
 * serve` still overrides the file; `VIDRELAY_ENV_FILE` names another file, and a missing default
 * `.env` is not an error (a named one is).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseEnv } from "node:util";

export interface EnvFileResult {
  path: string;
  /** Names set from the file (values are never reported: they may be secrets). */
  applied: string[];
}

export function loadEnvFile(
  env: NodeJS.ProcessEnv = process.env,
  cwd: string = process.cwd(),
): EnvFileResult | undefined {
  const named = env.VIDRELAY_ENV_FILE;
  const path = resolve(cwd, named || ".env");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (!named && (error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new Error(`cannot read the settings file ${path} (VIDRELAY_ENV_FILE): ${(error as Error).message}`);
  }
  const applied: string[] = [];
  for (const [name, value] of Object.entries(parseEnv(text))) {
    if (value === undefined || env[name] !== undefined) continue;
    env[name] = value;
    applied.push(name);
  }
  return { path, applied };
}
