/**
 * A channel's concurrency slots, taken and given back in one place. A task holds a slot of its
 * channel from the moment dispatch assigns the channel until the task finishes (or dispatch undoes
 * the assignment because nothing went out): `channels.in_flight` always equals the number of
 * active tasks holding the channel. `reconcile` is the safety net that restores that equality if
 * a slot ever leaks.
 */
import type { Kysely } from "kysely";
import type { ChannelRepository } from "../channels/repository.ts";
import type { ChannelRow, Database, TaskRow } from "../store/schema.ts";
import type { TaskRepository } from "./repository.ts";

export class ChannelSlots {
  constructor(
    private readonly deps: {
      db: Kysely<Database>;
      tasks: Pick<TaskRepository, "assignChannel" | "unassignChannel">;
      channels: Pick<ChannelRepository, "takeSlot" | "releaseSlot" | "slotCounts" | "correctSlots">;
    },
  ) {}

  /** Take a slot of `channel` for a waiting task: full, or gone (cancelled, or another dispatcher has it). */
  reserve(task: TaskRow, channel: ChannelRow): Promise<"reserved" | "full" | "gone"> {
    const { db, channels, tasks } = this.deps;
    return db.transaction().execute(async (trx) => {
      if (!(await channels.takeSlot(trx, channel.id))) return "full";
      if (await tasks.assignChannel(trx, task.id, channel)) return "reserved";
      await channels.releaseSlot(trx, channel.id);
      return "gone";
    });
  }

  /** Nothing went out on the channel: give the slot back, if the task still holds it (a cancel may have). */
  async unreserve(task: TaskRow, channel: ChannelRow): Promise<void> {
    const { db, channels, tasks } = this.deps;
    await db.transaction().execute(async (trx) => {
      if (await tasks.unassignChannel(trx, task.id, channel.id)) await channels.releaseSlot(trx, channel.id);
    });
  }

  /** In the transaction that finished the task. */
  async releaseFor(trx: Kysely<Database>, finished: Pick<TaskRow, "channel_id">): Promise<void> {
    if (finished.channel_id) await this.deps.channels.releaseSlot(trx, finished.channel_id);
  }

  /** Restore `in_flight` = active holders wherever they differ; how many channels were corrected. */
  async reconcile(): Promise<number> {
    let corrected = 0;
    for (const row of await this.deps.channels.slotCounts()) {
      if (row.in_flight === row.holders) continue;
      if (await this.deps.channels.correctSlots(row.id, row.in_flight, row.holders)) corrected++;
    }
    return corrected;
  }
}
