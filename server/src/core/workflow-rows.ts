/**
 * The rows of baton_workflows, baton_workflow_runs, baton_workflow_run_steps and
 * baton_workflow_run_events as queries return them. They live in core so every
 * layer can name them: store returns them, engine works on them, api converts
 * them to messages (api never imports store).
 */
import type { JsonObject } from "@bufbuild/protobuf";
import type { RunEventName, RunStateName, StepStatus } from "./workflow-plan.js";

export interface WorkflowRow {
  namespace: string;
  name: string;
  resource_version: string;
  labels: Record<string, string>;
  spec: JsonObject;
  spec_hash: string;
  created_at: Date;
  updated_at: Date;
}

export interface RunRow {
  id: string;
  namespace: string;
  workflow: string;
  workflow_version: string | number;
  spec: JsonObject;
  input: JsonObject;
  output: JsonObject | null;
  state: RunStateName;
  terminal_reason: string;
  idempotency_key: string | null;
  request_hash: string | null;
  labels: Record<string, string>;
  trace_id: string;
  deadline_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
  ended_at: Date | string | null;
}

export interface StepRow {
  run_id: string;
  position: number;
  name: string;
  state: StepStatus["state"];
  task_id: string | null;
  output: JsonObject | null;
  error: StepStatus["error"];
  reason: string;
  join_state: StepStatus["join"];
  fallback_for: string;
  approval: StepStatus["approval"];
  cancel_pending: boolean;
  started_at: Date | null;
  ended_at: Date | null;
  updated_at: Date;
}

export function stepStatusFromRow(r: StepRow): StepStatus {
  const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
  return {
    name: r.name,
    state: r.state,
    taskId: r.task_id,
    output: r.output,
    error: r.error,
    reason: r.reason,
    join: r.join_state,
    fallbackFor: r.fallback_for,
    approval: r.approval,
    startedAt: iso(r.started_at),
    endedAt: iso(r.ended_at),
  };
}

export interface RunEventRow {
  cursor: string;
  type: RunEventName;
  snapshot: { run: RunRow; step: StepStatus | null };
  created_at: Date;
}
