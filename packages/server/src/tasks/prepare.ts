/**
 * The first half of a submit, shared with the price estimate: the body validated against the
 * catalog, the callback URL checked, the route planned (local engine or a provider), a local
 * edit's prompt read, and the task row built — nothing written yet.
 */
import type { Catalog, CatalogModel } from "../catalog/models.ts";
import { type NormalizedSubmit, normalizeSubmit } from "../catalog/validate.ts";
import type { ChannelRouting } from "../channels/routing.ts";
import { notFound } from "../domain/errors.ts";
import { planEdit } from "../engine/edit-plan.ts";
import { ownerOf, type Principal } from "../keys/auth.ts";
import type { TaskRow } from "../store/schema.ts";
import { newCapabilityToken, newTaskId } from "../util/ids.ts";
import { safetyIdentifierOf } from "./operation-source.ts";

export interface PrepareDeps {
  catalog: Catalog;
  routing: Pick<ChannelRouting, "plan">;
  checkCallbackUrl(url: string): Promise<void>;
}

export type RoutePlan = NonNullable<Awaited<ReturnType<ChannelRouting["plan"]>>>;

export interface PreparedTask extends NormalizedSubmit {
  task: TaskRow;
  plan: RoutePlan;
  model: CatalogModel;
}

export async function prepareTask(
  deps: PrepareDeps,
  principal: Principal,
  body: unknown,
  options: { remixedFrom?: string } = {},
): Promise<PreparedTask> {
  const owner = ownerOf(principal);
  const normalized = normalizeSubmit(body, deps.catalog);
  const { request, callbackUrl, metadataEcho } = normalized;
  request.safetyIdentifier = safetyIdentifierOf(owner.accountId);
  if (callbackUrl) await deps.checkCallbackUrl(callbackUrl);
  const plan = await deps.routing.plan(request.model, principal.key.test_mode === 1);
  if (!plan) {
    throw notFound(
      "model_not_available",
      `no provider on this gateway serves ${request.model} for this key; GET /v1/models lists what you can use`,
      "model",
    );
  }
  // The local engine acts only on the edits it recognises: anything else is refused now, not at
  // render, and the task says which it will apply.
  if (!plan.upstream && request.operation === "edit") metadataEcho.edits = planEdit(request.prompt).applied;
  const model = deps.catalog.get(request.model)!;
  const now = Date.now();
  const task: TaskRow = {
    id: newTaskId(),
    account_id: owner.accountId,
    api_key_id: principal.key.id,
    model: request.model,
    status: "submitted",
    progress: 0,
    prompt: request.prompt,
    seconds: request.seconds,
    request_json: JSON.stringify(request),
    metadata_json: JSON.stringify(metadataEcho),
    callback_url: callbackUrl,
    provider: plan.provider,
    test_mode: principal.key.test_mode,
    error_code: null,
    error_message: null,
    video_json: null,
    output_key: null,
    poster_key: null,
    last_frame_key: null,
    media_token: newCapabilityToken(),
    channel_id: null,
    upstream_id: null,
    upstream_ref: null,
    deleted_at: null,
    remixed_from: options.remixedFrom ?? null,
    upstream_status: null,
    next_poll_at: null,
    poll_owner: null,
    poll_lease_until: null,
    poll_count: 0,
    created_at: now,
    started_at: null,
    completed_at: null,
    expires_at: null,
    updated_at: now,
    deadline_at: request.deadlineSeconds === undefined ? null : now + request.deadlineSeconds * 1000,
  };
  return { ...normalized, task, plan, model };
}
