/**
 * The baselines: bare `node:http` servers doing the least work that produces the gateway's response,
 * each in its own process (like the gateway) so that both are measured the same way.
 *
 *   BENCH_CHILD_CONFIG='{"mode":"fixed",…}' node --import tsx bench/baseline-child.ts
 *
 * Modes:
 * - `fixed`: answers every request with the given status, headers and body (the bytes captured from the
 *   gateway), without reading anything.
 * - `json`: reads the whole body, `JSON.parse`s it, then answers like `fixed`.
 * - `upload`: streams the request body to a new file in `dir`, answers `{"bytes":N}` once it is on disk,
 *   then deletes the file.
 *
 * Prints `{"url":…,"pid":…}` on stdout once it listens; stops on SIGTERM/SIGINT or when the parent's IPC
 * channel closes.
 */
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";

export type BaselineChildConfig =
  | { mode: "fixed" | "json"; status: number; headers: Array<[string, string]>; bodyBase64: string }
  | { mode: "upload"; dir: string };

const config = JSON.parse(process.env.BENCH_CHILD_CONFIG ?? "{}") as BaselineChildConfig;

function handler(): (req: IncomingMessage, res: ServerResponse) => void {
  if (config.mode === "upload") {
    let n = 0;
    return (req, res) => {
      const path = join(config.dir, `upload-${process.pid}-${n++}`);
      const out = createWriteStream(path, { flags: "wx" });
      pipeline(req, out)
        .then(() => {
          const body = JSON.stringify({ bytes: out.bytesWritten });
          res.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          });
          res.end(body);
        })
        .catch((error: unknown) => {
          res.writeHead(500);
          res.end(String(error));
        })
        .finally(() => void rm(path, { force: true }));
    };
  }
  const body = Buffer.from(config.bodyBase64, "base64");
  const headers = config.headers.flat();
  const { status } = config;
  if (config.mode === "fixed") {
    return (_req, res) => {
      res.writeHead(status, headers);
      res.end(body);
    };
  }
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      try {
        JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        res.writeHead(400);
        res.end();
        return;
      }
      res.writeHead(status, headers);
      res.end(body);
    });
  };
}

const server = createServer(handler());
// Fastify's default, so the Keep-Alive header has the same bytes as the gateway's.
server.keepAliveTimeout = 72_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);
});

const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("disconnect", stop);
