/** Named queries on baton_task_events, the outbox behind WatchTasks. */
import type postgres from "postgres";
import type { Queryable } from "./database.js";
import type { EventRow } from "../core/task-row.js";

/** Serialises sequencers across replicas (see the migration's comment on the outbox). */
const SEQUENCER_LOCK = 0x62617431; // "bat1"

/**
 * EventSequence: stamps committed, unsequenced events with increasing cursors,
 * oldest first. Returns the highest cursor stamped, or undefined when none was
 * waiting. Safe to call from every replica at any time.
 */
export async function eventSequence(sql: postgres.Sql, batch = 5000): Promise<bigint | undefined> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${SEQUENCER_LOCK})`;
    // nextval() runs in the numbered CTE, after its sort (a volatile target list is
    // evaluated after ORDER BY), so cursors follow id order. Calling it in the
    // UPDATE instead numbers rows in join order, which for a hash join is heap order:
    // two events committed one after the other could get their cursors swapped.
    const rows = await tx<{ max: string | null }[]>`
      WITH waiting AS (
        SELECT id FROM baton_task_events WHERE cursor IS NULL ORDER BY id LIMIT ${batch}
      ), numbered AS (
        SELECT id, nextval('baton_task_event_cursor') AS cursor FROM waiting ORDER BY id
      ), stamped AS (
        UPDATE baton_task_events e SET cursor = numbered.cursor
        FROM numbered WHERE e.id = numbered.id
        RETURNING e.cursor
      )
      SELECT max(cursor)::text AS max FROM stamped`;
    const max = rows[0]?.max;
    return max === null || max === undefined ? undefined : BigInt(max);
  });
}

export interface EventFilter {
  namespace: string;
  queue: string;
  taskType: string;
  taskId: string | null;
}

/** EventListAfter: sequenced events after a cursor, in cursor order. */
export async function eventListAfter(sql: Queryable, f: EventFilter, after: bigint, limit: number): Promise<EventRow[]> {
  return sql<EventRow[]>`
    SELECT e.cursor::text AS cursor, e.type, e.snapshot, e.created_at FROM baton_task_events e
    WHERE e.cursor > ${after.toString()}::bigint
      AND namespace = ${f.namespace}
      AND (${f.queue} = '' OR queue = ${f.queue})
      AND (${f.taskType} = '' OR task_type = ${f.taskType})
      AND (${f.taskId}::uuid IS NULL OR task_id = ${f.taskId}::uuid)
    -- e.cursor, not the text alias: cursors must sort as numbers.
    ORDER BY e.cursor
    LIMIT ${limit}`;
}

/** EventMaxCursor: the highest cursor stamped so far (0 when none). */
export async function eventMaxCursor(sql: Queryable): Promise<bigint> {
  const rows = await sql<{ max: string | null }[]>`SELECT max(cursor)::text AS max FROM baton_task_events`;
  return BigInt(rows[0]?.max ?? "0");
}
