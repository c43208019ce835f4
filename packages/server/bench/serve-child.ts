/**
 * The gateway under test, in its own process so the load generator's CPU does not distort it.
 *
 *   BENCH_CHILD_CONFIG='{"dataDir":"/tmp/x","key":"sk-…"}' node --import tsx bench/serve-child.ts
 *
 * Prints one JSON line `{"url":"http://127.0.0.1:PORT","pid":N}` on stdout once it listens. Stops (closing
 * the store) on SIGTERM/SIGINT, or when the parent that started it with an IPC channel goes away. The
 * data dir belongs to the caller: this process never deletes it.
 *
 * Over IPC, `{"type":"profile-start"}` starts the V8 CPU profiler (the one behind --cpu-prof) and
 * `{"type":"profile-stop","path":…}` stops it and writes the .cpuprofile there, so a profile covers
 * exactly a load window and not start-up; each is answered with `{"type":"<type>:done"}`.
 */
import { writeFile } from "node:fs/promises";
import { Session } from "node:inspector/promises";
import { loadConfig } from "../src/config.ts";
import { startServer } from "../src/server.ts";

export interface GatewayChildConfig {
  dataDir: string;
  /** The bootstrap admin key (`sk-` + ≥ 32 chars); requests use it as their Bearer key. */
  key: string;
  /** Default: SQLite in the data dir. */
  databaseUrl?: string;
}

const config = JSON.parse(process.env.BENCH_CHILD_CONFIG ?? "{}") as GatewayChildConfig;
// An empty env: the caller's VIDRELAY_* variables must not change what is measured.
const server = await startServer(
  loadConfig(
    {
      host: "127.0.0.1",
      port: 0,
      dataDir: config.dataDir,
      databaseUrl: config.databaseUrl,
      bootstrapKey: config.key,
      logLevel: "silent",
      workers: false,
    },
    {},
  ),
);

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  try {
    await server.close(2000);
  } finally {
    // A normal exit, so that --cpu-prof writes its profile.
    process.exit(0);
  }
}
process.on("SIGTERM", () => void stop());
process.on("SIGINT", () => void stop());
process.on("disconnect", () => void stop());

let session: Session | undefined;
process.on("message", (message: { type: string; path?: string }) => {
  const reply = (error?: unknown) =>
    process.send?.({ type: `${message.type}:done`, error: error === undefined ? undefined : String(error) });
  (async () => {
    if (message.type === "profile-start") {
      session = new Session();
      session.connect();
      await session.post("Profiler.enable");
      await session.post("Profiler.setSamplingInterval", { interval: 200 });
      await session.post("Profiler.start");
    } else if (message.type === "profile-stop" && session && message.path) {
      const { profile } = await session.post("Profiler.stop");
      await writeFile(message.path, JSON.stringify(profile));
      session.disconnect();
      session = undefined;
    }
  })().then(() => reply(), reply);
});

process.stdout.write(`${JSON.stringify({ url: server.url, pid: process.pid })}\n`);
