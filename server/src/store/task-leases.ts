/**
 * Named queries on baton_tasks and baton_task_attempts that hold a lease: claim,
 * heartbeat, extend, complete, end an attempt, release (rules L1-L4). Lease
 * deadlines (L2) are computed here, in SQL, and nowhere else (core/lease.ts says why).
 */
import type { Queryable } from "./database.js";
import type { AttemptOutcomeName, AttemptRow, StoredError, TaskRow, TaskStateName } from "../core/task-row.js";
import type { EventTypeName } from "./tasks.js";

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
