import type { Kysely } from "kysely";
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import { ApiError, invalid, notFound, shown } from "../domain/errors.ts";
import type { Owner } from "../domain/owner.ts";
import type { ClaimedJob, JobQueue } from "../jobs/queue.ts";
import { Deferred, RetryLater } from "../jobs/runner.ts";
import type { AllowMatcher } from "../net/address-policy.ts";
import { ConnectionPool } from "../net/connection-pool.ts";
import { OutboundRequestError } from "../net/outbound-error.ts";
import { checkTarget } from "../net/pinned-http.ts";
import type { Database, TaskRow, WebhookAttempt, WebhookDelivery } from "../store/schema.ts";
import { randomAlphanumeric, unixSeconds } from "../util/ids.ts";
import { HostLimiter, type HostVerdict } from "./host-limiter.ts";
import type { WebhookRepository } from "./repository.ts";
import type { DeliveryObject, WebhookSecret } from "./schemas.ts";
import { type SendOutcome, sendDelivery } from "./send.ts";
import { newWebhookSecret } from "./signing.ts";

/** How long to wait before retrying a delivery whose host is at its concurrency limit. */
const HOST_BUSY_DELAY_MS = 200;

export type { DeliveryObject } from "./schemas.ts";

/**
 * Signed, durable webhooks (Standard Webhooks). The outbox row is written in the same transaction
 * as the task's terminal transition; a `deliver` job sends it, retrying with back-off for more
 * than a day, and every attempt is stored.
 */
export class WebhookService {
  private readonly hostLimiter: HostLimiter;
  /** Keep-alive connections per receiver address: a burst to one receiver reuses a few sockets. */
  private readonly connections: ConnectionPool;

  constructor(
    private readonly config: Config,
    private readonly repo: WebhookRepository,
    private readonly queue: JobQueue,
    private readonly allow: AllowMatcher,
    private readonly logger: Logger,
  ) {
    this.hostLimiter = new HostLimiter({
      limit: config.webhookPerHostConcurrency,
      maxLimit: config.webhookPerHostMaxConcurrency,
    });
    this.connections = new ConnectionPool({
      maxIdlePerAddress: Math.max(config.webhookPerHostConcurrency, config.webhookPerHostMaxConcurrency),
    });
  }

  /** Close pooled receiver connections (at shutdown, after the last delivery). */
  close(): void {
    this.connections.close();
  }

  // --- secrets ---------------------------------------------------------------------------------

  /** The owner's signing secret: live and test mode each have their own. */
  async secrets(owner: Owner): Promise<WebhookSecret> {
    const row = await this.repo.ensureSecrets(owner, newWebhookSecret());
    const graceActive =
      row.previous_secret && row.previous_expires_at && row.previous_expires_at > Date.now();
    return {
      object: "webhook_secret",
      secret: row.secret,
      previous_secret_expires_at: graceActive ? unixSeconds(row.previous_expires_at) : null,
      rotated_at: unixSeconds(row.rotated_at),
    };
  }

  async rotate(owner: Owner, graceSeconds?: number): Promise<WebhookSecret> {
    const grace = graceSeconds ?? this.config.webhookSecretGraceSeconds;
    if (!Number.isInteger(grace) || grace < 0 || grace > 7 * 24 * 3600) {
      throw invalid(
        "invalid_grace",
        "grace_seconds must be a whole number from 0 to 604800 (7 days)",
        "grace_seconds",
      );
    }
    await this.repo.rotate(owner, newWebhookSecret(), Date.now() + grace * 1000);
    return this.secrets(owner);
  }

  private async signingSecrets(owner: Owner): Promise<string[]> {
    // Only an account's first delivery needs a new secret: skip generating one to throw away.
    const row =
      (await this.repo.getSecrets(owner)) ?? (await this.repo.ensureSecrets(owner, newWebhookSecret()));
    const secrets = [row.secret];
    if (row.previous_secret && row.previous_expires_at && row.previous_expires_at > Date.now()) {
      secrets.push(row.previous_secret);
    }
    return secrets;
  }

  // --- submit-time check -----------------------------------------------------------------------

