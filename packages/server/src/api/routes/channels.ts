import type { FastifyInstance } from "fastify";
import type { ChannelInput } from "../../channels/service.ts";
import { ApiError, invalid } from "../../domain/errors.ts";
import type { AppContext } from "../context.ts";

/** Body fields in snake_case (the API's style) → ChannelInput. */
function channelInput(body: unknown): Partial<ChannelInput> {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw invalid("invalid_body", "the request body must be a JSON object", null);
  }
  const b = body as Record<string, unknown>;
  const str = (key: string) => {
    if (b[key] === undefined) return undefined;
    if (typeof b[key] !== "string") throw invalid("invalid_type", `${key} must be a string`, key);
    return b[key] as string;
  };
  const int = (key: string) => {
    if (b[key] === undefined) return undefined;
    if (typeof b[key] !== "number") throw invalid("invalid_type", `${key} must be a number`, key);
    return b[key] as number;
  };
  if (
    b.models !== undefined &&
    (typeof b.models !== "object" || b.models === null || Array.isArray(b.models))
  ) {
    throw invalid(
      "invalid_type",
      "models must be an object mapping catalog model ids to upstream model ids",
      "models",
    );
  }
  if (b.enabled !== undefined && typeof b.enabled !== "boolean") {
    throw invalid("invalid_type", "enabled must be true or false", "enabled");
  }
  return {
    name: str("name"),
    provider: str("provider"),
    baseUrl: str("base_url"),
    apiKey: str("api_key"),
    models: b.models as Record<string, string> | undefined,
    priority: int("priority"),
    weight: int("weight"),
    maxConcurrent: int("max_concurrent"),
    enabled: b.enabled as boolean | undefined,
  };
}

/** Operator endpoints for upstream channels (admin keys only), and providers' callback hints. */
export async function channelRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  const adminOnly = async (request: { principal: { account: { is_admin: number } } }) => {
    if (request.principal.account.is_admin !== 1) {
      throw new ApiError(
        403,
        "permission_error",
        "admin_only",
        "this endpoint needs an admin account's API key",
      );
    }
  };

  app.get("/v1/admin/channels", { preHandler: adminOnly }, async () => ({
    object: "list",
    data: (await ctx.channels.list()).map((c) => ctx.channels.toApi(c)),
    has_more: false,
  }));

  app.post("/v1/admin/channels", { preHandler: adminOnly }, async (request) => {
    return ctx.channels.create(channelInput(request.body) as ChannelInput);
  });

  app.get<{ Params: { id: string } }>("/v1/admin/channels/:id", { preHandler: adminOnly }, async (request) =>
    ctx.channels.toApi(await ctx.channels.require(request.params.id)),
  );

  app.patch<{ Params: { id: string } }>(
    "/v1/admin/channels/:id",
    { preHandler: adminOnly },
    async (request) => ctx.channels.update(request.params.id, channelInput(request.body)),
  );

  app.post<{ Params: { id: string } }>(
    "/v1/admin/channels/:id/disable",
    { preHandler: adminOnly },
    async (request) => ctx.channels.update(request.params.id, { enabled: false }),
  );

  app.post<{ Params: { id: string } }>(
    "/v1/admin/channels/:id/enable",
    { preHandler: adminOnly },
    async (request) => ctx.channels.update(request.params.id, { enabled: true }),
  );

  /** Prove the base URL and key work with one cheap authenticated call. */
  app.post<{ Params: { id: string } }>(
    "/v1/admin/channels/:id/test",
    { preHandler: adminOnly },
    async (request) => {
      const channel = await ctx.channels.require(request.params.id);
      const adapter = ctx.channels.adapterFor(channel);
      const model = Object.keys(JSON.parse(channel.models_json) as Record<string, string>)[0] ?? "";
      const started = Date.now();
      try {
        await adapter.check?.(ctx.channels.context(channel, model));
        return { id: channel.id, ok: true, latency_ms: Date.now() - started };
      } catch (error) {
        return {
          id: channel.id,
          ok: false,
          latency_ms: Date.now() - started,
          error: (error as Error).message,
        };
      }
    },
  );
}

/**
 * `POST /hooks/upstream/{channel}/{token}`: a provider's status callback, used only as a hint to
 * re-poll. The body is kept as received (bytes) because some providers sign it (fal: Ed25519 over
 * the raw body); the adapter verifies and answers which task it is about. A refused callback gets
 * 401, so a provider that retries (fal does, 10 times) tries again.
 */
export async function upstreamHookRoutes(app: FastifyInstance, { ctx }: { ctx: AppContext }): Promise<void> {
  // This plugin is encapsulated: the raw-body parsers apply to the hook route only.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: 1024 * 1024 }, (_request, body, done) =>
    done(null, body),
  );
  app.post<{ Params: { channelId: string; token: string } }>(
    "/hooks/upstream/:channelId/:token",
    async (request, reply) => {
      const channel = await ctx.channels.byCallbackToken(request.params.channelId, request.params.token);
      if (!channel)
        return reply.code(404).send({
          error: { message: "unknown hook", type: "not_found_error", code: "hook_not_found", param: null },
        });
      const rawBody = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      let body: unknown;
      try {
        body = rawBody.length > 0 ? JSON.parse(rawBody.toString("utf8")) : undefined;
      } catch {
        body = undefined;
      }
      const accepted = await ctx.poller.hint(channel, { headers: request.headers, rawBody, body });
      if (!accepted)
        return reply.code(401).send({
          error: {
            message: "the callback could not be verified or names no task",
            type: "authentication_error",
            code: "callback_refused",
            param: null,
          },
        });
      return { received: true };
    },
  );
}
