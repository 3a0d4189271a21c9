/** Named queries on baton_workers, the registry of live worker sessions. */
import type { Queryable } from "./database.js";
import type { WorkerRow } from "../core/worker-row.js";

export type NewWorker = Omit<WorkerRow, "connected_at" | "last_heartbeat_at" | "silent_for_s" | "slots_used" | "draining">;

/** WorkerInsert */
export async function workerInsert(sql: Queryable, w: NewWorker): Promise<void> {
  await sql`
    INSERT INTO baton_workers (session_id, worker_id, instance_id, namespace, queues, task_types, labels, slots, transport, sdk, replica_id)
    VALUES (${w.session_id}, ${w.worker_id}, ${w.instance_id}, ${w.namespace}, ${w.queues}::text[], ${w.task_types}::text[],
            ${sql.json(w.labels)}, ${w.slots}, ${w.transport}, ${w.sdk}, ${w.replica_id})`;
}

/** WorkerDelete */
export async function workerDelete(sql: Queryable, sessionId: string): Promise<void> {
  await sql`DELETE FROM baton_workers WHERE session_id = ${sessionId}`;
}

/** WorkerList: sessions of a namespace, optionally serving one queue. */
export async function workerList(sql: Queryable, namespace: string, queue: string): Promise<WorkerRow[]> {
  return sql<WorkerRow[]>`
    SELECT *, extract(epoch FROM now() - last_heartbeat_at)::float8 AS silent_for_s FROM baton_workers
    WHERE namespace = ${namespace} AND (${queue} = '' OR ${queue} = ANY(queues))
    ORDER BY connected_at, session_id`;
}

/** WorkerGet */
export async function workerGet(sql: Queryable, sessionId: string): Promise<WorkerRow | undefined> {
  const rows = await sql<WorkerRow[]>`
    SELECT *, extract(epoch FROM now() - last_heartbeat_at)::float8 AS silent_for_s FROM baton_workers
    WHERE session_id = ${sessionId}`;
  return rows[0];
}

/** WorkerDeleteSilent: rows of sessions whose replica died without cleaning up. */
export async function workerDeleteSilent(sql: Queryable, silentForMs: number): Promise<number> {
  const rows = await sql`
    DELETE FROM baton_workers WHERE last_heartbeat_at < now() - ${silentForMs} * interval '1 millisecond'
    RETURNING session_id`;
  return rows.length;
}

/** WorkerTouchMany: one statement per tick for all of a replica's sessions. */
export async function workerTouchMany(
  sql: Queryable,
  sessions: { sessionId: string; slots: number; used: number; draining: boolean }[],
): Promise<void> {
  if (sessions.length === 0) return;
  // Booleans travel as 0/1: the driver does not serialise boolean arrays.
  await sql`
    UPDATE baton_workers w SET last_heartbeat_at = now(), slots = s.slots, slots_used = s.used, draining = s.draining = 1
    FROM unnest(${sessions.map((s) => s.sessionId)}::uuid[], ${sessions.map((s) => s.slots)}::int[],
                ${sessions.map((s) => s.used)}::int[], ${sessions.map((s) => (s.draining ? 1 : 0))}::int[])
      AS s(session_id, slots, used, draining)
    WHERE w.session_id = s.session_id`;
}