  /** Refuse a callback URL that points at a private, loopback or metadata address (400). */
  async checkCallbackUrl(url: string): Promise<void> {
    try {
      await checkTarget(url, { allow: this.allow });
    } catch (error) {
      // A host that does not resolve right now may resolve later; delivery re-checks every time.
      if (error instanceof OutboundRequestError && error.reason === "dns_failure") return;
      if (error instanceof OutboundRequestError) {
        // Never the address the host resolved to: that would map the operator's network for anyone.
        const reason =
          error.reason === "blocked_address"
            ? `its host is a private, loopback, link-local or metadata address, which webhooks may not reach (an operator can allow hosts with VIDRELAY_ALLOW_PRIVATE_TARGETS)`
            : error.message;
        throw invalid(
          "invalid_callback_url",
          `metadata.callback_url cannot be used: ${reason}`,
          "metadata.callback_url",
        );
      }
      throw error;
    }
  }

  // --- outbox ----------------------------------------------------------------------------------

  /** Runs inside the task's terminal transaction: the delivery exists iff the task finished. */
  async enqueueForTask(trx: Kysely<Database>, task: TaskRow, payload: string): Promise<void> {
    if (!task.callback_url) return;
    const now = Date.now();
    const id = `msg_${randomAlphanumeric(24)}`;
    await this.repo.insertDelivery(trx, {
      id,
      task_id: task.id,
      account_id: task.account_id,
      test_mode: task.test_mode,
      url: task.callback_url,
      payload,
      status: "pending",
      attempts: 0,
      next_attempt_at: now,
      last_status_code: null,
      last_error: null,
      created_at: now,
      updated_at: now,
      delivered_at: null,
    });
    await this.queue.enqueue(
      {
        kind: "deliver",
        taskId: task.id,
        fairKey: task.account_id,
        payload: { deliveryId: id },
        maxAttempts: this.config.webhookRetrySchedule.length + 1,
      },
      trx,
    );
  }

  // --- delivery --------------------------------------------------------------------------------

  /** One attempt. Throws RetryLater to schedule the next one (the runner counts attempts). */
  async deliver(job: ClaimedJob, signal: AbortSignal): Promise<void> {
    const deliveryId = String(job.payload.deliveryId);
    const delivery = await this.repo.getDelivery(deliveryId);
    if (delivery?.status !== "pending") return;
    if (await this.repo.isGone(delivery.account_id, delivery.url)) {
      await this.repo.setStatus(delivery.id, "gone");
      return;
    }
    let host: string;
    try {
      host = new URL(delivery.url).host;
    } catch {
      const error = "the callback URL is not a valid URL";
      const outcome = { at: Date.now(), latency: 0, statusCode: null, error, excerpt: null };
      await this.recordAttempt(delivery, outcome, "exhausted");
      return;
    }
    const secrets = await this.signingSecrets({
      accountId: delivery.account_id,
      testMode: delivery.test_mode === 1 ? 1 : 0,
    });
    const release = await this.hostLimiter.acquire(host, signal);
    if (!release) throw new Deferred(HOST_BUSY_DELAY_MS);
    try {
      await this.attempt(delivery, secrets, job, signal, release);
    } finally {
      release();
    }
  }

  /**
   * Send once and record the outcome. The host's slot (`releaseHost`, idempotent) is given back as
   * soon as the receiver has answered: recording is our work, not the receiver's.
   */
  private async attempt(
    delivery: WebhookDelivery,
    secrets: string[],
    job: ClaimedJob,
    signal: AbortSignal,
    releaseHost: (verdict: HostVerdict) => void,
  ): Promise<void> {
    const sent = await sendDelivery(
      delivery,
      secrets,
      {
        timeoutMs: this.config.webhookTimeoutSeconds * 1000,
        allow: this.allow,
        signal,
        pool: this.connections,
      },
      releaseHost,
    );
    const { statusCode } = sent;
    if (statusCode !== null && statusCode >= 200 && statusCode < 300) {
      await this.recordAttempt(delivery, { ...sent, error: null }, "delivered");
      return;
    }
    if (statusCode === 410) {
      await this.repo.markGone(delivery.account_id, delivery.url);
      const error = "the receiver answered 410 Gone; delivery to this URL is stopped";
      await this.recordAttempt(delivery, { ...sent, error }, "gone");
      return;
    }
    const error = sent.error ?? `HTTP ${statusCode}`;
    const attemptNumber = job.attempt;
    const schedule = this.config.webhookRetrySchedule;
    if (attemptNumber > schedule.length) {
      await this.recordAttempt(delivery, { ...sent, error }, "exhausted");
      return;
    }
    const base = schedule[attemptNumber - 1]! * 1000;
    const jittered = base * (0.8 + Math.random() * 0.4);
    const delay = Math.max(jittered, sent.retryAfterMs ?? 0);
    await this.recordAttempt(delivery, { ...sent, error }, "pending", sent.at + delay);
    throw new RetryLater(`webhook ${delivery.id} attempt ${attemptNumber} failed: ${error}`, delay);
  }

