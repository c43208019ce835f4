import { randomBytes } from "node:crypto";
import pg from "pg";
import type { Logger } from "pino";
import type { TaskEvents } from "./events.ts";

/** One channel per database: a process ignores ids it has no subscriber for, whoever sent them. */
export const TASK_CHANNEL = "vidrelay_task_changed";
/** Postgres refuses payloads of 8000 bytes or more; stay well under. */
const MAX_PAYLOAD = 7000;
const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 15_000;

/**
 * Carries task-change notifications between processes over Postgres LISTEN/NOTIFY, so a status
 * change made by a worker reaches SSE clients on every API process (and a cancel made on an API
 * process reaches the worker rendering the task) at once. One dedicated connection per process;
 * changes made in the same tick go out as one NOTIFY (`<origin>|id,id,…`), and a process skips its
 * own. Notifications are a hint, never the truth: while the connection is down they are lost, so
 * after a reconnect every subscriber re-reads its task, and SSE streams still resync now and then.
 */
export class PgTaskEventBridge {
  /** This process's tag in payloads, and in `application_name` (`vidrelay-events-<origin>`). */
  readonly origin = randomBytes(6).toString("hex");
  private client: pg.Client | undefined;
  private pending = new Set<string>();
  private flushing = false;
  private closed = false;
  private reconnectMs = RECONNECT_MIN_MS;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly disconnect: () => void;

  private constructor(
    private readonly url: string,
    private readonly events: TaskEvents,
    private readonly logger: Logger,
  ) {
    this.disconnect = events.bridge((taskId) => this.publish(taskId));
  }

  /** Listen (the first connection must work: a misconfigured URL stops the start). */
  static async start(url: string, events: TaskEvents, logger: Logger): Promise<PgTaskEventBridge> {
    const bridge = new PgTaskEventBridge(url, events, logger);
    try {
      await bridge.connect();
    } catch (error) {
      bridge.disconnect();
      throw error;
    }
    return bridge;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.disconnect();
    await this.flush().catch(() => {});
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.url,
      application_name: `vidrelay-events-${this.origin}`,
    });
    client.on("error", (error) => this.lost(client, error));
    client.on("end", () => this.lost(client, new Error("connection ended")));
    client.on("notification", (message) => this.received(message.payload ?? ""));
    await client.connect();
    await client.query(`LISTEN ${TASK_CHANNEL}`);
    this.client = client;
    this.reconnectMs = RECONNECT_MIN_MS;
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client !== client || this.closed) return;
    this.client = undefined;
    client.end().catch(() => {});
    this.logger.warn({ err: error }, "task notifications: lost the Postgres connection; reconnecting");
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed) return;
    this.reconnectTimer = setTimeout(() => {
      this.connect().then(
        () => {
          this.logger.info("task notifications: reconnected");
          // What changed while we were away was not heard: let every subscriber look again.
          this.events.resyncAll();
        },
        (error) => {
          this.logger.warn({ err: error }, "task notifications: reconnect failed");
          this.reconnectMs = Math.min(this.reconnectMs * 2, RECONNECT_MAX_MS);
          this.scheduleReconnect();
        },
      );
    }, this.reconnectMs);
    this.reconnectTimer.unref();
  }

  private received(payload: string): void {
    const bar = payload.indexOf("|");
    if (bar < 0 || payload.slice(0, bar) === this.origin) return;
    for (const taskId of payload.slice(bar + 1).split(",")) if (taskId) this.events.changedElsewhere(taskId);
  }

  private publish(taskId: string): void {
    this.pending.add(taskId);
    if (this.pending.size === 1 && !this.flushing) setImmediate(() => void this.flush());
  }

  /** Send what is pending: one NOTIFY per ~7 KB of ids. A failure drops them (they are hints). */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.pending.size > 0) {
        const ids = [...this.pending];
        this.pending = new Set();
        const client = this.client;
        if (!client) return;
        const payloads: string[] = [];
        let current = `${this.origin}|`;
        for (const id of ids) {
          if (current.length + id.length + 1 > MAX_PAYLOAD) {
            payloads.push(current);
            current = `${this.origin}|`;
          }
          current += current.endsWith("|") ? id : `,${id}`;
        }
        payloads.push(current);
        try {
          await client.query("select pg_notify($1, p) from unnest($2::text[]) as p", [
            TASK_CHANNEL,
            payloads,
          ]);
        } catch (error) {
          this.logger.warn({ err: error }, "task notifications: NOTIFY failed");
        }
      }
    } finally {
      this.flushing = false;
    }
  }
}
