/** Every query of the `channels` table (ChannelService keeps the rules: validation, sealing, caching). */
import type { Kysely } from "kysely";
import type { ChannelRow, Database } from "../store/schema.ts";

/** A channel's `models_json`: catalog model id → the upstream's model id. */
export function modelsOf(channel: Pick<ChannelRow, "models_json">): Record<string, string> {
  return JSON.parse(channel.models_json) as Record<string, string>;
}

export class ChannelRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async insert(row: ChannelRow): Promise<void> {
    await this.db.insertInto("channels").values(row).execute();
  }

  async update(id: string, set: Partial<ChannelRow>): Promise<void> {
    await this.db.updateTable("channels").set(set).where("id", "=", id).execute();
  }

  get(id: string): Promise<ChannelRow | undefined> {
    return this.db.selectFrom("channels").selectAll().where("id", "=", id).executeTakeFirst();
  }

  /** Highest priority first, then oldest. */
  list(): Promise<ChannelRow[]> {
    return this.db
      .selectFrom("channels")
      .selectAll()
      .orderBy("priority", "desc")
      .orderBy("created_at")
      .execute();
  }

  listEnabled(): Promise<ChannelRow[]> {
    return this.db.selectFrom("channels").selectAll().where("enabled", "=", 1).execute();
  }

  /** Take one of the channel's concurrency slots; false when it is full. Atomic on both dialects. */
  async takeSlot(trx: Kysely<Database>, channelId: string): Promise<boolean> {
    const result = await trx
      .updateTable("channels")
      .set((eb) => ({ in_flight: eb("in_flight", "+", 1) }))
      .where("id", "=", channelId)
      .where((eb) => eb("in_flight", "<", eb.ref("max_concurrent")))
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async releaseSlot(trx: Kysely<Database>, channelId: string): Promise<void> {
    await trx
      .updateTable("channels")
      .set((eb) => ({ in_flight: eb("in_flight", "-", 1) }))
      .where("id", "=", channelId)
      .where("in_flight", ">", 0)
      .execute();
  }

  /**
   * Each channel's `in_flight` beside the number of active tasks holding it, read in one statement
   * (one snapshot): the two agree unless a slot leaked.
   */
  slotCounts(): Promise<Array<{ id: string; in_flight: number; holders: number }>> {
    return this.db
      .selectFrom("channels")
      .select((eb) => [
        "channels.id",
        "channels.in_flight",
        eb
          .selectFrom("tasks")
          .select((t) => t.fn.countAll<number>().as("n"))
          .whereRef("tasks.channel_id", "=", "channels.id")
          .where("tasks.status", "in", ["submitted", "running"])
          .as("holders"),
      ])
      .execute()
      .then((rows) =>
        rows.map((r) => ({ id: r.id, in_flight: Number(r.in_flight), holders: Number(r.holders ?? 0) })),
      );
  }

  /** Set `in_flight` to `to` only if it still is `from` (a slot taken or given back meanwhile wins). */
  async correctSlots(id: string, from: number, to: number): Promise<boolean> {
    const result = await this.db
      .updateTable("channels")
      .set({ in_flight: to })
      .where("id", "=", id)
      .where("in_flight", "=", from)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }
}
