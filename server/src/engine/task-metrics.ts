import type { AttemptOutcomeName, TaskRow } from "../core/task-row.js";

/**
 * What the engine reports after each commit that changed tasks, for metrics
 * (server/src/http/metrics.ts implements it). Every method is called after the
 * commit, never inside a transaction, and must not throw.
 */
export interface TaskMetrics {
  /** Tasks newly inserted (idempotent replays are not new). */
  created(tasks: readonly TaskRow[]): void;
  /** Leases granted, to unary claimers and to stream workers alike; rows as claimed. */
  claimed(tasks: readonly TaskRow[]): void;
  /**
   * An attempt ended: completed, failed, or its lease expired. `task` is the row
   * after the change (its state says retry, dead letter, cancelled or completed);
   * `startedAt` is when the attempt began.
   */
  attemptEnded(task: TaskRow, outcome: AttemptOutcomeName, startedAt: Date | string | null): void;
  /** Pending tasks dead-lettered because no worker started them in time (T7). */
  deadLetteredUnstarted(tasks: readonly TaskRow[]): void;
}
