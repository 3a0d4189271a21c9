/**
 * Named queries on workflows, runs, run steps and the run event outbox
 * (migrations/003_workflows.sql). A run's rows change only while the caller
 * holds the run's lock (runLock / runLockMany); see the migration's comment for
 * the lock order that keeps this deadlock-free.
 */
import type postgres from "postgres";
import type { JsonObject } from "@bufbuild/protobuf";
import type { Queryable } from "./database.js";
import type { AttemptRow, TaskRow } from "../core/task-row.js";
import type { RunStateName, RunEventName, StepStatus } from "../core/workflow-plan.js";
import type { RunEventRow, RunRow, StepRow, WorkflowRow } from "../core/workflow-rows.js";

// ---- workflows ------------------------------------------------------------------

/** WorkflowGet */
export async function workflowGet(sql: Queryable, namespace: string, name: string, forUpdate = false): Promise<WorkflowRow | undefined> {
  const rows =
    forUpdate ?
      await sql<WorkflowRow[]>`SELECT * FROM baton_workflows WHERE namespace = ${namespace} AND name = ${name} FOR UPDATE`
    : await sql<WorkflowRow[]>`SELECT * FROM baton_workflows WHERE namespace = ${namespace} AND name = ${name}`;
  return rows[0];
}

/** WorkflowInsert: nothing when the name exists (a concurrent create won). */
export async function workflowInsert(
  sql: Queryable,
  w: { namespace: string; name: string; labels: Record<string, string>; spec: JsonObject; specHash: string },
): Promise<WorkflowRow | undefined> {
  const rows = await sql<WorkflowRow[]>`
    INSERT INTO baton_workflows (namespace, name, resource_version, labels, spec, spec_hash, created_at, updated_at)
    VALUES (${w.namespace}, ${w.name}, nextval('baton_workflow_version'), ${sql.json(w.labels)}, ${sql.json(w.spec as never)},
      ${w.specHash}, now(), now())
    ON CONFLICT (namespace, name) DO NOTHING
    RETURNING *`;
  return rows[0];
}

/** WorkflowUpdate: a new version of a row the caller has locked. */
export async function workflowUpdate(
  sql: Queryable,
  w: { namespace: string; name: string; labels: Record<string, string>; spec: JsonObject; specHash: string },
): Promise<WorkflowRow> {
  const rows = await sql<WorkflowRow[]>`
    UPDATE baton_workflows SET resource_version = nextval('baton_workflow_version'), labels = ${sql.json(w.labels)},
      spec = ${sql.json(w.spec as never)}, spec_hash = ${w.specHash}, updated_at = now()
    WHERE namespace = ${w.namespace} AND name = ${w.name}
    RETURNING *`;
  return rows[0]!;
}

/** WorkflowDelete */
export async function workflowDelete(sql: Queryable, namespace: string, name: string): Promise<WorkflowRow | undefined> {
  const rows = await sql<WorkflowRow[]>`DELETE FROM baton_workflows WHERE namespace = ${namespace} AND name = ${name} RETURNING *`;
  return rows[0];
}

/** WorkflowList: by name, keyset-paginated. */
export async function workflowList(sql: Queryable, namespace: string, afterName: string | null, limit: number): Promise<WorkflowRow[]> {
  return sql<WorkflowRow[]>`
    SELECT * FROM baton_workflows
    WHERE namespace = ${namespace} AND (${afterName}::text IS NULL OR name > ${afterName}::text)
    ORDER BY name
    LIMIT ${limit}`;
}

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

// ---- steps ----------------------------------------------------------------------

function stepRecords(steps: readonly StepStatus[], positions?: Map<string, number>) {
  return steps.map((s) => ({
    position: positions?.get(s.name) ?? 0,
    name: s.name,
    state: s.state,
    task_id: s.taskId,
    output: s.output,
    error: s.error,
    reason: s.reason,
    join_state: s.join,
    fallback_for: s.fallbackFor,
    approval: s.approval,
    started_at: s.startedAt,
    ended_at: s.endedAt,
  }));
}

/** RunStepsInsert: every step of a new run, in definition order. */
export async function runStepsInsert(sql: Queryable, runId: string, steps: readonly StepStatus[]): Promise<void> {
  const positions = new Map(steps.map((s, i) => [s.name, i]));
  await sql`
    INSERT INTO baton_workflow_run_steps (run_id, position, name, state, task_id, output, error, reason, join_state,
      fallback_for, approval, started_at, ended_at, updated_at)
    SELECT ${runId}, r.position, r.name, r.state, r.task_id, r.output, r.error, r.reason, r.join_state,
      r.fallback_for, r.approval, r.started_at, r.ended_at, now()
    FROM jsonb_to_recordset(${sql.json(stepRecords(steps, positions) as never)}) AS r(
      position integer, name text, state text, task_id uuid, output jsonb, error jsonb, reason text, join_state jsonb,
      fallback_for text, approval jsonb, started_at timestamptz, ended_at timestamptz)`;
}

/** RunStepsGet: in definition order. */
export async function runStepsGet(sql: Queryable, runId: string): Promise<StepRow[]> {
  return sql<StepRow[]>`SELECT * FROM baton_workflow_run_steps WHERE run_id = ${runId} ORDER BY position`;
}

