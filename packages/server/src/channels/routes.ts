/** Upstream channel administration (admin keys only): add, change, enable/disable, test. */
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { route } from "../http/route.ts";
import { modelsOf } from "./repository.ts";
import { ChannelBody, ChannelList, ChannelObject, ChannelTestResult } from "./schemas.ts";
import type { ChannelInput, ChannelService } from "./service.ts";

/** Body fields in snake_case (the API's style) → ChannelInput. */
function channelInput(body: ChannelBody): Partial<ChannelInput> {
  return {
    name: body.name,
    provider: body.provider,
    baseUrl: body.base_url,
    apiKey: body.api_key,
    models: body.models,
    priority: body.priority,
    weight: body.weight,
    maxConcurrent: body.max_concurrent,
    enabled: body.enabled,
  };
}

const ChannelParams = z.object({ channel_id: z.string().describe("ch_…") });

export async function channelRoutes(
  app: FastifyInstance,
  { channels }: { channels: ChannelService },
): Promise<void> {
  const common = { tag: "Channels", auth: "admin" } as const;

  route(app, {
    ...common,
    method: "GET",
    url: "/v1/admin/channels",
    operationId: "listChannels",
    summary: "List channels (keys are never returned)",
    response: ChannelList,
    errors: [401, 403],
  })(async () => ({
    object: "list",
    data: (await channels.list()).map((c) => channels.toApi(c)),
    has_more: false,
  }));

  route(app, {
    ...common,
    method: "POST",
    url: "/v1/admin/channels",
    operationId: "createChannel",
    summary: "Add a channel: an upstream base URL, its key (sealed at rest) and the models it serves",
    body: ChannelBody,
    response: ChannelObject,
    errors: [400, 401, 403],
  })(async ({ body }) => channels.create(channelInput(body) as ChannelInput));

  route(app, {
    ...common,
    method: "GET",
    url: "/v1/admin/channels/:channel_id",
    operationId: "getChannel",
    summary: "Get a channel, with its in-flight count",
    params: ChannelParams,
    response: ChannelObject,
    errors: [401, 403, 404],
  })(async ({ params }) => channels.toApi(await channels.require(params.channel_id)));

  route(app, {
    ...common,
    method: "PATCH",
    url: "/v1/admin/channels/:channel_id",
    operationId: "updateChannel",
    summary: "Change any of a channel's fields",
    params: ChannelParams,
    body: ChannelBody,
    response: ChannelObject,
    errors: [400, 401, 403, 404],
  })(async ({ params, body }) => channels.update(params.channel_id, channelInput(body)));

  for (const [action, enabled] of [
    ["disable", false],
    ["enable", true],
  ] as const) {
    route(app, {
      ...common,
      method: "POST",
      url: `/v1/admin/channels/:channel_id/${action}`,
      operationId: `${action}Channel`,
      summary: enabled ? "Route tasks to this channel again" : "Stop routing new tasks to this channel",
      params: ChannelParams,
      response: ChannelObject,
      errors: [401, 403, 404],
    })(async ({ params }) => channels.update(params.channel_id, { enabled }));
  }

  route(app, {
    ...common,
    method: "POST",
    url: "/v1/admin/channels/:channel_id/test",
    operationId: "testChannel",
    summary: "Prove the base URL and key work with one cheap authenticated call (no task is created)",
    params: ChannelParams,
    response: ChannelTestResult,
    errors: [401, 403, 404],
  })(async ({ params }) => {
    const channel = await channels.require(params.channel_id);
    const adapter = channels.adapterFor(channel);
    const model = Object.keys(modelsOf(channel))[0] ?? "";
    const started = Date.now();
    try {
      await adapter.check?.(channels.context(channel, model));
      return { id: channel.id, ok: true, latency_ms: Date.now() - started };
    } catch (error) {
      return { id: channel.id, ok: false, latency_ms: Date.now() - started, error: (error as Error).message };
    }
  });
}
