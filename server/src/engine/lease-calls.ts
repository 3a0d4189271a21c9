import { ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { decideAfterFailure, type FailureDecision } from "../core/failure-rules.js";
import { batonError, leaseStale, taskNotFound } from "../core/errors.js";
import { taskAction } from "../core/contract.js";
import { attemptGetByLease, taskEndAttempt, taskHeartbeat } from "../store/task-leases.js";
import { taskGetById, taskGetByIdForUpdate, type EventTypeName } from "../store/tasks.js";
import type { StoredError, TaskRow } from "../core/task-row.js";
import type { Queryable } from "../store/database.js";
import { announce, type Engine } from "./engine.js";
import { afterTaskTransitions, completeStepTask, WorkflowEffects } from "./workflow-hooks.js";

/** Heartbeat (L2): the new deadline and whether cancellation was requested. */
export async function heartbeat(engine: Engine, taskId: string, leaseId: string) {
  const renewed = await taskHeartbeat(engine.sql, taskId, leaseId);
  if (renewed) return renewed;
  throw await rejection(engine.sql, taskId);
}

/** CompleteTask; a resend of an accepted result returns the completed task (W3). */
export async function complete(engine: Engine, taskId: string, leaseId: string, result: object): Promise<TaskRow> {
  const row = (await engine.completions.complete(taskId, leaseId, result)) ?? (await completeStepTask(engine, taskId, leaseId, result)); // workflows: a workflow step completes in one transaction with its run (D7)
  if (row) {
    announce(engine);
    engine.metrics?.attemptEnded(row, "completed", row.attempt_started_at);
    return row;
  }
  const attempt = await attemptGetByLease(engine.sql, taskId, leaseId);
  if (attempt?.outcome === "completed") {
    const task = await taskGetById(engine.sql, taskId);
    if (task) return task;
  }
  throw await rejection(engine.sql, taskId, leaseId);
}

/** FailTask: the failure rules pick retry, dead letter or cancelled; a resent failure is answered the same way. */
export async function fail(engine: Engine, taskId: string, leaseId: string, error: StoredError, retryAfterMs: number): Promise<TaskRow> {
  const workflow = new WorkflowEffects();
  const outcome = await engine.sql.begin(async (tx) => {
    const row = await taskGetByIdForUpdate(tx, taskId);
    if (!row) return { rejected: true as const };
    const live = row.state === "claimed" && row.lease_id === leaseId && new Date(row.lease_expires_at as Date) > row.db_now;
    if (!live) {
      // R3/W3: a resend of an accepted failure (same lease, same error type) is accepted
      // again and changes nothing, even after the retry was claimed by another worker;
      // the answer then leaves out that worker's lease (L1). Anything else is stale.
      // (The chaos suite found resends refused LEASE_STALE once the retry had started.)
      const attempt = await attemptGetByLease(tx, taskId, leaseId);
      const resent =
        attempt !== undefined && (attempt.outcome === "failed" || attempt.outcome === "cancelled") && attempt.error?.type === error.type;
      if (!resent) return { rejected: true as const };
      return { row: attempt.attempt === row.attempt ? row : withoutLease(row), changed: false };
    }
    const decision = decideForRow(row, error, retryAfterMs, row.db_now.getTime());
    const ended = await endAttempt(tx, row, decision, decision.state === "cancelled" ? "cancelled" : "failed", error);
    await afterTaskTransitions(tx, [ended], workflow); // workflows: a failed step follows its on_failure (D9)
    return { row: ended, changed: true, startedAt: row.lease_started_at };
  });
  workflow.publish(engine);
  if ("rejected" in outcome) throw await rejection(engine.sql, taskId);
  if (outcome.changed) announce(engine, outcome.row.state === "pending" ? [outcome.row] : []);
  if (outcome.changed) engine.metrics?.attemptEnded(outcome.row, outcome.row.state === "cancelled" ? "cancelled" : "failed", outcome.startedAt ?? null);
  return outcome.row;
}

/** The task as another worker's lease must not be shown to a stale one. */
function withoutLease(row: TaskRow): TaskRow {
  return { ...row, lease_id: null, lease_worker_id: null, lease_started_at: null, lease_expires_at: null };
}

/** The failure rules (T4-T6, W2) applied to a stored task's failed attempt. */
export function decideForRow(row: TaskRow, error: StoredError, retryAfterMs: number, nowMs: number): FailureDecision {
  return decideAfterFailure({
    attempt: row.attempt,
    attemptBase: row.attempt_base,
    maxAttempts: row.max_attempts,
    policy: row.retry_policy,
    errorType: error.type,
    nonRetryable: error.nonRetryable,
    retryAfterMs,
    cancelRequested: row.cancel_requested,
    nowMs,
  });
}

/** Ends the running attempt of a locked, claimed task as the failure rules decided. */
export async function endAttempt(
  tx: Queryable,
  row: TaskRow,
  decision: FailureDecision,
  outcome: "failed" | "cancelled" | "lease_expired" | "timed_out",
  error: StoredError,
): Promise<TaskRow> {
  const event: EventTypeName =
    decision.state === "pending" ? (outcome === "lease_expired" || outcome === "timed_out" ? "lease_expired" : "retry_scheduled")
    : decision.state === "dead_letter" ? "dead_lettered"
    : "cancelled";
  return taskEndAttempt(tx, {
    id: row.id,
    attempt: row.attempt,
    outcome: decision.state === "cancelled" ? "cancelled" : outcome,
    error,
    state: decision.state,
    scheduledAt: decision.state === "pending" ? new Date(decision.scheduledAtMs) : null,
    terminalReason:
      decision.state === "pending" ? ""
      : decision.state === "cancelled" ? row.terminal_reason || decision.reason
      : decision.reason,
    event,
  });
}

/**
 * Why a lease call was refused: the task is unknown (S2), its cancellation was
 * requested (W2: only FailTask may end it now), or the lease is not current (L1).
 */
export async function rejection(sql: Queryable, taskId: string, leaseId?: string) {
  const task = await taskGetById(sql, taskId);
  const get = taskAction("getTask", "read the task's current state");
  if (!task) return taskNotFound(taskId, [taskAction("claimTasks", "claim another task")]);
  if (task.state === "claimed" && task.lease_id === leaseId && task.cancel_requested) {
    return batonError({
      reason: ErrorReason.CANCEL_REQUESTED,
      message: `task ${taskId} was cancelled while running: ${task.terminal_reason}`,
      resource: `task/${taskId}`,
      state: "CLAIMED",
      nextActions: [taskAction("failTask", "report the cancellation: stop the handler and call FailTask (W2)")],
      guidance: "the result is not accepted after a cancellation: stop work and call FailTask",
    });
  }
  return leaseStale(taskId, task.state.toUpperCase(), [taskAction("claimTasks", "claim another task"), get]);
}
