/**
 * The listening socket, bound before anything else starts.
 *
 * Binding first makes the configuration final before any service is built: with `--port 0`
 * (tests, benchmarks) the real port is known, so the public URL every service hands out carries
 * it from the start instead of being patched in afterwards. It also makes the commonest first-start
 * failure (a port in use) fail before the store is migrated or anything is created.
 *
 * Requests that arrive while the rest is starting wait (bounded by the request timeout) and are
 * answered once the app is ready; if the start fails they get a 503 in the contract's shape.
 */
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { Config } from "../config.ts";
import { serverOptions } from "./server-options.ts";

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

type ListenerConfig = Pick<
  Config,
  | "host"
  | "port"
  | "publicUrl"
  | "maxJsonBytes"
  | "requestTimeoutSeconds"
  | "idleTimeoutSeconds"
  | "maxConnections"
>;

export class Listener {
  /** Fastify's handler, given to its server factory; it answers once `serve` is called. */
  private appHandler: Handler | undefined;
  private handler: Handler | undefined;
  private waiting: Array<[IncomingMessage, ServerResponse]> = [];
  private closed: Promise<void> | undefined;

  private constructor(
    readonly server: http.Server,
    readonly port: number,
  ) {}

  /** Bind `config.host:config.port` (errors carry `syscall: "listen"` and the usual codes). */
  static async open(config: ListenerConfig): Promise<Listener> {
    const options = serverOptions(config);
    let listener: Listener | undefined;
    const server = http.createServer(options.http ?? {}, (req, res) => listener?.accept(req, res));
    // What Fastify sets on a server it creates itself (it does not touch a server it is given).
    server.requestTimeout = options.requestTimeout ?? 0;
    server.setTimeout(options.connectionTimeout ?? 0);
    server.maxConnections = config.maxConnections;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: config.host, port: config.port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const address = server.address();
    listener = new Listener(server, typeof address === "object" && address ? address.port : config.port);
    return listener;
  }

  /**
   * The configuration every service gets: the given one, with the public URL carrying the real
   * port when an ephemeral one was asked for and no public URL was set.
   */
  finalConfig<C extends ListenerConfig>(config: C, publicUrlWasSet: boolean): Readonly<C> {
    if (config.port !== 0 || publicUrlWasSet) return Object.freeze({ ...config });
    const displayHost = config.host.includes(":") ? `[${config.host}]` : config.host;
    return Object.freeze({ ...config, publicUrl: `http://${displayHost}:${this.port}` });
  }

  /** Fastify's `serverFactory`: the app is served on this socket, once `serve` is called. */
  factory = (handler: Handler, options: { keepAliveTimeout?: number }): http.Server => {
    this.appHandler = handler;
    if (options.keepAliveTimeout) this.server.keepAliveTimeout = options.keepAliveTimeout;
    return this.server;
  };

  /** Start answering with the app (after `app.ready()`), the held requests first. */
  serve(): void {
    if (!this.appHandler) throw new Error("Listener.serve before the app was created");
    this.handler = this.appHandler;
    for (const [req, res] of this.waiting.splice(0)) this.handler(req, res);
  }

  /** Stop accepting; idle keep-alive connections close now, busy ones when their answer is sent. */
  close(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
      for (const [, res] of this.waiting.splice(0)) refuse(res);
    });
    return this.closed;
  }

  private accept(req: IncomingMessage, res: ServerResponse): void {
    if (this.handler) this.handler(req, res);
    else if (this.closed) refuse(res);
    else this.waiting.push([req, res]);
  }
}

function refuse(res: ServerResponse): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({
    error: {
      message: "the server is stopping or failed to start; try again shortly",
      type: "server_error",
      code: "server_unavailable",
      param: null,
    },
  });
  res.writeHead(503, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    "retry-after": "5",
    connection: "close",
  });
  res.end(body);
}
