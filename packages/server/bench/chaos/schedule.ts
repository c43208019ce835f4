/**
 * The soak's options and its fault schedule. Everything random in a run that can be decided up front
 * (when each fault strikes, which process dies, how long a supervisor waits) comes from the seed
 * here, so two runs with one seed inflict the same faults at the same moments; what the gateway
 * then does is the measurement.
 */
import { parseArgs } from "node:util";

export interface ChaosOptions {
  durationS: number;
  seed: number;
  /** Submits per second, spread over both API processes. */
  rate: number;
  /** docs/reliability.md to rewrite the results section of, or undefined. */
  report?: string;
  /** Upper bound on waiting for tasks and webhooks after the load stops. */
  drainS: number;
  logLevel: string;
  /** Keep the children's logs even when every check passes. */
  keepLogs: boolean;
  /** Plant known faults in the results to prove the checks catch them (see injectFakes in chaos.ts). */
  injectFakes: boolean;
  /** The maintenance database; the run's own database is created beside it. */
  postgres: string;
}

const USAGE = `npm run chaos -- [--duration 600] [--seed 1] [--rate 4] [--report docs/reliability.md]
                    [--drain 300] [--log-level info] [--keep-logs] [--inject-fakes]`;

export function parseOptions(argv: string[]): ChaosOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string", default: "600" },
      seed: { type: "string", default: "1" },
      rate: { type: "string", default: "4" },
      report: { type: "string" },
      drain: { type: "string", default: "300" },
      "log-level": { type: "string", default: "info" },
      "keep-logs": { type: "boolean", default: false },
      "inject-fakes": { type: "boolean", default: false },
      postgres: { type: "string", default: "postgres://postgres@127.0.0.1:5432/postgres" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) {
    process.stderr.write(`${USAGE}\n`);
    process.exit(0);
  }
  const num = (name: string, raw: string, min: number) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min)
      throw new Error(`--${name} must be a number ≥ ${min}, got ${raw}\n${USAGE}`);
    return n;
  };
  return {
    // Below 30 s the four outages cannot fit apart from each other inside the load.
    durationS: num("duration", values.duration, 30),
    seed: Math.trunc(num("seed", values.seed, 0)),
    rate: num("rate", values.rate, 0.1),
    report: values.report,
    drainS: num("drain", values.drain, 10),
    logLevel: values["log-level"],
    keepLogs: values["keep-logs"],
    injectFakes: values["inject-fakes"],
    postgres: values.postgres,
  };
}

/** mulberry32: small, fast and identical on every platform, which is all reproducibility needs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const PROCESS_NAMES = ["api-1", "api-2", "worker-1", "worker-2"] as const;
export type ProcessName = (typeof PROCESS_NAMES)[number];

export type ChaosEvent =
  | { at: number; kind: "kill"; target: ProcessName; restartAfterMs: number }
  | { at: number; kind: "pg-drop" }
  | { at: number; kind: "pg-restart"; downMs: number }
  | { at: number; kind: "s3-outage"; ms: number }
  | { at: number; kind: "upstream-outage"; ms: number };

export const S3_OUTAGE_MS = 20_000;
export const UPSTREAM_OUTAGE_MS = 10_000;
export const PG_RESTART_DOWN_MS = 3_000;

/**
 * The run's faults, in ms from the start of the load. Process kills come every 7–13 s; the four
 * infrastructure faults sit at fixed fractions of the run (±3 %), apart enough that with the default
 * 600 s each one's effect can be told from the others', and all ending before the load stops.
 */
export function buildSchedule(seed: number, durationMs: number): ChaosEvent[] {
  const rng = seededRandom(seed);
  const events: ChaosEvent[] = [];
  const around = (fraction: number) => Math.round(durationMs * (fraction + (rng() - 0.5) * 0.06));
  events.push({ at: around(0.25), kind: "pg-drop" });
  events.push({ at: around(0.4), kind: "s3-outage", ms: S3_OUTAGE_MS });
  events.push({ at: around(0.55), kind: "upstream-outage", ms: UPSTREAM_OUTAGE_MS });
  events.push({ at: around(0.8), kind: "pg-restart", downMs: PG_RESTART_DOWN_MS });
  for (let t = 10_000 * (0.7 + 0.6 * rng()); t < durationMs - 3_000; t += 10_000 * (0.7 + 0.6 * rng())) {
    const target = PROCESS_NAMES[Math.floor(rng() * PROCESS_NAMES.length)]!;
    events.push({ at: Math.round(t), kind: "kill", target, restartAfterMs: Math.round(800 + 400 * rng()) });
  }
  return events.sort((a, b) => a.at - b.at);
}

export function describeEvent(event: ChaosEvent): string {
  switch (event.kind) {
    case "kill":
      return `SIGKILL ${event.target}, restart after ${(event.restartAfterMs / 1000).toFixed(1)} s`;
    case "pg-drop":
      return "drop every Postgres connection";
    case "pg-restart":
      return `Postgres "restart": drop every connection, refuse new ones for ${event.downMs / 1000} s`;
    case "s3-outage":
      return `S3 answers 503 to everything for ${event.ms / 1000} s`;
    case "upstream-outage":
      return `Ark answers 500 InternalServiceError to every API call for ${event.ms / 1000} s`;
  }
}
