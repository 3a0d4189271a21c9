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
import type { AttemptOutcomeName, AttemptRow, StoredError, TaskRow, TaskStateName } from "../core/task-row.js";
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

export interface ClaimParams {
  namespace: string;
  queue: string;
  types: string[];
  workerId: string;
  limit: number;
}

/**
 * TaskClaim: one statement picks claimable tasks in priority, then scheduled-time
 * order with FOR UPDATE SKIP LOCKED (so concurrent claimers never block on or
 * take the same row), leases them, opens their attempt rows and writes events.
 */
export async function taskClaim(sql: Queryable, p: ClaimParams): Promise<TaskRow[]> {
  return sql<TaskRow[]>`
    WITH picked AS (
      SELECT id FROM baton_tasks
      WHERE state = 'pending' AND namespace = ${p.namespace} AND queue = ${p.queue}
        AND scheduled_at <= now()
        AND (cardinality(${p.types}::text[]) = 0 OR type = ANY(${p.types}::text[]))
      ORDER BY priority DESC, scheduled_at, id
      LIMIT ${p.limit}
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE baton_tasks t SET
        state = 'claimed',
        attempt = t.attempt + 1,
        lease_id = gen_random_uuid(),
        lease_worker_id = ${p.workerId},
        lease_started_at = now(),
        lease_expires_at = now() + least(t.heartbeat_ms, t.start_to_close_ms) * interval '1 millisecond',
        updated_at = now()
      FROM picked WHERE t.id = picked.id
      RETURNING t.*
    ), attempts AS (
      INSERT INTO baton_task_attempts (task_id, attempt, worker_id, lease_id, started_at, outcome)
      SELECT id, attempt, lease_worker_id, lease_id, lease_started_at, 'running' FROM claimed
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, 'claimed', to_jsonb(claimed), now() FROM claimed
    )
    SELECT * FROM claimed ORDER BY priority DESC, scheduled_at, id`;
}

/**
 * TaskHeartbeat: renews a live lease (L2). Returns nothing when the lease is not
 * the task's current, unexpired lease (L1).
 */
export async function taskHeartbeat(
  sql: Queryable,
  id: string,
  leaseId: string,
): Promise<{ lease_expires_at: Date; cancel_requested: boolean; state: TaskStateName } | undefined> {
  const rows = await sql<{ lease_expires_at: Date; cancel_requested: boolean; state: TaskStateName }[]>`
    UPDATE baton_tasks SET
      lease_expires_at = least(now() + heartbeat_ms * interval '1 millisecond',
                               lease_started_at + start_to_close_ms * interval '1 millisecond')
    WHERE id = ${id} AND state = 'claimed' AND lease_id = ${leaseId} AND lease_expires_at > now()
    RETURNING lease_expires_at, cancel_requested, state`;
  return rows[0];
}

/**
 * TaskComplete: completes the attempt of a live lease (L1); nothing when the lease
 * is not current. `attempt_started_at` is when the completed attempt began (metrics).
 * `runSteps` true/false limits it to tasks that are (not) workflow steps (
 * a step completes inside a transaction with its run; others stay one statement).
 */
export async function taskComplete(
  sql: Queryable,
  id: string,
  leaseId: string,
  result: object,
  runSteps: boolean | null = null,
): Promise<(TaskRow & { attempt_started_at: Date }) | undefined> {
  const rows = await sql<(TaskRow & { attempt_started_at: Date })[]>`
    WITH done AS (
      UPDATE baton_tasks SET
        state = 'completed', result = ${sql.json(result as never)},
        lease_id = NULL, lease_worker_id = NULL, lease_started_at = NULL, lease_expires_at = NULL,
        terminal_reason = '', updated_at = now()
      WHERE id = ${id} AND state = 'claimed' AND lease_id = ${leaseId} AND lease_expires_at > now()
        AND NOT cancel_requested
        AND (${runSteps}::boolean IS NULL OR (labels ? 'baton.run') = ${runSteps}::boolean)
      RETURNING *
    ), attempt AS (
      UPDATE baton_task_attempts a SET ended_at = now(), outcome = 'completed'
      FROM done WHERE a.task_id = done.id AND a.attempt = done.attempt
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, 'completed', to_jsonb(done), now() FROM done
    )
    SELECT done.*, a.started_at AS attempt_started_at FROM done
    JOIN baton_task_attempts a ON a.task_id = done.id AND a.attempt = done.attempt`;
  return rows[0];
}

