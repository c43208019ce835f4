import type { Logger } from "pino";
import { ApiError } from "../domain/errors.ts";
import type { CancelOutcome, ProviderAdapter } from "../providers/types.ts";
import type { TaskRow } from "../store/schema.ts";
import type { ChannelService } from "./service.ts";

type CancelFacts = Pick<TaskRow, "status" | "channel_id" | "upstream_id" | "upstream_status">;

/**
 * Whether a cancel can still stop this task, from what the gateway knows without asking anyone:
 * a task not yet handed to a provider (or rendered here) always can; one being handed over right
 * now cannot for a moment; one at a provider can if the provider stops tasks in its state.
 */
export function isCancellable(task: CancelFacts, adapter: Pick<ProviderAdapter, "cancelScope"> | undefined) {
  if (task.status !== "submitted" && task.status !== "running") return false;
  if (!task.channel_id) return true;
  if (!task.upstream_id) return false; // the submit to the provider is in flight
  if (!adapter?.cancelScope) return false;
  return adapter.cancelScope === "queued_or_running" || task.upstream_status !== "running";
}

/**
 * Ask the task's provider to stop it. The answer decides the task: stopped → the caller marks it
 * cancelled; refused → it runs on to its end and is settled as usual. When the provider cannot be
 * asked or answers something unexpected, nothing is claimed: an `upstream_error` the client may retry.
 */
export async function cancelUpstream(
  deps: { channels: ChannelService; logger: Logger },
  task: TaskRow,
): Promise<CancelOutcome> {
  if (!task.channel_id || !task.upstream_id) return { cancelled: true };
  const channel = await deps.channels.require(task.channel_id);
  const adapter = deps.channels.adapterFor(channel);
  const name = adapter.displayName;
  if (!adapter.cancel || !adapter.cancelScope)
    return { cancelled: false, reason: `${name} has no way to cancel a task once it is submitted` };
  if (adapter.cancelScope === "queued" && task.upstream_status === "running")
    return { cancelled: false, reason: `${name} has started this task and cannot stop a running task` };
  try {
    return await adapter.cancel(
      task.upstream_id,
      deps.channels.context(channel, task.model),
      task.upstream_ref ?? undefined,
    );
  } catch (error) {
    deps.logger.warn({ err: error, task_id: task.id }, "upstream cancel failed");
    throw new ApiError(
      502,
      "upstream_error",
      "upstream_cancel_failed",
      `could not reach ${name} to cancel this task (${error instanceof Error ? error.message : String(error)}); the task is unchanged, retry the cancel`,
    );
  }
}
