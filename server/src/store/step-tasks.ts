/** Named queries on baton_tasks that serve workflow steps: reading step tasks, cancelling a run's tasks. */
import type { Queryable } from "./database.js";
import type { AttemptRow, TaskRow } from "../core/task-row.js";

export async function stepTasksGet(sql: Queryable, taskIds: string[]): Promise<TaskRow[]> {
  if (taskIds.length === 0) return [];
  return sql<TaskRow[]>`SELECT * FROM baton_tasks WHERE id = ANY(${taskIds}::uuid[])`;
}

/** StepAttemptsGet: the attempts of a run's step tasks, oldest first. */
export async function stepAttemptsGet(sql: Queryable, taskIds: string[]): Promise<AttemptRow[]> {
  if (taskIds.length === 0) return [];
  return sql<AttemptRow[]>`SELECT * FROM baton_task_attempts WHERE task_id = ANY(${taskIds}::uuid[]) ORDER BY task_id, attempt`;
}

/**
 * TaskCancelForRun: cancels step tasks as CancelTask does (pending → cancelled,
 * claimed → cancel_requested), with their task events, skipping rows another
 * transaction holds: whoever holds a run lock never waits on a task row.
 * Returns the tasks it changed; the others were locked, or already ended or flagged.
 */
export async function taskCancelForRun(
  sql: Queryable,
  taskIds: string[],
  reason: string,
): Promise<{ id: string; outcome: "cancelled" | "flagged"; lease_id: string | null }[]> {
  if (taskIds.length === 0) return [];
  return sql<{ id: string; outcome: "cancelled" | "flagged"; lease_id: string | null }[]>`
    WITH target AS (
      SELECT id FROM baton_tasks WHERE id = ANY(${taskIds}::uuid[]) FOR UPDATE SKIP LOCKED
    ), cancelled AS (
      UPDATE baton_tasks t SET state = 'cancelled', terminal_reason = ${reason}, updated_at = now()
      FROM target WHERE t.id = target.id AND t.state = 'pending'
      RETURNING t.*
    ), flagged AS (
      UPDATE baton_tasks t SET cancel_requested = true, terminal_reason = ${reason}, updated_at = now()
      FROM target WHERE t.id = target.id AND t.state = 'claimed' AND NOT t.cancel_requested
      RETURNING t.*
    ), events AS (
      INSERT INTO baton_task_events (namespace, task_id, queue, task_type, type, snapshot, created_at)
      SELECT namespace, id, queue, type, 'cancelled', to_jsonb(cancelled), now() FROM cancelled
      UNION ALL
      SELECT namespace, id, queue, type, 'cancel_requested', to_jsonb(flagged), now() FROM flagged
    )
    SELECT id, 'cancelled' AS outcome, lease_id FROM cancelled
    UNION ALL
    SELECT id, 'flagged' AS outcome, lease_id FROM flagged`;
}

/** TaskCancelDone: which of the tasks need no cancelling any more (ended, or flagged). */
export async function taskCancelDone(sql: Queryable, taskIds: string[]): Promise<string[]> {
  if (taskIds.length === 0) return [];
  const rows = await sql<{ id: string }[]>`
    SELECT id FROM baton_tasks
    WHERE id = ANY(${taskIds}::uuid[]) AND (state IN ('completed', 'dead_letter', 'cancelled') OR cancel_requested)`;
  return rows.map((r) => r.id);
}
