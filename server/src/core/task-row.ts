import type { JsonObject } from "@bufbuild/protobuf";
import { TaskState } from "../../../gen/ts/baton/v1/task_pb.js";
import type { ContractSubject } from "./contract.js";
import type { RetryPolicy } from "./failure-rules.js";

export type TaskStateName = "pending" | "claimed" | "completed" | "dead_letter" | "cancelled";
export type AttemptOutcomeName = "running" | "completed" | "failed" | "lease_expired" | "timed_out" | "cancelled";

/** A stored task error (TaskError as JSON). */
export interface StoredError {
  type: string;
  message: string;
  nonRetryable: boolean;
  details?: JsonObject;
}

/**
 * A baton_tasks row. Timestamps arrive as Date from queries and as ISO strings
 * from event snapshots (to_jsonb), bigints as strings or numbers: readers go
 * through the converters in task-message.ts, which accept both.
 */
export interface TaskRow {
  id: string;
  namespace: string;
  queue: string;
  type: string;
  payload: JsonObject;
  priority: number;
  state: TaskStateName;
  attempt: number;
  attempt_base: number;
  max_attempts: number;
  retry_policy: RetryPolicy;
  schedule_to_start_ms: string | number | null;
  start_to_close_ms: string | number;
  heartbeat_ms: string | number;
  scheduled_at: Date | string;
  lease_id: string | null;
  lease_worker_id: string | null;
  lease_started_at: Date | string | null;
  lease_expires_at: Date | string | null;
  result: JsonObject | null;
  last_error: StoredError | null;
  idempotency_key: string | null;
  request_hash: string | null;
  labels: Record<string, string>;
  trace_id: string;
  parent_id: string;
  cancel_requested: boolean;
  terminal_reason: string;
  created_at: Date | string;
  updated_at: Date | string;
}

export interface AttemptRow {
  task_id: string;
  attempt: number;
  worker_id: string;
  lease_id: string;
  started_at: Date;
  ended_at: Date | null;
  outcome: AttemptOutcomeName;
  error: StoredError | null;
}

/** A baton_task_events row: the task as it was when the event happened. */
export interface EventRow {
  cursor: string;
  type: string;
  snapshot: TaskRow;
  created_at: Date;
}

/** The protocol state of each stored state name. */
export const stateByName: Record<TaskStateName, TaskState> = {
  pending: TaskState.PENDING,
  claimed: TaskState.CLAIMED,
  completed: TaskState.COMPLETED,
  dead_letter: TaskState.DEAD_LETTER,
  cancelled: TaskState.CANCELLED,
};

/** What a task's contract is computed from, read off its row. */
export function contractSubjectFromRow(row: TaskRow): ContractSubject {
  return {
    id: row.id,
    state: stateByName[row.state],
    queue: row.queue,
    lease: undefined,
    cancelRequested: row.cancel_requested,
    terminalReason: row.terminal_reason,
  };
}

