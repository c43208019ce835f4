import { EventEmitter } from "node:events";

/**
 * In-process notifications that a task changed (status or progress). SSE streams subscribe here
 * for instant updates and also re-read the store periodically, so changes made by another
 * process still arrive.
 */
export class TaskEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  changed(taskId: string): void {
    this.emitter.emit(taskId);
  }

  subscribe(taskId: string, listener: () => void): () => void {
    this.emitter.on(taskId, listener);
    return () => this.emitter.off(taskId, listener);
  }
}
