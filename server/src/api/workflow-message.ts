/** Converts stored workflow, run, step and run event rows to protocol messages. */
import { create, fromJson } from "@bufbuild/protobuf";
import { timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { TaskState } from "../../../gen/ts/baton/v1/task_pb.js";
import {
  EdgeOutcomeSchema,
  EdgeState,
  JoinMode,
  JoinStateSchema,
  ResourceMetadataSchema,
  RunEventSchema,
  RunEventType,
  RunSchema,
  RunStepSchema,
  StepApprovalSchema,
  WorkflowSchema,
  WorkflowSpecSchema,
  type Run,
  type RunEvent,
  type RunStep,
  type Workflow,
} from "../../../gen/ts/baton/v1/workflow_pb.js";
import { runStateOf, stepStateOf } from "../core/workflow-contract.js";
import type { EdgeStateName, StepStatus } from "../core/workflow-plan.js";
import type { AttemptRow, TaskRow } from "../core/task-row.js";
import { stepStatusFromRow, type RunEventRow, type RunRow, type StepRow, type WorkflowRow } from "../core/workflow-rows.js";
import { taskErrorFromStored, taskFromRow } from "./task-message.js";

function ts(value: Date | string): Timestamp {
  return timestampFromDate(value instanceof Date ? value : new Date(value));
}

function tsOrUndefined(value: Date | string | null | undefined): Timestamp | undefined {
  return value === null || value === undefined ? undefined : ts(value);
}

export function workflowFromRow(row: WorkflowRow): Workflow {
  return create(WorkflowSchema, {
    metadata: create(ResourceMetadataSchema, {
      namespace: row.namespace,
      name: row.name,
      labels: row.labels,
      resourceVersion: String(row.resource_version),
      createTime: ts(row.created_at),
      updateTime: ts(row.updated_at),
    }),
    spec: fromJson(WorkflowSpecSchema, row.spec),
  });
}

const edgeStates: Record<EdgeStateName, EdgeState> = {
  pending: EdgeState.PENDING,
  taken: EdgeState.TAKEN,
  not_taken: EdgeState.NOT_TAKEN,
  failed: EdgeState.FAILED,
};

const eventTypes: Record<string, RunEventType> = {
  run_started: RunEventType.RUN_STARTED,
  step_started: RunEventType.STEP_STARTED,
  step_waiting_approval: RunEventType.STEP_WAITING_APPROVAL,
  step_approved: RunEventType.STEP_APPROVED,
  step_rejected: RunEventType.STEP_REJECTED,
  step_succeeded: RunEventType.STEP_SUCCEEDED,
  step_failed: RunEventType.STEP_FAILED,
  step_skipped: RunEventType.STEP_SKIPPED,
  step_cancelled: RunEventType.STEP_CANCELLED,
  run_succeeded: RunEventType.RUN_SUCCEEDED,
  run_failed: RunEventType.RUN_FAILED,
  run_cancelled: RunEventType.RUN_CANCELLED,
  run_timed_out: RunEventType.RUN_TIMED_OUT,
};

/** A RUN_* event that ends a run (D18). */
export function isTerminalRunEvent(type: RunEventType): boolean {
  return type === RunEventType.RUN_SUCCEEDED || type === RunEventType.RUN_FAILED || type === RunEventType.RUN_CANCELLED || type === RunEventType.RUN_TIMED_OUT;
}

export function runStepFromStatus(s: StepStatus, task?: TaskRow, attempts?: AttemptRow[]): RunStep {
  const t = task ? taskFromRow(task, attempts ?? []) : undefined;
  return create(RunStepSchema, {
    name: s.name,
    state: stepStateOf(s.state),
    taskId: s.taskId ?? "",
    taskState: t?.state ?? TaskState.UNSPECIFIED,
    output: s.output ?? undefined,
    error: s.error ? taskErrorFromStored(s.error) : undefined,
    reason: s.reason,
    join:
      s.join === null ? undefined : (
        create(JoinStateSchema, {
          mode: s.join.mode === "quorum" ? JoinMode.QUORUM : JoinMode.WAIT_FOR_ALL,
          required: s.join.required,
          edges: s.join.edges.map((e) => create(EdgeOutcomeSchema, { fromStep: e.from, label: e.label, state: edgeStates[e.state] })),
          satisfied: s.join.satisfied,
        })
      ),
    attempt: t?.attempt ?? 0,
    attempts: t?.attempts ?? [],
    fallbackFor: s.fallbackFor,
    approval:
      s.approval === null ? undefined : (
        create(StepApprovalSchema, {
          requestTime: ts(s.approval.requestedAt),
          decideTime: tsOrUndefined(s.approval.decidedAt),
          approved: s.approval.approved,
          decidedBy: s.approval.decidedBy,
          comment: s.approval.comment,
        })
      ),
    startTime: tsOrUndefined(s.startedAt),
    endTime: tsOrUndefined(s.endedAt),
  });
}

export interface RunParts {
  steps?: StepRow[];
  tasks?: Map<string, TaskRow>;
  attempts?: Map<string, AttemptRow[]>;
  /** Include the definition (GetRun). */
  spec?: boolean;
}

export function runFromRow(row: RunRow, parts: RunParts = {}): Run {
  return create(RunSchema, {
    id: row.id,
    namespace: row.namespace,
    workflow: row.workflow,
    workflowVersion: String(row.workflow_version),
    state: runStateOf(row.state),
    input: row.input ?? undefined,
    output: row.output ?? undefined,
    steps: (parts.steps ?? []).map((s) => {
      const task = s.task_id === null ? undefined : parts.tasks?.get(s.task_id);
      return runStepFromStatus(stepStatusFromRow(s), task, s.task_id === null ? [] : parts.attempts?.get(s.task_id));
    }),
    terminalReason: row.terminal_reason,
    idempotencyKey: row.idempotency_key ?? "",
    labels: row.labels,
    traceId: row.trace_id,
    createTime: ts(row.created_at),
    updateTime: ts(row.updated_at),
    endTime: tsOrUndefined(row.ended_at),
    deadline: tsOrUndefined(row.deadline_at),
    spec: parts.spec ? fromJson(WorkflowSpecSchema, row.spec) : undefined,
  });
}

export function runEventFromRow(row: RunEventRow): RunEvent {
  const { run, step } = row.snapshot;
  return create(RunEventSchema, {
    cursor: BigInt(row.cursor),
    type: eventTypes[row.type] ?? RunEventType.UNSPECIFIED,
    run: runFromRow({ ...run, spec: {}, input: {} }),
    step: step === null ? undefined : runStepFromStatus(step),
    time: ts(row.created_at),
  });
}
