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
import { safeFetch } from "../net/safe-fetch.ts";
import type { Database, TaskRow, WebhookAttempt, WebhookDelivery } from "../store/schema.ts";
import { randomAlphanumeric, unixSeconds } from "../util/ids.ts";
import { VERSION_STRING } from "../version.ts";
import { HostLimiter, type HostVerdict } from "./host-limiter.ts";
import type { WebhookRepository } from "./repository.ts";
import type { DeliveryObject, WebhookSecret } from "./schemas.ts";
import { newWebhookSecret, signatureHeader } from "./signing.ts";

const MAX_RESPONSE_BYTES = 64 * 1024;
const EXCERPT_BYTES = 512;
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
      await this.recordAttempt(
        delivery,
        Date.now(),
        0,
        null,
        "the callback URL is not a valid URL",
        null,
        "exhausted",
      );
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
    const started = Date.now();
    const timestamp = Math.floor(started / 1000);
    let statusCode: number | null = null;
    let error: string | null = null;
    let excerpt: string | null = null;
    let retryAfterMs: number | null = null;
    try {
      const response = await safeFetch(delivery.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": `vidrelay-webhook/${VERSION_STRING}`,
          "webhook-id": delivery.id,
          "webhook-timestamp": String(timestamp),
          "webhook-signature": signatureHeader(secrets, delivery.id, timestamp, delivery.payload),
        },
        body: delivery.payload,
        timeoutMs: this.config.webhookTimeoutSeconds * 1000,
        maxBytes: Number.MAX_SAFE_INTEGER, // we stop reading ourselves after 64 KB
        maxRedirects: 0,
        allow: this.allow,
        signal,
        pool: this.connections,
      });
      statusCode = response.status;
      excerpt = await readAtMost(response.body, MAX_RESPONSE_BYTES, EXCERPT_BYTES);
      const retryAfter = response.headers["retry-after"];
      if ((statusCode === 429 || statusCode === 503) && typeof retryAfter === "string") {
        retryAfterMs = parseRetryAfter(retryAfter);
      }
      if (statusCode >= 300 && statusCode < 400) error = `redirects are not followed (HTTP ${statusCode})`;
    } catch (caught) {
      error = caught instanceof Error ? caught.message : String(caught);
    }
    releaseHost(hostVerdict(statusCode, signal));
    const latency = Date.now() - started;
    const ok = statusCode !== null && statusCode >= 200 && statusCode < 300;
    if (ok) {
      await this.recordAttempt(delivery, started, latency, statusCode, null, excerpt, "delivered");
      return;
    }
    if (statusCode === 410) {
      await this.repo.markGone(delivery.account_id, delivery.url);
      await this.recordAttempt(
        delivery,
        started,
        latency,
        statusCode,
        "the receiver answered 410 Gone; delivery to this URL is stopped",
        excerpt,
        "gone",
      );
      return;
    }
    const attemptNumber = job.attempt;
    const schedule = this.config.webhookRetrySchedule;
    if (attemptNumber > schedule.length) {
      await this.recordAttempt(
        delivery,
        started,
        latency,
        statusCode,
        error ?? `HTTP ${statusCode}`,
        excerpt,
        "exhausted",
      );
      return;
    }
    const base = schedule[attemptNumber - 1]! * 1000;
    const jittered = base * (0.8 + Math.random() * 0.4);
    const delay = Math.max(jittered, retryAfterMs ?? 0);
    await this.recordAttempt(
      delivery,
      started,
      latency,
      statusCode,
      error ?? `HTTP ${statusCode}`,
      excerpt,
      "pending",
      started + delay,
    );
    throw new RetryLater(
      `webhook ${delivery.id} attempt ${attemptNumber} failed: ${error ?? `HTTP ${statusCode}`}`,
      delay,
    );
  }

  private recordAttempt(
    delivery: WebhookDelivery,
    at: number,
    latency: number,
    statusCode: number | null,
    error: string | null,
    excerpt: string | null,
    status: WebhookDelivery["status"],
    nextAttemptAt: number | null = null,
  ): Promise<void> {
    const attempt: WebhookAttempt = {
      id: `wha_${randomAlphanumeric(20)}`,
      delivery_id: delivery.id,
      attempted_at: at,
      status_code: statusCode,
      latency_ms: latency,
      error: error?.slice(0, 1000) ?? null,
      response_excerpt: excerpt,
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

/** Read a response body up to `limit` bytes (then stop); return the first `keep` bytes as text. */
async function readAtMost(
  body: NodeJS.ReadableStream & { destroy(): void },
  limit: number,
  keep: number,
): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (total < keep) chunks.push(chunk.subarray(0, keep - total));
      total += chunk.length;
      if (total >= limit) break;
    }
  } catch {
    // A receiver that breaks the connection mid-body has still answered with its status.
  } finally {
    body.destroy();
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseRetryAfter(value: string): number | null {
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds, 24 * 3600) * 1000;
  const date = Date.parse(value);
  if (Number.isFinite(date)) return Math.max(0, Math.min(date - Date.now(), 24 * 3600 * 1000));
  return null;
}

/** What an attempt's outcome says about the receiver's capacity (see HostLimiter). */
function hostVerdict(statusCode: number | null, signal: AbortSignal): HostVerdict {
  if (statusCode === null) return signal.aborted ? "neutral" : "overloaded"; // timeout, refused, reset
  if (statusCode >= 200 && statusCode < 300) return "ok";
  if (statusCode === 429 || statusCode >= 500) return "overloaded";
  return "neutral";
}
