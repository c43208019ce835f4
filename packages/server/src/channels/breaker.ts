import type { Kysely } from "kysely";
import type { Database } from "../store/schema.ts";

/**
 * A per-channel circuit breaker: after `threshold` consecutive failed submits the channel is
 * skipped for `cooldownMs`; the first attempt after that is the probe — success closes it, failure
 * re-opens it at once. Its state lives in the store (`channel_breakers`), so what one worker learns
 * about a channel (a bad key, an outage) every process acts on: a channel that has tripped is not
 * hammered by the other workers until each has failed on its own.
 */
export class CircuitBreaker {
  constructor(
    private readonly db: Kysely<Database>,
    threshold: number,
    readonly cooldownMs: number,
  ) {
    this.threshold = threshold;
  }

  readonly threshold: number;

  /**
   * Every channel's breaker that has counted failures: how many, and until when it is open. A
   * channel past its cool-down with `failures >= threshold` is half open: one dispatcher may probe it
   * (`claimProbe`), the others keep waiting.
   */
  async states(): Promise<Map<string, { failures: number; openUntil: number }>> {
    const rows = await this.db
      .selectFrom("channel_breakers")
      .select(["channel_id", "failures", "open_until"])
      .execute();
    return new Map(
      rows.map((r) => [r.channel_id, { failures: r.failures, openUntil: Number(r.open_until) }]),
    );
  }

  /**
   * Take the probe of a half-open channel: true for exactly one caller, which then has `holdMs` to
   * try it (success closes the breaker, failure opens it again); everyone else sees it open.
   */
  async claimProbe(channelId: string, holdMs: number, now = Date.now()): Promise<boolean> {
    const result = await this.db
      .updateTable("channel_breakers")
      .set({ open_until: now + holdMs, updated_at: now })
      .where("channel_id", "=", channelId)
      .where("open_until", "<=", now)
      .where("failures", ">=", this.threshold)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** The channels cooling down now (one read per dispatch, whatever the number of candidates). */
  async openChannels(now = Date.now()): Promise<Set<string>> {
    const rows = await this.db
      .selectFrom("channel_breakers")
      .select("channel_id")
      .where("open_until", ">", now)
      .execute();
    return new Set(rows.map((r) => r.channel_id));
  }

  /** A submit went through: the channel is healthy again. */
  async success(channelId: string): Promise<void> {
    await this.db.deleteFrom("channel_breakers").where("channel_id", "=", channelId).execute();
  }

  /** A submit failed in a way that says the channel may be unwell (no task was created). */
  async failure(channelId: string, now = Date.now()): Promise<void> {
    const { threshold } = this;
    const openUntil = now + this.cooldownMs;
    await this.db
      .insertInto("channel_breakers")
      .values({
        channel_id: channelId,
        failures: 1,
        open_until: threshold <= 1 ? openUntil : 0,
        updated_at: now,
      })
      .onConflict((oc) =>
        oc.column("channel_id").doUpdateSet((eb) => ({
          failures: eb("channel_breakers.failures", "+", 1),
          open_until: eb
            .case()
            .when(eb("channel_breakers.failures", "+", 1), ">=", threshold)
            .then(openUntil)
            .else(eb.ref("channel_breakers.open_until"))
            .end(),
          updated_at: now,
        })),
      )
      .execute();
  }

  /** A channel that cannot work at all (bad key, overdue account): open at once. */
  async trip(channelId: string, now = Date.now()): Promise<void> {
    const values = { failures: this.threshold, open_until: now + this.cooldownMs, updated_at: now };
    await this.db
      .insertInto("channel_breakers")
      .values({ channel_id: channelId, ...values })
      .onConflict((oc) => oc.column("channel_id").doUpdateSet(values))
      .execute();
  }
}
