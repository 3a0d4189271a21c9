/**
 * Named queries on baton_tasks (with their attempt and event rows). No SQL lives
 * outside store/. Every statement that changes a task also writes its attempt
 * row and its outbox event in the same statement (rule T2), using data-modifying
 * CTEs, so each change is one round trip and one atomic unit.
 *
 * `now` parameters are optional: null means the database clock. Tests pass a
 * time to move the clock without sleeping.
 */
import type { Queryable } from "./database.js";
import type { AttemptRow, StoredError, TaskRow, TaskStateName } from "../core/task-row.js";
import type { TaskSpec } from "../core/task-spec.js";

export type EventTypeName =
  | "created"
  | "claimed"
  | "cancel_requested"
  | "completed"
  | "retry_scheduled"
  | "dead_lettered"
  | "cancelled"
  | "requeued"
  | "lease_expired"
  | "released";

export interface NewTask extends TaskSpec {
  id: string;
  requestHash: string;
}

/** TaskInsertMany: inserts tasks; rows whose idempotency key exists are skipped (the caller looks them up). */
export async function taskInsertMany(sql: Queryable, tasks: NewTask[]): Promise<TaskRow[]> {
  const records = tasks.map((t) => ({
    id: t.id,
    namespace: t.namespace,
    queue: t.queue,
    type: t.type,
    payload: t.payload,
    priority: t.priority,
    max_attempts: t.maxAttempts,
    retry_policy: t.retryPolicy,
    schedule_to_start_ms: t.scheduleToStartMs,
    start_to_close_ms: t.startToCloseMs,
    heartbeat_ms: t.heartbeatMs,
    scheduled_at: t.scheduledAtMs === null ? null : new Date(t.scheduledAtMs).toISOString(),
    idempotency_key: t.idempotencyKey,
    request_hash: t.requestHash,
    labels: t.labels,
    trace_id: t.traceId,
    parent_id: t.parentId,
  }));
  return sql<TaskRow[]>`
    WITH inserted AS (
      INSERT INTO baton_tasks (
        id, namespace, queue, type, payload, priority, state, max_attempts, retry_policy,
        schedule_to_start_ms, start_to_close_ms, heartbeat_ms, scheduled_at, idempotency_key,
        request_hash, labels, trace_id, parent_id, created_at, updated_at)
      SELECT r.id, r.namespace, r.queue, r.type, r.payload, r.priority, 'pending', r.max_attempts, r.retry_policy,
        r.schedule_to_start_ms, r.start_to_close_ms, r.heartbeat_ms, coalesce(r.scheduled_at, now()), r.idempotency_key,
        r.request_hash, r.labels, r.trace_id, r.parent_id, now(), now()
      FROM jsonb_to_recordset(${sql.json(records as never)}) AS r(
        id uuid, namespace text, queue text, type text, payload jsonb, priority integer, max_attempts integer,
        retry_policy jsonb, schedule_to_start_ms bigint, start_to_close_ms bigint, heartbeat_ms bigint,
        scheduled_at timestamptz, idempotency_key text, request_hash text, labels jsonb, trace_id text, parent_id text)
      ON CONFLICT (namespace, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
      RETURNING *
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, 'created', to_jsonb(inserted), now() FROM inserted
    )
    SELECT * FROM inserted`;
}

/** TaskGetByIdempotencyKeys */
export async function taskGetByIdempotencyKeys(sql: Queryable, namespace: string, keys: string[]): Promise<TaskRow[]> {
  return sql<TaskRow[]>`
    SELECT * FROM baton_tasks WHERE namespace = ${namespace} AND idempotency_key = ANY(${keys}::text[])`;
}

/** TaskGetById */
export async function taskGetById(sql: Queryable, id: string): Promise<TaskRow | undefined> {
  const rows = await sql<TaskRow[]>`SELECT * FROM baton_tasks WHERE id = ${id}`;
  return rows[0];
}

/** TaskGetByIdForUpdate: locks the row for the rest of the transaction; also reads the database clock. */
export async function taskGetByIdForUpdate(sql: Queryable, id: string): Promise<(TaskRow & { db_now: Date }) | undefined> {
  const rows = await sql<(TaskRow & { db_now: Date })[]>`SELECT *, now() AS db_now FROM baton_tasks WHERE id = ${id} FOR UPDATE`;
  return rows[0];
}

/** AttemptListByTask */
export async function attemptListByTask(sql: Queryable, taskId: string): Promise<AttemptRow[]> {
  return sql<AttemptRow[]>`SELECT * FROM baton_task_attempts WHERE task_id = ${taskId} ORDER BY attempt`;
}

export interface TaskListFilter {
  namespace: string;
  queue: string;
  type: string;
  states: TaskStateName[];
  afterId: string | null;
  limit: number;
}

