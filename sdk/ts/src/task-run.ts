import type { Task } from "../../../gen/ts/baton/v1/task_pb.js";
import { TaskAbortedError, type AbortCause } from "./errors.js";

/** What a handler gets besides the task. */
export interface TaskContext {
  readonly task: Task;
  /** 1-based attempt number of this run (T3). */
  readonly attempt: number;
  /**
   * Aborted when the task is cancelled, its lease is lost, or the worker's
   * shutdown grace runs out; `signal.reason` is a TaskAbortedError saying which.
   */
  readonly signal: AbortSignal;
  /** Renews the lease now, on top of the automatic heartbeats. */
  heartbeat(): Promise<void>;
  /** Moves the lease deadline to now + `ms` (E1); resolves with the new deadline. */
  extendLease(ms: number): Promise<Date>;
}

/**
 * Returns the task's result: a JSON-serialisable object (JSON round trip
 * applies, so Dates become strings); nothing means `{}`. Throws to fail.
 */
export type Handler = (task: Task, ctx: TaskContext) => Promise<object | void> | object | void;

/**
 * One attempt held by this worker, from Assign until its single outcome is
 * decided. `done` marks that decision (a Result was queued, or none will be
 * sent because the lease is gone); `settled` marks the handler's promise
 * ending, which may come later when a handler ignores its signal.
 */
export class TaskRun {
  readonly task: Task;
  readonly leaseId: string;
  readonly controller = new AbortController();
  started = false;
  settled = false;
  done = false;
  /** Set by a Cancel: whatever the handler does now, the outcome is a `cancelled` failure (X2). */
  cancelReason: string | undefined;
  /** Set when shutdown cut the handler off: the outcome is a `worker_shutdown` failure. */
  shutdown = false;
  cancelTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(task: Task) {
    this.task = task;
    this.leaseId = task.lease?.leaseId ?? "";
  }

  get attempt(): number {
    return this.task.lease?.attempt || this.task.attempt;
  }

  abort(why: AbortCause, message: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(new TaskAbortedError(why, message));
  }
}
