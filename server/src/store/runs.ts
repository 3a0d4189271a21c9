/**
 * Named queries on baton_workflow_runs (migrations/003_workflows.sql). A run's rows
 * change only while the caller holds the run's lock (runLock / runLockMany); see
 * the migration's comment for the lock order that keeps this deadlock-free.
 */
import type { JsonObject } from "@bufbuild/protobuf";
import type { Queryable } from "./database.js";
import type { RunStateName } from "../core/workflow-plan.js";
import type { RunRow } from "../core/workflow-rows.js";

// ---- runs -----------------------------------------------------------------------

export interface NewRun {
  id: string;
  namespace: string;
  workflow: string;
  workflowVersion: string;
  spec: JsonObject;
  input: JsonObject;
  idempotencyKey: string | null;
  requestHash: string;
  labels: Record<string, string>;
  traceId: string;
  runTimeoutMs: number | null;
}

/** RunInsert: nothing when the idempotency key exists (the caller looks it up). Also reads the database clock. */
export async function runInsert(sql: Queryable, r: NewRun): Promise<(RunRow & { db_now: Date }) | undefined> {
  const rows = await sql<(RunRow & { db_now: Date })[]>`
    INSERT INTO baton_workflow_runs (id, namespace, workflow, workflow_version, spec, input, state, idempotency_key,
      request_hash, labels, trace_id, deadline_at, created_at, updated_at)
    VALUES (${r.id}, ${r.namespace}, ${r.workflow}, ${r.workflowVersion}, ${sql.json(r.spec as never)}, ${sql.json(r.input as never)},
      'running', ${r.idempotencyKey}, ${r.requestHash}, ${sql.json(r.labels)}, ${r.traceId},
      now() + ${r.runTimeoutMs}::bigint * interval '1 millisecond', now(), now())
    ON CONFLICT (namespace, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING *, now() AS db_now`;
  return rows[0];
}

/** RunGetByIdempotencyKey */
export async function runGetByIdempotencyKey(sql: Queryable, namespace: string, key: string): Promise<RunRow | undefined> {
  const rows = await sql<RunRow[]>`SELECT * FROM baton_workflow_runs WHERE namespace = ${namespace} AND idempotency_key = ${key}`;
  return rows[0];
}

/** RunGet */
export async function runGet(sql: Queryable, id: string): Promise<RunRow | undefined> {
  const rows = await sql<RunRow[]>`SELECT * FROM baton_workflow_runs WHERE id = ${id}`;
  return rows[0];
}

/** RunLock: the run's lock, held until commit; also reads the database clock. */
export async function runLock(sql: Queryable, id: string): Promise<(RunRow & { db_now: Date }) | undefined> {
  const rows = await sql<(RunRow & { db_now: Date })[]>`
    SELECT *, now() AS db_now FROM baton_workflow_runs WHERE id = ${id} FOR NO KEY UPDATE`;
  return rows[0];
}

/** RunLockMany: several runs' locks, taken in id order so concurrent callers cannot deadlock. */
export async function runLockMany(sql: Queryable, ids: string[]): Promise<(RunRow & { db_now: Date })[]> {
  if (ids.length === 0) return [];
  return sql<(RunRow & { db_now: Date })[]>`
    SELECT *, now() AS db_now FROM baton_workflow_runs WHERE id = ANY(${ids}::uuid[]) ORDER BY id FOR NO KEY UPDATE`;
}

/** RunLockTimedOut: running runs past their deadline, locked, skipping runs another replica holds (D12). */
export async function runLockTimedOut(sql: Queryable, now: Date | null, limit: number): Promise<(RunRow & { db_now: Date })[]> {
  return sql<(RunRow & { db_now: Date })[]>`
    SELECT *, coalesce(${now}::timestamptz, now()) AS db_now FROM baton_workflow_runs
    WHERE state = 'running' AND deadline_at <= coalesce(${now}::timestamptz, now())
    ORDER BY deadline_at
    LIMIT ${limit}
    FOR NO KEY UPDATE SKIP LOCKED`;
}

export interface RunListFilter {
  namespace: string;
  workflow: string;
  states: RunStateName[];
  afterId: string | null;
  limit: number;
}

/** RunList: newest first, without spec and input. */
export async function runList(sql: Queryable, f: RunListFilter): Promise<RunRow[]> {
  return sql<RunRow[]>`
    SELECT id, namespace, workflow, workflow_version, '{}'::jsonb AS spec, '{}'::jsonb AS input, output, state, terminal_reason,
      idempotency_key, request_hash, labels, trace_id, deadline_at, created_at, updated_at, ended_at
    FROM baton_workflow_runs
    WHERE namespace = ${f.namespace}
      AND (${f.workflow} = '' OR workflow = ${f.workflow})
      AND (cardinality(${f.states}::text[]) = 0 OR state = ANY(${f.states}::text[]))
      AND (${f.afterId}::uuid IS NULL OR id < ${f.afterId}::uuid)
    ORDER BY id DESC
    LIMIT ${f.limit}`;
}