/** TaskList: newest first, keyset-paginated by id. */
export async function taskList(sql: Queryable, f: TaskListFilter): Promise<TaskRow[]> {
  return sql<TaskRow[]>`
    SELECT * FROM baton_tasks
    WHERE namespace = ${f.namespace}
      AND (${f.queue} = '' OR queue = ${f.queue})
      AND (${f.type} = '' OR type = ${f.type})
      AND (cardinality(${f.states}::text[]) = 0 OR state = ANY(${f.states}::text[]))
      AND (${f.afterId}::uuid IS NULL OR id < ${f.afterId}::uuid)
    ORDER BY id DESC
    LIMIT ${f.limit}`;
}


/** TaskLockExpiredLeases: claimed tasks whose lease passed, locked, skipping rows another sweeper holds. */
export async function taskLockExpiredLeases(sql: Queryable, now: Date | null, limit: number): Promise<(TaskRow & { db_now: Date })[]> {
  return sql<(TaskRow & { db_now: Date })[]>`
    SELECT *, coalesce(${now}::timestamptz, now()) AS db_now FROM baton_tasks
    WHERE state = 'claimed' AND lease_expires_at <= coalesce(${now}::timestamptz, now())
    ORDER BY lease_expires_at
    LIMIT ${limit}
    FOR UPDATE SKIP LOCKED`;
}

/** TaskDeadLetterUnstarted: pending tasks past their schedule-to-start timeout go to dead letter (T7). */
export async function taskDeadLetterUnstarted(sql: Queryable, now: Date | null, limit: number): Promise<TaskRow[]> {
  const error: StoredError = {
    type: "schedule_to_start_timeout",
    message: "no worker claimed the task within its schedule_to_start_timeout",
    nonRetryable: true,
  };
  return sql<TaskRow[]>`
    WITH due AS (
      SELECT id FROM baton_tasks
      WHERE state = 'pending' AND schedule_to_start_ms IS NOT NULL
        AND scheduled_at + schedule_to_start_ms * interval '1 millisecond' <= coalesce(${now}::timestamptz, now())
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), dead AS (
      UPDATE baton_tasks t SET state = 'dead_letter', last_error = ${sql.json(error as never)},
        terminal_reason = 'not started within schedule_to_start_timeout', updated_at = now()
      FROM due WHERE t.id = due.id
      RETURNING t.*
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, 'dead_lettered', to_jsonb(dead), now() FROM dead
    )
    SELECT * FROM dead`;
}

/** TaskCancelPending: a pending task becomes cancelled at once. */
export async function taskCancelPending(sql: Queryable, id: string, reason: string): Promise<TaskRow | undefined> {
  const rows = await sql<TaskRow[]>`
    WITH cancelled AS (
      UPDATE baton_tasks SET state = 'cancelled', terminal_reason = ${reason}, updated_at = now()
      WHERE id = ${id} AND state = 'pending'
      RETURNING *
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, 'cancelled', to_jsonb(cancelled), now() FROM cancelled
    )
    SELECT * FROM cancelled`;
  return rows[0];
}

/** TaskRequestCancel: a claimed task is flagged; its worker stops and reports (W2). */
export async function taskRequestCancel(sql: Queryable, id: string, reason: string): Promise<TaskRow | undefined> {
  const rows = await sql<TaskRow[]>`
    WITH flagged AS (
      UPDATE baton_tasks SET cancel_requested = true, terminal_reason = ${reason}, updated_at = now()
      WHERE id = ${id} AND state = 'claimed' AND NOT cancel_requested
      RETURNING *
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, 'cancel_requested', to_jsonb(flagged), now() FROM flagged
    )
    SELECT * FROM flagged`;
  return rows[0];
}

/** TaskRequeue: dead_letter back to pending with a fresh attempt budget (T4). */
export async function taskRequeue(sql: Queryable, id: string, scheduledAt: Date | null): Promise<TaskRow | undefined> {
  const rows = await sql<TaskRow[]>`
    WITH requeued AS (
      UPDATE baton_tasks SET state = 'pending', attempt_base = attempt,
        scheduled_at = coalesce(${scheduledAt}::timestamptz, now()),
        cancel_requested = false, terminal_reason = '', updated_at = now()
      WHERE id = ${id} AND state = 'dead_letter'
      RETURNING *
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, 'requeued', to_jsonb(requeued), now() FROM requeued
    )
    SELECT * FROM requeued`;
  return rows[0];
}

/** TaskNextScheduledAt: when the next not-yet-due pending task of a queue becomes claimable. */
export async function taskNextScheduledAt(sql: Queryable, namespace: string, queue: string): Promise<Date | undefined> {
  const rows = await sql<{ scheduled_at: Date | null }[]>`
    SELECT min(scheduled_at) AS scheduled_at FROM baton_tasks
    WHERE state = 'pending' AND namespace = ${namespace} AND queue = ${queue} AND scheduled_at > now()`;
  return rows[0]?.scheduled_at ?? undefined;
}
