import type { Result } from "../../../gen/ts/baton/v1/worker_pb.js";
import type { Task } from "../../../gen/ts/baton/v1/task_pb.js";

export interface OutboxEntry {
  result: Result;
  /** The task the result is for, for events and logs. */
  task: Task;
  /** True once sent on the current connection. */
  sent: boolean;
}

function key(taskId: string, leaseId: string): string {
  return `${taskId}\u0000${leaseId}`;
}

/**
 * Results waiting for their Ack. A result is kept until the server answers
 * it (R2) however many connections that takes: resent once per new
 * connection (R3), never twice on the same one, and forgotten after an Ack
 * either way, since a refused result must not be resent (R4).
 */
export class Outbox {
  readonly #entries = new Map<string, OutboxEntry>();
  #emptyWaiters: Array<() => void> = [];

  get size(): number {
    return this.#entries.size;
  }

  has(taskId: string, leaseId: string): boolean {
    return this.#entries.has(key(taskId, leaseId));
  }

  /** Keeps the first result for a lease: an attempt has exactly one outcome. */
  put(result: Result, task: Task): boolean {
    const k = key(result.taskId, result.leaseId);
    if (this.#entries.has(k)) return false;
    this.#entries.set(k, { result, task, sent: false });
    return true;
  }

  /**
   * Sends every entry not yet sent on this connection, oldest first. `send`
   * returns false when the connection cannot take it; the entry stays unsent.
   */
  flush(send: (result: Result) => boolean): number {
    let n = 0;
    for (const entry of this.#entries.values()) {
      if (entry.sent) continue;
      if (!send(entry.result)) break;
      entry.sent = true;
      n++;
    }
    return n;
  }

  /** The connection is gone: everything unacknowledged goes out again on the next one (R3). */
  connectionLost(): void {
    for (const entry of this.#entries.values()) entry.sent = false;
  }

  /** Removes the entry the Ack answers, accepted or not (R4); undefined for an Ack of nothing kept here. */
  ack(taskId: string, leaseId: string): OutboxEntry | undefined {
    return this.#take(taskId, leaseId);
  }

  /** Forgets a result that must not be sent (its lease is lost, B2). */
  drop(taskId: string, leaseId: string): OutboxEntry | undefined {
    return this.#take(taskId, leaseId);
  }

  entries(): OutboxEntry[] {
    return [...this.#entries.values()];
  }

  /** Resolves when no result awaits an Ack. */
  whenEmpty(): Promise<void> {
    if (this.#entries.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#emptyWaiters.push(resolve));
  }

  #take(taskId: string, leaseId: string): OutboxEntry | undefined {
    const k = key(taskId, leaseId);
    const entry = this.#entries.get(k);
    if (!entry) return undefined;
    this.#entries.delete(k);
    if (this.#entries.size === 0) {
      const waiters = this.#emptyWaiters;
      this.#emptyWaiters = [];
      for (const w of waiters) w();
    }
    return entry;
  }
}
