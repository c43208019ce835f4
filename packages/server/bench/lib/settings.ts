/**
 * The bench run's settings: what the environment asks for (see bench/run.ts) and the fixed sizes of
 * every case, in one place so the cases and the report that describes them cannot disagree.
 */
import { join, resolve } from "node:path";
import { SERVER_DIR } from "./children.ts";
import type { LoadPlan } from "./load.ts";

export const QUICK = process.env.BENCH_QUICK === "1";
export const PROFILE = process.env.BENCH_PROFILE ? process.env.BENCH_PROFILE !== "0" : !QUICK;
export const PLAN: LoadPlan = QUICK
  ? { seconds: 3, rounds: 1, warmupSeconds: 1 }
  : { seconds: 4, rounds: 3, warmupSeconds: 2 };
export const PROFILE_SECONDS = 4;
export const CONNECTIONS = 10;
export const JPEG_RUNS = QUICK ? 5 : 20;
export const MP4_RUNS = 3;
export const RSS_TARGET = 64 * 2 ** 20;
export const KEY = `sk-bench${"B".repeat(40)}`;
export const AUTH = { authorization: `Bearer ${KEY}` };
export const SUBMIT_BODY = JSON.stringify({
  model: "seedance-1-5-pro-no-audio",
  prompt: "bench",
  seconds: "5",
  metadata: { ratio: "16:9", resolution: "720p" },
});
export const REPO_DIR = resolve(SERVER_DIR, "../..");
export const OUTPUT = join(REPO_DIR, "docs", "benchmarks.md");

const t0 = Date.now();
export function log(line: string): void {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(4);
  console.log(`[${s} s] ${line}`);
}

/** Issue 13's targets for the API cases: the gateway's req/s as a share of bare node:http's. */
export const GET_TARGET = 0.35;
export const POST_TARGET = 0.15;
