/** Named queries on baton_workflow_run_events, the outbox behind WatchRun. */
import type postgres from "postgres";
import type { Queryable } from "./database.js";
import type { RunEventRow } from "../core/workflow-rows.js";

// ---- run events -----------------------------------------------------------------

/** Serialises run event sequencers across replicas. */
const RUN_SEQUENCER_LOCK = 0x62617432; // "bat2"

/** RunEventsWaiting: whether any run event awaits its cursor (a cheap check before sequencing). */
export async function runEventsWaiting(sql: Queryable): Promise<boolean> {
  const rows = await sql<{ waiting: boolean }[]>`SELECT EXISTS (SELECT 1 FROM baton_workflow_run_events WHERE cursor IS NULL) AS waiting`;
  return rows[0]!.waiting;
}

/** RunEventSequence: stamps committed, unsequenced run events in id order (as eventSequence does for tasks). */
export async function runEventSequence(sql: postgres.Sql, batch = 5000): Promise<bigint | undefined> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${RUN_SEQUENCER_LOCK})`;
    const rows = await tx<{ max: string | null }[]>`
      WITH waiting AS (
        SELECT id FROM baton_workflow_run_events WHERE cursor IS NULL ORDER BY id LIMIT ${batch}
      ), numbered AS (
        SELECT id, nextval('baton_workflow_run_event_cursor') AS cursor FROM waiting ORDER BY id
      ), stamped AS (
        UPDATE baton_workflow_run_events e SET cursor = numbered.cursor
        FROM numbered WHERE e.id = numbered.id
        RETURNING e.cursor
      )
      SELECT max(cursor)::text AS max FROM stamped`;
    const max = rows[0]?.max;
    return max === null || max === undefined ? undefined : BigInt(max);
  });
}

export interface RunEventFilter {
  namespace: string;
  runId: string | null;
  workflow: string;
}

/** RunEventListAfter: sequenced run events after a cursor, in cursor order. */
export async function runEventListAfter(sql: Queryable, f: RunEventFilter, after: bigint, limit: number): Promise<RunEventRow[]> {
  return sql<RunEventRow[]>`
    SELECT e.cursor::text AS cursor, e.type, e.snapshot, e.created_at FROM baton_workflow_run_events e
    WHERE e.cursor > ${after.toString()}::bigint
      AND namespace = ${f.namespace}
      AND (${f.runId}::uuid IS NULL OR run_id = ${f.runId}::uuid)
      AND (${f.workflow} = '' OR workflow = ${f.workflow})
    ORDER BY e.cursor
    LIMIT ${limit}`;
}

/** RunEventMaxCursor: the highest run event cursor stamped so far (0 when none). */
export async function runEventMaxCursor(sql: Queryable): Promise<bigint> {
  const rows = await sql<{ max: string | null }[]>`SELECT max(cursor)::text AS max FROM baton_workflow_run_events`;
  return BigInt(rows[0]?.max ?? "0");
}