/** RunStepsByTaskIds: which run and step each task belongs to. */
export async function runStepsByTaskIds(sql: Queryable, taskIds: string[]): Promise<{ run_id: string; name: string; task_id: string }[]> {
  if (taskIds.length === 0) return [];
  return sql<{ run_id: string; name: string; task_id: string }[]>`
    SELECT run_id, name, task_id FROM baton_workflow_run_steps WHERE task_id = ANY(${taskIds}::uuid[])`;
}

export interface RunChange {
  runId: string;
  /** Changed steps, as they are now. */
  steps: readonly StepStatus[];
  /** Set when the run ends. */
  end: { state: RunStateName; reason: string; output: JsonObject } | null;
  /** In order; `step` carries the step's status for the snapshot. */
  events: { type: RunEventName; step: StepStatus | null }[];
}

/**
 * RunApply: writes a run's changed steps, its end (if any) and its outbox
 * events in one statement. The caller holds the run's lock.
 */
export async function runApply(sql: Queryable, c: RunChange): Promise<RunRow> {
  const events = c.events.map((e, n) => ({ n, type: e.type, step: e.step?.name ?? null, status: e.step }));
  const rows = await sql<RunRow[]>`
    WITH step_updates AS (
      UPDATE baton_workflow_run_steps s SET state = r.state, task_id = r.task_id, output = r.output, error = r.error,
        reason = r.reason, join_state = r.join_state, fallback_for = r.fallback_for, approval = r.approval,
        started_at = r.started_at, ended_at = r.ended_at, updated_at = now()
      FROM jsonb_to_recordset(${sql.json(stepRecords(c.steps) as never)}) AS r(
        position integer, name text, state text, task_id uuid, output jsonb, error jsonb, reason text, join_state jsonb,
        fallback_for text, approval jsonb, started_at timestamptz, ended_at timestamptz)
      WHERE s.run_id = ${c.runId} AND s.name = r.name
      RETURNING s.name
    ), run_update AS (
      UPDATE baton_workflow_runs SET
        state = coalesce(${c.end?.state ?? null}::text, state),
        terminal_reason = coalesce(${c.end?.reason ?? null}::text, terminal_reason),
        output = coalesce(${c.end === null ? null : sql.json(c.end.output as never)}::jsonb, output),
        ended_at = CASE WHEN ${c.end?.state ?? null}::text IS NULL THEN ended_at ELSE now() END,
        updated_at = now()
      WHERE id = ${c.runId}
      RETURNING *
    ), events AS (
      INSERT INTO baton_workflow_run_events (namespace, run_id, workflow, type, step, snapshot, created_at)
      SELECT ru.namespace, ru.id, ru.workflow, ev.type, ev.step,
        jsonb_build_object('run', to_jsonb(ru) - 'spec' - 'input' - 'request_hash', 'step', ev.status), now()
      FROM run_update ru, jsonb_to_recordset(${sql.json(events as never)}) AS ev(n integer, type text, step text, status jsonb)
      ORDER BY ev.n
    )
    SELECT * FROM run_update`;
  return rows[0]!;
}

/** RunStepsSetCancelPending: marks (or clears) steps whose task is still to be cancelled. */
export async function runStepsSetCancelPending(sql: Queryable, runId: string, names: string[], pending: boolean): Promise<void> {
  if (names.length === 0) return;
  await sql`
    UPDATE baton_workflow_run_steps SET cancel_pending = ${pending}
    WHERE run_id = ${runId} AND name = ANY(${names}::text[])`;
}

/** RunStepsStuck: running steps whose task ended without the run hearing of it (e.g. a pending task cancelled directly). */
export async function runStepsStuck(sql: Queryable, limit: number): Promise<(TaskRow & { step_run_id: string })[]> {
  return sql<(TaskRow & { step_run_id: string })[]>`
    SELECT t.*, s.run_id AS step_run_id FROM baton_workflow_run_steps s JOIN baton_tasks t ON t.id = s.task_id
    WHERE s.state = 'running' AND t.state IN ('completed', 'dead_letter', 'cancelled')
    LIMIT ${limit}`;
}

/** WorkflowSweepProbe: which sweep passes have work, in one round trip (most ticks have none). */
export async function workflowSweepProbe(sql: Queryable, now: Date | null): Promise<{ timed_out: boolean; stuck: boolean; cancel_pending: boolean }> {
  const rows = await sql<{ timed_out: boolean; stuck: boolean; cancel_pending: boolean }[]>`
    SELECT
      EXISTS (SELECT 1 FROM baton_workflow_runs
              WHERE state = 'running' AND deadline_at <= coalesce(${now}::timestamptz, now())) AS timed_out,
      EXISTS (SELECT 1 FROM baton_workflow_run_steps s JOIN baton_tasks t ON t.id = s.task_id
              WHERE s.state = 'running' AND t.state IN ('completed', 'dead_letter', 'cancelled')) AS stuck,
      EXISTS (SELECT 1 FROM baton_workflow_run_steps WHERE cancel_pending) AS cancel_pending`;
  return rows[0]!;
}

/** RunStepsCancelPending: steps whose task a run still has to cancel. */
export async function runStepsCancelPending(sql: Queryable, limit: number): Promise<{ run_id: string; name: string; task_id: string; reason: string }[]> {
  return sql<{ run_id: string; name: string; task_id: string; reason: string }[]>`
    SELECT run_id, name, task_id, reason FROM baton_workflow_run_steps WHERE cancel_pending LIMIT ${limit}`;
}

/** StepTasksGet: the tasks of a run's steps, for GetRun. */
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
