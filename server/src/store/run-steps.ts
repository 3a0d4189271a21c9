/**
 * Named queries on baton_workflow_run_steps, and runApply, which writes a run and
 * its changed steps together (under the run's lock: see runs.ts).
 */
import type { JsonObject } from "@bufbuild/protobuf";
import type { Queryable } from "./database.js";
import type { TaskRow } from "../core/task-row.js";
import type { RunStateName, RunEventName, StepStatus } from "../core/workflow-plan.js";
import type { RunRow, StepRow } from "../core/workflow-rows.js";

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
