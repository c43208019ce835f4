/**
 * A webhook receiver in its own process (as a customer's receiver would be), so the bench measures
 * the gateway's sending and not the receiver sharing its event loop. Answers every POST 200 after
 * `delayMs`; `GET /stats` returns what it saw.
 *
 *   BENCH_CHILD_CONFIG='{"delayMs":1}' node --import tsx bench/receiver-child.ts
 *
 * Prints `{"url":…,"pid":…}` once it listens; stops on SIGTERM or when the parent's IPC channel closes.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface ReceiverStats {
  received: number;
  /** Date.now() of the first and last POST received (whole body read). */
  first: number | null;
  last: number | null;
  maxInFlight: number;
  /** TCP connections the gateway opened: few means its keep-alive pool reuses them. */
  connections: number;
}

const { delayMs = 1 } = JSON.parse(process.env.BENCH_CHILD_CONFIG ?? "{}") as { delayMs?: number };
const stats: ReceiverStats = { received: 0, first: null, last: null, maxInFlight: 0, connections: 0 };
let inFlight = 0;

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(stats));
    return;
  }
  inFlight++;
  stats.maxInFlight = Math.max(stats.maxInFlight, inFlight);
  res.on("close", () => {
    inFlight--;
  });
  req.resume();
  req.on("end", () => {
    const now = Date.now();
    stats.received++;
    stats.first ??= now;
    stats.last = now;
    setTimeout(() => res.end("ok"), delayMs);
  });
});
server.on("connection", () => {
  stats.connections++;
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  console.log(JSON.stringify({ url: `http://127.0.0.1:${port}/hooks/video`, pid: process.pid }));
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("disconnect", stop);
