/**
 * `POST /hooks/upstream/{channel_id}/{token}`: a provider's status callback, used only as a hint
 * to re-poll. The body is kept as received (bytes) because some providers sign it (fal: Ed25519
 * over the raw body); the adapter verifies and answers which task it is about. A refused callback
 * gets 401, so a provider that retries (fal does, 10 times) tries again.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import type { ChannelService } from "../channels/service.ts";
import { route } from "../http/route.ts";
import type { ChannelRow } from "../store/schema.ts";
import type { UpstreamPoller } from "./poller.ts";

export interface UpstreamHookDeps {
  channels: Pick<ChannelService, "byCallbackToken">;
  poller: Pick<UpstreamPoller, "hint">;
}

export async function upstreamHookRoutes(
  app: FastifyInstance,
  { channels, poller }: UpstreamHookDeps,
): Promise<void> {
  // This plugin is encapsulated: the raw-body parsers apply to the hook route only.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 1024 * 1024 }, (_request, body, done) =>
    done(null, body),
  );
  // The token is checked before the body is read: nobody without it gets a megabyte read.
  const channelOf = new WeakMap<FastifyRequest, ChannelRow>();
  const checkToken = async (request: FastifyRequest, reply: FastifyReply) => {
    const { channel_id, token } = request.params as { channel_id: string; token: string };
    const channel = await channels.byCallbackToken(channel_id, token);
    if (!channel) {
      return reply.code(404).send({
        error: { message: "unknown hook", type: "not_found_error", code: "hook_not_found", param: null },
      });
    }
    channelOf.set(request, channel);
  };
  route(app, {
    method: "POST",
    url: "/hooks/upstream/:channel_id/:token",
    operationId: "upstreamCallback",
    summary: "A provider's status callback for a channel (a hint to poll now; the token authorises it)",
    tag: "Upstream callbacks",
    auth: "capability",
    params: z.object({
      channel_id: z.string().describe("The channel the callback URL was made for."),
      token: z.string().describe("The channel's callback token."),
    }),
    response: z.object({ received: z.literal(true) }).meta({ title: "CallbackReceived" }),
    errors: [401, 404],
    options: { onRequest: checkToken },
  })(async ({ request, reply }) => {
    const channel = channelOf.get(request)!;
    const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let body: unknown;
    try {
      body = rawBody.length > 0 ? JSON.parse(rawBody.toString("utf8")) : undefined;
    } catch {
      body = undefined;
    }
    const accepted = await poller.hint(channel, { headers: request.headers, rawBody, body });
    if (!accepted) {
      return reply.code(401).send({
        error: {
          message: "the callback could not be verified or names no task",
          type: "authentication_error",
          code: "callback_refused",
          param: null,
        },
      });
    }
    return { received: true };
  });
}
