import type { Logger } from "pino";
import type { TaskRow } from "../store/schema.ts";
import type { ChannelService } from "./service.ts";

/** Best effort: tell the provider a cancelled task is no longer wanted (Ark cancels queued ones). */
export async function cancelUpstream(
  deps: { channels: ChannelService; logger: Logger },
  task: TaskRow,
): Promise<void> {
  if (!task.channel_id || !task.upstream_id) return;
  try {
    const channel = await deps.channels.require(task.channel_id);
    const adapter = deps.channels.adapterFor(channel);
    await adapter.cancel?.(
      task.upstream_id,
      deps.channels.context(channel, task.model),
      task.upstream_ref ?? undefined,
    );
  } catch (error) {
    deps.logger.info({ err: error, task_id: task.id }, "upstream cancel was not accepted");
  }
}