  private recordAttempt(
    delivery: WebhookDelivery,
    outcome: Pick<SendOutcome, "at" | "latency" | "statusCode" | "error" | "excerpt">,
    status: WebhookDelivery["status"],
    nextAttemptAt: number | null = null,
  ): Promise<void> {
    const { statusCode, error } = outcome;
    const attempt: WebhookAttempt = {
      id: `wha_${randomAlphanumeric(20)}`,
      delivery_id: delivery.id,
      attempted_at: outcome.at,
      status_code: statusCode,
      latency_ms: outcome.latency,
      error: error?.slice(0, 1000) ?? null,
      response_excerpt: outcome.excerpt,
    };
    if (status !== "delivered") {
      this.logger.info(
        { delivery_id: delivery.id, task_id: delivery.task_id, status_code: statusCode, error },
        "webhook attempt failed",
      );
    }
    return this.repo.recordAttempt(attempt, { status, nextAttemptAt });
  }

  /** The job used its last attempt without an answer we could record (e.g. the process kept dying). */
  async exhausted(job: ClaimedJob): Promise<void> {
    const delivery = await this.repo.getDelivery(String(job.payload.deliveryId));
    if (delivery?.status === "pending") await this.repo.setStatus(delivery.id, "exhausted");
  }

  // --- API -------------------------------------------------------------------------------------

  async list(accountId: string, taskId: string): Promise<DeliveryObject[]> {
    const deliveries = await this.repo.listDeliveries(accountId, taskId);
    const attempts = await this.repo.listAttempts(deliveries.map((d) => d.id));
    return deliveries.map((d) => ({
      id: d.id,
      object: "webhook_delivery",
      task_id: d.task_id,
      url: d.url,
      status: d.status,
      attempts: attempts
        .filter((a) => a.delivery_id === d.id)
        .map((a) => ({
          attempted_at: a.attempted_at / 1000,
          status_code: a.status_code,
          latency_ms: a.latency_ms,
          error: a.error,
        })),
      next_attempt_at: d.status === "pending" ? unixSeconds(d.next_attempt_at) : null,
      created_at: unixSeconds(d.created_at)!,
      delivered_at: unixSeconds(d.delivered_at),
    }));
  }

  /** Send a failed, exhausted or gone delivery again (same webhook-id, a fresh retry budget). */
  async replay(accountId: string, taskId: string, deliveryId: string): Promise<DeliveryObject> {
    const delivery = await this.repo.getDelivery(deliveryId);
    if (!delivery || delivery.account_id !== accountId || delivery.task_id !== taskId) {
      throw notFound(
        "delivery_not_found",
        `no delivery ${shown(deliveryId)} for task ${shown(taskId)}`,
        "delivery_id",
      );
    }
    if (delivery.status === "pending" || delivery.status === "delivered") {
      throw new ApiError(
        409,
        "invalid_request_error",
        "delivery_not_replayable",
        `delivery ${deliveryId} is ${delivery.status}; only exhausted or gone deliveries can be replayed`,
        "delivery_id",
      );
    }
    await this.repo.clearGone(accountId, delivery.url);
    await this.repo.setStatus(delivery.id, "pending", Date.now());
    await this.queue.enqueue({
      kind: "deliver",
      taskId,
      fairKey: accountId,
      payload: { deliveryId },
      maxAttempts: this.config.webhookRetrySchedule.length + 1,
    });
    const list = await this.list(accountId, taskId);
    return list.find((d) => d.id === deliveryId)!;
  }
}