/**
 * TaskCompleteMany: TaskComplete for many leases in one statement, each fenced on
 * its own (L1). Returns the rows it completed; a lease that matched nothing is
 * absent. Callers pass each task at most once and sorted by id, so two such
 * statements take their row locks in the same order.
 */
export async function taskCompleteMany(
  sql: Queryable,
  items: { id: string; leaseId: string; result: object }[],
  runSteps: boolean | null = null,
): Promise<(TaskRow & { attempt_started_at: Date })[]> {
  return sql<(TaskRow & { attempt_started_at: Date })[]>`
    WITH input AS (
      SELECT * FROM unnest(
        ${items.map((i) => i.id)}::uuid[], ${items.map((i) => i.leaseId)}::uuid[], ${items.map((i) => JSON.stringify(i.result))}::text[]::jsonb[]
      ) AS x(id, lease_id, result)
    ), done AS (
      UPDATE baton_tasks t SET
        state = 'completed', result = input.result,
        lease_id = NULL, lease_worker_id = NULL, lease_started_at = NULL, lease_expires_at = NULL,
        terminal_reason = '', updated_at = now()
      FROM input
      WHERE t.id = input.id AND t.state = 'claimed' AND t.lease_id = input.lease_id AND t.lease_expires_at > now()
        AND NOT t.cancel_requested
        AND (${runSteps}::boolean IS NULL OR (t.labels ? 'baton.run') = ${runSteps}::boolean)
      RETURNING t.*
    ), attempt AS (
      UPDATE baton_task_attempts a SET ended_at = now(), outcome = 'completed'
      FROM done WHERE a.task_id = done.id AND a.attempt = done.attempt
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, 'completed', to_jsonb(done), now() FROM done ORDER BY id
    )
    SELECT done.*, a.started_at AS attempt_started_at FROM done
    JOIN baton_task_attempts a ON a.task_id = done.id AND a.attempt = done.attempt`;
}

/** AttemptGetByLease: the attempt a lease belonged to (to recognise a resent result, W3). */
export async function attemptGetByLease(sql: Queryable, taskId: string, leaseId: string): Promise<AttemptRow | undefined> {
  const rows = await sql<AttemptRow[]>`
    SELECT * FROM baton_task_attempts WHERE task_id = ${taskId} AND lease_id = ${leaseId}`;
  return rows[0];
}

export interface AttemptEnd {
  id: string;
  attempt: number;
  outcome: AttemptOutcomeName;
  error: StoredError | null;
  state: "pending" | "dead_letter" | "cancelled";
  /** For state pending: when the retry becomes claimable. */
  scheduledAt: Date | null;
  terminalReason: string;
  event: EventTypeName;
}

/**
 * TaskEndAttempt: ends the running attempt of a task the caller has locked
 * (FailTask, lease expiry) with the state the failure rules chose.
 */
