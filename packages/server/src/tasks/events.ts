import { EventEmitter } from "node:events";

/**
 * Notifications that a task changed (status or progress). SSE streams and running renders
 * subscribe here. Within a process they are instant; across processes a bridge carries them (on
 * Postgres, `PgTaskEventBridge` over LISTEN/NOTIFY), and subscribers that cannot count on one also
 * re-read the store periodically (see `crossProcess`).
 */
export class TaskEvents {
  private readonly emitter = new EventEmitter();
  private outbound: ((taskId: string) => void) | undefined;

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  /** Whether changes made by other processes reach this one (a bridge is connected). */
  get crossProcess(): boolean {
    return this.outbound !== undefined;
  }

  /** A change made here (after its transaction committed): tell local subscribers and the peers. */
  changed(taskId: string): void {
    this.emitter.emit(taskId);
    this.outbound?.(taskId);
  }

  /** A change another process made: tell local subscribers only. */
  changedElsewhere(taskId: string): void {
    this.emitter.emit(taskId);
  }

  /** Every subscriber re-reads its task (e.g. after the bridge lost notifications while reconnecting). */
  resyncAll(): void {
    for (const taskId of this.emitter.eventNames()) this.emitter.emit(taskId);
  }

  /** Connect a bridge to the other processes; returns the disconnect. */
  bridge(outbound: (taskId: string) => void): () => void {
    this.outbound = outbound;
    return () => {
      if (this.outbound === outbound) this.outbound = undefined;
    };
  }

  subscribe(taskId: string, listener: () => void): () => void {
    this.emitter.on(taskId, listener);
    return () => this.emitter.off(taskId, listener);
  }
}
