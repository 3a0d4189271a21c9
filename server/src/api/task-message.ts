/** Converts stored rows to protocol messages. */
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  AttemptOutcome,
  AttemptSchema,
  LeaseSchema,
  RetryPolicySchema,
  TaskErrorSchema,
  TaskEventSchema,
  TaskEventType,
  TaskSchema,
  TaskState,
  TaskTimeoutsSchema,
  type Task,
  type TaskError,
  type TaskEvent,
} from "../../../gen/ts/baton/v1/task_pb.js";
import { stateByName, type AttemptOutcomeName, type AttemptRow, type EventRow, type StoredError, type TaskStateName, type TaskRow } from "../core/task-row.js";


export const stateNameOf: Partial<Record<TaskState, TaskStateName>> = Object.fromEntries(
  Object.entries(stateByName).map(([name, state]) => [state, name as TaskStateName]),
);

const outcomeByName: Record<AttemptOutcomeName, AttemptOutcome> = {
  running: AttemptOutcome.RUNNING,
  completed: AttemptOutcome.COMPLETED,
  failed: AttemptOutcome.FAILED,
  lease_expired: AttemptOutcome.LEASE_EXPIRED,
  timed_out: AttemptOutcome.TIMED_OUT,
  cancelled: AttemptOutcome.CANCELLED,
};

const eventTypeByName: Record<string, TaskEventType> = {
  created: TaskEventType.CREATED,
  claimed: TaskEventType.CLAIMED,
  cancel_requested: TaskEventType.CANCEL_REQUESTED,
  completed: TaskEventType.COMPLETED,
  retry_scheduled: TaskEventType.RETRY_SCHEDULED,
  dead_lettered: TaskEventType.DEAD_LETTERED,
  cancelled: TaskEventType.CANCELLED,
  requeued: TaskEventType.REQUEUED,
  lease_expired: TaskEventType.LEASE_EXPIRED,
  released: TaskEventType.RELEASED,
};

/** Rows from queries carry Date; snapshots from to_jsonb carry ISO strings. */
function ts(value: Date | string): Timestamp {
  return timestampFromDate(value instanceof Date ? value : new Date(value));
}

/** What a task's contract needs, straight from the row: an Ack answers without converting the whole task. */
export function taskErrorFromStored(e: StoredError): TaskError {
  return create(TaskErrorSchema, { type: e.type, message: e.message, nonRetryable: e.nonRetryable, details: e.details });
}

export interface TaskFromRowOptions {
  /**
   * True only for a message sent to the worker that holds the row's lease
   * (ClaimTasks, Assign). Anyone else gets `lease.lease_id` as the empty string
   * (L5): it is the secret half of the fencing token (L1), and a reader who had
   * it could heartbeat, complete or fail a task another worker is running.
   * Redacting is the default so a new read path cannot leak it by omission.
   */
  forLeaseHolder?: boolean;
}

export function taskFromRow(row: TaskRow, attempts: AttemptRow[] = [], opts: TaskFromRowOptions = {}): Task {
  const scheduleToStart = row.schedule_to_start_ms === null ? undefined : durationFromMs(Number(row.schedule_to_start_ms));
  return create(TaskSchema, {
    id: row.id,
    namespace: row.namespace,
    queue: row.queue,
    type: row.type,
    payload: row.payload,
    priority: row.priority,
    state: stateByName[row.state],
    attempt: row.attempt,
    maxAttempts: row.max_attempts,
    retryPolicy: create(RetryPolicySchema, {
      initialBackoff: durationFromMs(row.retry_policy.initialBackoffMs),
      multiplier: row.retry_policy.multiplier,
      maxBackoff: durationFromMs(row.retry_policy.maxBackoffMs),
      jitter: row.retry_policy.jitter,
      nonRetryableErrorTypes: row.retry_policy.nonRetryableErrorTypes,
    }),
    timeouts: create(TaskTimeoutsSchema, {
      scheduleToStartTimeout: scheduleToStart,
      startToCloseTimeout: durationFromMs(Number(row.start_to_close_ms)),
      heartbeatTimeout: durationFromMs(Number(row.heartbeat_ms)),
    }),
    scheduledTime: ts(row.scheduled_at),
    lease:
      row.lease_id === null
        ? undefined
        : create(LeaseSchema, {
            leaseId: opts.forLeaseHolder ? row.lease_id : "",
            attempt: row.attempt,
            workerId: row.lease_worker_id ?? "",
            expireTime: ts(row.lease_expires_at as Date | string),
            startTime: ts(row.lease_started_at as Date | string),
          }),
    result: row.result ?? undefined,
    lastError: row.last_error === null ? undefined : taskErrorFromStored(row.last_error),
    idempotencyKey: row.idempotency_key ?? "",
    labels: row.labels,
    traceId: row.trace_id,
    parentId: row.parent_id,
    cancelRequested: row.cancel_requested,
    createTime: ts(row.created_at),
    updateTime: ts(row.updated_at),
    attempts: attempts.map((a) =>
      create(AttemptSchema, {
        attempt: a.attempt,
        workerId: a.worker_id,
        startTime: ts(a.started_at),
        endTime: a.ended_at === null ? undefined : ts(a.ended_at),
        outcome: outcomeByName[a.outcome],
        error: a.error === null ? undefined : taskErrorFromStored(a.error),
      }),
    ),
    terminalReason: row.terminal_reason,
  });
}

export function taskEventFromRow(row: EventRow): TaskEvent {
  return create(TaskEventSchema, {
    cursor: BigInt(row.cursor),
    type: eventTypeByName[row.type] ?? TaskEventType.UNSPECIFIED,
    task: taskFromRow(row.snapshot),
    time: ts(row.created_at),
  });
}
