import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  at: number;
}

export interface TinyServer {
  url: string;
  requests: Recorded[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on a loopback port, answering with `handler` (called with the request number,
 * starting at 0). For behaviour a real vidrelay server cannot be made to show (429, 5xx, stalls).
 */
export async function tinyServer(
  handler: (req: Recorded, res: ServerResponse, n: number) => void | Promise<void>,
): Promise<TinyServer> {
  const requests: Recorded[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const recorded: Recorded = {
      method: req.method ?? "",
      url: req.url ?? "",
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
      at: Date.now(),
    };
    requests.push(recorded);
    await handler(recorded, res, requests.length - 1);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(body));
}

export function apiError(type: string, code: string, message: string, param: string | null = null) {
  return { error: { message, type, code, param } };
}

/** A loopback port nothing listens on (bound, read, released). */
export async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export const TASK = {
  task_id: "task_00000000000000000000000000000001",
  id: "task_00000000000000000000000000000001",
  object: "video",
  model: "seedance-1-5-pro-with-audio",
  status: "running",
  progress: 10,
  prompt: "p",
  seconds: "5",
  metadata: { ratio: "16:9", resolution: "480p", generate_audio: true },
  format: "mp4",
  created_at: 1,
};
