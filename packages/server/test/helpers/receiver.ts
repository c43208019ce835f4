import { createServer, type IncomingHttpHeaders, type ServerResponse } from "node:http";

export interface ReceivedRequest {
  at: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real webhook receiver on loopback; `respond` decides each answer (default 200). */
export async function startReceiver(
  respond: (req: ReceivedRequest, index: number, res: ServerResponse) => void = (_r, _i, res) =>
    res.end("ok"),
  port = 0,
): Promise<{
  url: string;
  port: number;
  received: ReceivedRequest[];
  /** The most requests that were open at the same time. */
  maxInFlight(): number;
  close(): Promise<void>;
}> {
  const received: ReceivedRequest[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const server = createServer((req, res) => {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    res.on("close", () => {
      inFlight--;
    });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const entry = { at: Date.now(), headers: req.headers, body: Buffer.concat(chunks).toString() };
      received.push(entry);
      respond(entry, received.length - 1, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  const address = server.address();
  const actual = typeof address === "object" && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${actual}/hooks/video`,
    port: actual,
    received,
    maxInFlight: () => maxInFlight,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export async function until(predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