export async function taskEndAttempt(sql: Queryable, e: AttemptEnd): Promise<TaskRow> {
  const error = e.error === null ? null : sql.json(e.error as never);
  const rows = await sql<TaskRow[]>`
    WITH ended AS (
      UPDATE baton_tasks SET
        state = ${e.state},
        scheduled_at = coalesce(${e.scheduledAt}::timestamptz, scheduled_at),
        last_error = coalesce(${error}::jsonb, last_error),
        lease_id = NULL, lease_worker_id = NULL, lease_started_at = NULL, lease_expires_at = NULL,
        terminal_reason = ${e.terminalReason}, updated_at = now()
      WHERE id = ${e.id} AND state = 'claimed' AND attempt = ${e.attempt}
      RETURNING *
    ), attempt AS (
      UPDATE baton_task_attempts a SET ended_at = now(), outcome = ${e.outcome}, error = ${error}::jsonb
      FROM ended WHERE a.task_id = ended.id AND a.attempt = ended.attempt
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, ${e.event}, to_jsonb(ended), now() FROM ended
    )
    SELECT * FROM ended`;
  const row = rows[0];
  if (!row) throw new Error(`task ${e.id} attempt ${e.attempt} was not claimed: the caller must hold the row lock`);
  return row;
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

export interface LeaseRenewal {
  task_id: string;
  lease_id: string;
  lease_expires_at: Date;
  cancel_requested: boolean;
  terminal_reason: string;
}

/**
 * TaskHeartbeatMany: renews every listed lease that is current (L2) in one
 * statement; a lease missing from the answer is lost (B2).
 */
export async function taskHeartbeatMany(sql: Queryable, leases: { taskId: string; leaseId: string }[]): Promise<LeaseRenewal[]> {
  if (leases.length === 0) return [];
  return sql<LeaseRenewal[]>`
    UPDATE baton_tasks t SET
      lease_expires_at = least(now() + t.heartbeat_ms * interval '1 millisecond',
                               t.lease_started_at + t.start_to_close_ms * interval '1 millisecond')
    FROM unnest(${leases.map((l) => l.taskId)}::uuid[], ${leases.map((l) => l.leaseId)}::uuid[]) AS l(task_id, lease_id)
    WHERE t.id = l.task_id AND t.state = 'claimed' AND t.lease_id = l.lease_id AND t.lease_expires_at > now()
    RETURNING t.id AS task_id, t.lease_id, t.lease_expires_at, t.cancel_requested, t.terminal_reason`;
}

/** TaskExtendLease: moves a current lease's deadline to now + extendMs, capped at start-to-close (E1). */
export async function taskExtendLease(sql: Queryable, id: string, leaseId: string, extendMs: number): Promise<Date | undefined> {
  const rows = await sql<{ lease_expires_at: Date }[]>`
    UPDATE baton_tasks SET
      lease_expires_at = least(now() + ${extendMs} * interval '1 millisecond',
                               lease_started_at + start_to_close_ms * interval '1 millisecond')
    WHERE id = ${id} AND state = 'claimed' AND lease_id = ${leaseId} AND lease_expires_at > now()
    RETURNING lease_expires_at`;
  return rows[0]?.lease_expires_at;
}

/** TaskLeasesCurrent: which of the listed leases are still current (a Listen session's slots, N2 resume). */
export async function taskLeasesCurrent(sql: Queryable, leases: { taskId: string; leaseId: string }[]): Promise<{ task_id: string; lease_id: string }[]> {
  if (leases.length === 0) return [];
  return sql<{ task_id: string; lease_id: string }[]>`
    SELECT t.id AS task_id, t.lease_id FROM baton_tasks t
    JOIN unnest(${leases.map((l) => l.taskId)}::uuid[], ${leases.map((l) => l.leaseId)}::uuid[]) AS l(task_id, lease_id)
      ON t.id = l.task_id AND t.lease_id = l.lease_id
    WHERE t.state = 'claimed' AND t.lease_expires_at > now()`;
}

/**
 * TaskReleaseUnstarted: gives back tasks claimed for a session that drained or
 * closed before they could be sent (G2). Nothing ran, so the claim is undone as
 * if it never happened: the attempt row goes, the attempt count goes back, and
 * the task is claimable again at once.
 */
export async function taskReleaseUnstarted(sql: Queryable, leases: { taskId: string; leaseId: string }[]): Promise<TaskRow[]> {
  if (leases.length === 0) return [];
  return sql<TaskRow[]>`
    WITH released AS (
      UPDATE baton_tasks t SET state = 'pending', attempt = t.attempt - 1,
        lease_id = NULL, lease_worker_id = NULL, lease_started_at = NULL, lease_expires_at = NULL, updated_at = now()
      FROM unnest(${leases.map((l) => l.taskId)}::uuid[], ${leases.map((l) => l.leaseId)}::uuid[]) AS l(task_id, lease_id)
      WHERE t.id = l.task_id AND t.state = 'claimed' AND t.lease_id = l.lease_id
      RETURNING t.*
    ), attempts AS (
      DELETE FROM baton_task_attempts a USING released
      WHERE a.task_id = released.id AND a.attempt = released.attempt + 1
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, 'released', to_jsonb(released), now() FROM released
    )
    SELECT * FROM released`;
}
