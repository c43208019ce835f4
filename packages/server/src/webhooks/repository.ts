import type { Kysely } from "kysely";
import type { Owner } from "../domain/owner.ts";
import type {
  Database,
  DeliveryStatus,
  WebhookAttempt,
  WebhookDelivery,
  WebhookSecrets,
} from "../store/schema.ts";
import { chunks, TurnBatch } from "../store/turn-batch.ts";
import { sha256Hex } from "../util/ids.ts";
import { isSealed, openUnwrapping, type SecretBox } from "../util/secret-box.ts";

interface RecordedAttempt {
  attempt: WebhookAttempt;
  update: { status: DeliveryStatus; nextAttemptAt: number | null };
}

/** 7 columns a row: 70 rows stay far below every bound-parameter limit. */
const ATTEMPTS_PER_INSERT = 70;

export class WebhookRepository {
  private readonly attempts = new TurnBatch((items: RecordedAttempt[]) => this.writeAttempts(items));

  /** `box` seals the signing secrets at rest, like channel keys; rows come back opened. */
  constructor(
    private readonly db: Kysely<Database>,
    private readonly box: SecretBox,
  ) {}

  async getSecrets(owner: Owner): Promise<WebhookSecrets | undefined> {
    const table = secretsTable(owner);
    const accountId = owner.accountId;
    const row = await this.db
      .selectFrom(table)
      .selectAll()
      .where("account_id", "=", accountId)
      .executeTakeFirst();
    if (!row) return undefined;
    const clear = !isSealed(row.secret) || (row.previous_secret !== null && !isSealed(row.previous_secret));
    const opened = {
      ...row,
      secret: this.openSecret(row.secret),
      previous_secret: row.previous_secret === null ? null : this.openSecret(row.previous_secret),
    };
    // A row stored in clear by an older version is sealed the first time it is read (signing
    // secrets are `whsec_…` in clear; `vidrelay secrets rotate` seals such rows too).
    if (clear) {
      await this.db
        .updateTable(table)
        .set({
          secret: this.box.seal(opened.secret),
          previous_secret: opened.previous_secret === null ? null : this.box.seal(opened.previous_secret),
        })
        .where("account_id", "=", accountId)
        .where("secret", "=", row.secret)
        .execute();
    }
    return opened;
  }

  private openSecret(stored: string): string {
    return isSealed(stored) ? openUnwrapping(this.box, stored) : stored;
  }

  /** Create the account's secret if it has none; returns the row either way (races resolve to one row). */
  async ensureSecrets(owner: Owner, secret: string): Promise<WebhookSecrets> {
    const existing = await this.getSecrets(owner);
    if (existing) return existing;
    try {
      await this.db
        .insertInto(secretsTable(owner))
        .values({
          account_id: owner.accountId,
          secret: this.box.seal(secret),
          previous_secret: null,
          previous_expires_at: null,
          created_at: Date.now(),
          rotated_at: null,
        })
        .execute();
    } catch {
      // Another request created it first.
    }
    return (await this.getSecrets(owner))!;
  }

  async rotate(owner: Owner, next: string, previousExpiresAt: number): Promise<WebhookSecrets> {
    const current = await this.ensureSecrets(owner, next);
    if (current.secret === next) return current; // just created
    const now = Date.now();
    await this.db
      .updateTable(secretsTable(owner))
      .set({
        secret: this.box.seal(next),
        previous_secret: this.box.seal(current.secret),
        previous_expires_at: previousExpiresAt,
        rotated_at: now,
      })
      .where("account_id", "=", owner.accountId)
      .execute();
    return (await this.getSecrets(owner))!;
  }

  async insertDelivery(trx: Kysely<Database>, delivery: WebhookDelivery): Promise<void> {
    await trx.insertInto("webhook_deliveries").values(delivery).execute();
  }

  getDelivery(id: string): Promise<WebhookDelivery | undefined> {
    return this.db.selectFrom("webhook_deliveries").selectAll().where("id", "=", id).executeTakeFirst();
  }

  listDeliveries(accountId: string, taskId: string): Promise<WebhookDelivery[]> {
    return this.db
      .selectFrom("webhook_deliveries")
      .selectAll()
      .where("account_id", "=", accountId)
      .where("task_id", "=", taskId)
      .orderBy("created_at")
      .execute();
  }

  listAttempts(deliveryIds: string[]): Promise<WebhookAttempt[]> {
    if (deliveryIds.length === 0) return Promise.resolve([]);
    return this.db
      .selectFrom("webhook_attempts")
      .selectAll()
      .where("delivery_id", "in", deliveryIds)
      .orderBy("attempted_at")
      .orderBy("id")
      .execute();
  }

  /**
   * Record one attempt and move the delivery to its new state, atomically. Attempts recorded in
   * the same turn of the event loop share one transaction (store/turn-batch.ts): a burst of
   * deliveries answered together costs one commit, not one each.
   */
  recordAttempt(
    attempt: WebhookAttempt,
    update: { status: DeliveryStatus; nextAttemptAt: number | null },
  ): Promise<void> {
    return this.attempts.add({ attempt, update });
  }

  private async writeAttempts(items: RecordedAttempt[]): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      for (const slice of chunks(items, ATTEMPTS_PER_INSERT)) {
        await trx
          .insertInto("webhook_attempts")
          .values(slice.map((item) => item.attempt))
          .execute();
      }
      for (const { attempt, update } of items) {
        await trx
          .updateTable("webhook_deliveries")
          .set((eb) => ({
            status: update.status,
            attempts: eb("attempts", "+", 1),
            next_attempt_at: update.nextAttemptAt,
            last_status_code: attempt.status_code,
            last_error: attempt.error,
            updated_at: attempt.attempted_at,
            delivered_at: update.status === "delivered" ? attempt.attempted_at : null,
          }))
          .where("id", "=", attempt.delivery_id)
          .execute();
      }
    });
  }

  async setStatus(id: string, status: DeliveryStatus, nextAttemptAt: number | null = null): Promise<void> {
    await this.db
      .updateTable("webhook_deliveries")
      .set({ status, next_attempt_at: nextAttemptAt, updated_at: Date.now() })
      .where("id", "=", id)
      .execute();
  }

  /** Whether a receiver answered 410 Gone for this account and URL (delivery to it is stopped). */
  async isGone(accountId: string, url: string): Promise<boolean> {
    const row = await this.db
      .selectFrom("kv")
      .select("key")
      .where("key", "=", goneKey(accountId, url))
      .executeTakeFirst();
    return !!row;
  }

  async markGone(accountId: string, url: string): Promise<void> {
    const key = goneKey(accountId, url);
    await this.db.deleteFrom("kv").where("key", "=", key).execute();
    await this.db.insertInto("kv").values({ key, value: "410", updated_at: Date.now() }).execute();
  }

  async clearGone(accountId: string, url: string): Promise<void> {
    await this.db.deleteFrom("kv").where("key", "=", goneKey(accountId, url)).execute();
  }
}

function goneKey(accountId: string, url: string): string {
  // kv keys are bounded; a hash keeps long URLs inside the limit.
  return `webhook-gone:${accountId}:${sha256Hex(url).slice(0, 40)}`;
}

/** Live and test mode sign with secrets of their own, kept in tables of the same shape. */
function secretsTable(owner: Owner): "webhook_secrets" | "webhook_test_secrets" {
  return owner.testMode === 1 ? "webhook_test_secrets" : "webhook_secrets";
}
