/** Named queries on baton_task_events, the outbox behind WatchTasks. */
import type { Queryable } from "./database.js";
import type { TaskRow } from "./task-row.js";

export interface EventRow {
  cursor: string;
  type: string;
  snapshot: TaskRow;
  created_at: Date;
}

export interface EventFilter {
  namespace: string;
  queue: string;
  taskType: string;
  taskId: string | null;
}

/**
 * EventListAfter: settled events after a cursor, in cursor order. An event is
 * settled when its cursor is below the horizon: every transaction that could
 * still write a smaller cursor has ended (migrations/004_event_cursors.sql).
 */
export async function eventListAfter(sql: Queryable, f: EventFilter, after: bigint, limit: number): Promise<EventRow[]> {
  return sql<EventRow[]>`
    SELECT e.cursor::text AS cursor, e.type, e.snapshot, e.created_at FROM baton_task_events e
    WHERE e.cursor > ${after.toString()}::bigint
      AND e.cursor < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 24)
      AND namespace = ${f.namespace}
      AND (${f.queue} = '' OR queue = ${f.queue})
      AND (${f.taskType} = '' OR task_type = ${f.taskType})
      AND (${f.taskId}::uuid IS NULL OR task_id = ${f.taskId}::uuid)
    -- e.cursor, not the text alias: cursors must sort as numbers.
    ORDER BY e.cursor
    LIMIT ${limit}`;
}

/** EventMaxCursor: the highest settled cursor (0 when none): where a watch that starts now begins. */
export async function eventMaxCursor(sql: Queryable): Promise<bigint> {
  const rows = await sql<{ max: string | null }[]>`
    SELECT max(cursor)::text AS max FROM baton_task_events
    WHERE cursor < (pg_snapshot_xmin(pg_current_snapshot())::text::bigint << 24)`;
  return BigInt(rows[0]?.max ?? "0");
}
