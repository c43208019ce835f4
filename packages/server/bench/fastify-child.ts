/**
 * A reference point between the baseline and the gateway: bare Fastify (the gateway's version, default
 * options, no plugins, hooks, auth or store) with one route on the gateway's path that answers the
 * gateway's body. The gap from the baseline is the framework's; the gap to the gateway is vidrelay's.
 *
 *   BENCH_CHILD_CONFIG='{"method":"GET","route":"/v1/video/generations/:id",…}' node --import tsx bench/fastify-child.ts
 *
 * Prints `{"url":…,"pid":…}` on stdout once it listens; stops on SIGTERM/SIGINT or when the parent's IPC
 * channel closes.
 */
import Fastify from "fastify";

export interface FastifyChildConfig {
  method: "GET" | "POST";
  route: string;
  /** Extra response headers to send (the gateway's x-request-id, say); Fastify sets content-type/-length. */
  headers: Record<string, string>;
  /** The JSON body to answer with, serialised by Fastify as the gateway's is. */
  body: string;
}

const config = JSON.parse(process.env.BENCH_CHILD_CONFIG ?? "{}") as FastifyChildConfig;
const answer = JSON.parse(config.body) as Record<string, unknown>;
const app = Fastify({ logger: false });
app.route({
  method: config.method,
  url: config.route,
  handler: async (_request, reply) => {
    reply.headers(config.headers);
    // A fresh object each time, as the gateway builds one per request.
    return { ...answer };
  },
});
await app.listen({ host: "127.0.0.1", port: 0 });
const address = app.server.address();
const port = typeof address === "object" && address ? address.port : 0;
process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid })}\n`);

const stop = () => {
  app.close().then(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
process.on("disconnect", stop);
