/**
 * A workflow definition as the engine uses it: WorkflowSpec with every default
 * applied and every enum named. Built from the message (validating each field,
 * rule S1) at PutWorkflow, and again from the stored spec when a run advances.
 * Graph-level checks live in workflow-analysis.ts.
 */
import { create, fromJson, toJson, type JsonObject, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { CreateTaskRequestSchema } from "../../../gen/ts/baton/v1/task_service_pb.js";
import {
  ConditionOperator,
  FailureAction,
  JoinMode,
  RemainingParents,
  WorkflowSpecSchema,
  type Workflow,
  type WorkflowSpec,
} from "../../../gen/ts/baton/v1/workflow_pb.js";
import { limits } from "./defaults.js";
import { parsePath, parseSelector, type ConditionDef, type ConditionOp, type Selector } from "./workflow-path.js";
import { taskSpecFromRequest, type TaskSpec } from "./task-spec.js";
import { Violations } from "./validation.js";

export const workflowLimits = {
  stepsMax: 200,
  edgesMax: 1000,
  inputKeysMax: 64,
  inputKeyMaxChars: 128,
  descriptionMaxChars: 1024,
  labelMaxChars: 128,
  runTimeoutMinMs: 1_000,
  runTimeoutMaxMs: 30 * 24 * 60 * 60_000,
  yamlMaxBytes: 1024 * 1024,
} as const;

/** Label keys the server puts on every step task (rule D8). */
export const RUN_LABEL = "baton.run";
export const WORKFLOW_LABEL = "baton.workflow";
export const STEP_LABEL = "baton.step";

/** Workflow and step names: safe in paths, selectors, labels and logs. */
export const WORKFLOW_NAME = /^[a-z][a-z0-9_-]{0,62}$/;

export type FailureActionName = "fail_run" | "continue" | "fallback";
export type JoinModeName = "wait_for_all" | "quorum";

export interface StepInput {
  key: string;
  text: string;
  selector: Selector | { error: string };
}

export interface StepDef {
  /** Position in spec.steps. */
  index: number;
  name: string;
  taskType: string;
  queue: string;
  input: StepInput[];
  requiresApproval: boolean;
  onFailure: { action: FailureActionName; fallbackStep: string };
  join: {
    mode: JoinModeName;
    /** Set join fields, as given (analysis checks them against the parents). */
    count: number;
    percent: number;
    remaining: "let_finish" | "cancel";
    /** True when quorum fields were given without quorum mode, or remaining without quorum. */
    conflicting: string[];
  };
  /** The task every start of this step creates, less payload and run labels. */
  task: Pick<TaskSpec, "queue" | "type" | "priority" | "maxAttempts" | "retryPolicy" | "scheduleToStartMs" | "startToCloseMs" | "heartbeatMs" | "labels">;
}

export interface EdgeDef {
  index: number;
  from: string;
  to: string;
  label: string;
  condition: ConditionDef | null;
}

export interface WorkflowDef {
  steps: StepDef[];
  edges: EdgeDef[];
  runTimeoutMs: number | null;
}

const failureNames: Record<number, FailureActionName | undefined> = {
  [FailureAction.FAIL_RUN]: "fail_run",
  [FailureAction.CONTINUE]: "continue",
  [FailureAction.FALLBACK]: "fallback",
};

const operatorNames: Record<number, ConditionOp | undefined> = {
  [ConditionOperator.EQUALS]: "equals",
  [ConditionOperator.NOT_EQUALS]: "not_equals",
  [ConditionOperator.IN]: "in",
  [ConditionOperator.NOT_IN]: "not_in",
  [ConditionOperator.EXISTS]: "exists",
  [ConditionOperator.NOT_EXISTS]: "not_exists",
};

/** Validates a workflow's metadata fields (S1); `prefix` is e.g. "workflow.". */
export function checkMetadata(wf: Workflow, v: Violations, prefix: string): { namespace: string; name: string } {
  const md = wf.metadata;
  if (!md) {
    v.add(`${prefix}metadata`, "is required: set metadata.name");
    return { namespace: "", name: "" };
  }
  v.namespace(`${prefix}metadata.namespace`, md.namespace, limits.namespaceMaxChars);
  checkName(v, `${prefix}metadata.name`, md.name, "workflow");
  v.labels(`${prefix}metadata.labels`, md.labels, limits.labelsMax, limits.labelKeyMaxChars, limits.labelValueMaxChars);
  return { namespace: md.namespace, name: md.name };
}

export function checkName(v: Violations, field: string, name: string, what: string): void {
  if (name === "") v.add(field, `is required: a ${what} name such as "order-pipeline"`);
  else if (!WORKFLOW_NAME.test(name)) {
    v.add(field, `must be 1..63 characters of a-z, 0-9, _ and -, starting with a letter; got ${JSON.stringify(name.slice(0, 80))}`);
  }
}

/**
 * Builds the definition from a spec, adding one violation per invalid field
 * (paths under `prefix`, e.g. "workflow.spec."). Graph checks are not done here.
 */
export function workflowDefFromSpec(spec: WorkflowSpec | undefined, v: Violations, prefix: string): WorkflowDef {
  if (!spec) {
    v.add(prefix.replace(/\.$/, ""), "is required: list the workflow's steps (and edges)");
    return { steps: [], edges: [], runTimeoutMs: null };
  }
  v.maxChars(`${prefix}description`, spec.description, workflowLimits.descriptionMaxChars);
  if (spec.steps.length === 0) v.add(`${prefix}steps`, "must list at least one step");
  if (spec.steps.length > workflowLimits.stepsMax) v.add(`${prefix}steps`, `must list at most ${workflowLimits.stepsMax} steps; got ${spec.steps.length}`);
  if (spec.edges.length > workflowLimits.edgesMax) v.add(`${prefix}edges`, `must list at most ${workflowLimits.edgesMax} edges; got ${spec.edges.length}`);
  const runTimeoutMs =
    v.duration(`${prefix}run_timeout`, spec.runTimeout, workflowLimits.runTimeoutMinMs, workflowLimits.runTimeoutMaxMs) ?? null;

  const steps = spec.steps.map((s, index): StepDef => {
    const at = `${prefix}steps[${index}]`;
    checkName(v, `${at}.name`, s.name, "step");
    v.maxChars(`${at}.description`, s.description, workflowLimits.descriptionMaxChars);
    for (const key of Object.keys(s.labels)) {
      if (key.startsWith("baton.")) v.add(`${at}.labels[${JSON.stringify(key)}]`, 'keys starting with "baton." are set by the server: rename the label');
    }
    // The task settings are validated exactly as CreateTask validates them.
    const tv = new Violations();
    const spec = taskSpecFromRequest(
      create(CreateTaskRequestSchema, {
        queue: s.queue,
        type: s.taskType,
        maxAttempts: s.maxAttempts,
        retryPolicy: s.retryPolicy,
        timeouts: s.timeouts,
        priority: s.priority,
        // Room for the run labels the server adds (D8).
        labels: { ...s.labels, [RUN_LABEL]: "x", [WORKFLOW_LABEL]: "x", [STEP_LABEL]: "x" },
      }),
      tv,
      `${at}.`,
    );
    for (const bad of tv.list) {
      const field = bad.field === `${at}.type` ? `${at}.task_type` : bad.field;
      v.add(field, field === `${at}.task_type` && s.taskType === "" ? "is required: the task type workers handle, e.g. email.send" : bad.description);
    }

    const inputs = Object.entries(s.input);
    if (inputs.length > workflowLimits.inputKeysMax) v.add(`${at}.input`, `must have at most ${workflowLimits.inputKeysMax} keys; got ${inputs.length}`);
    const input = inputs.map(([key, text]): StepInput => {
      if (key === "" || key.length > workflowLimits.inputKeyMaxChars) {
        v.add(`${at}.input[${JSON.stringify(key.slice(0, 64))}]`, `key must be 1..${workflowLimits.inputKeyMaxChars} characters`);
      }
      return { key, text, selector: parseSelector(text) };
    });

    const f = s.onFailure;
    let action: FailureActionName = "fail_run";
    if (f && f.action !== FailureAction.UNSPECIFIED) {
      const named = failureNames[f.action];
      if (named) action = named;
      else v.add(`${at}.on_failure.action`, `must be FAIL_RUN, CONTINUE or FALLBACK; got ${f.action}`);
    } else if (f && f.fallbackStep !== "") action = "fallback";
    if (f && f.fallbackStep !== "" && action !== "fallback") {
      v.add(`${at}.on_failure.fallback_step`, `is only used with action FALLBACK; got action ${action.toUpperCase()}: remove fallback_step or set action FALLBACK`);
    }

    const j = s.join;
    const conflicting: string[] = [];
    let mode: JoinModeName = "wait_for_all";
    if (j) {
      const quorumGiven = j.quorumCount !== 0 || j.quorumPercent !== 0;
      if (j.mode === JoinMode.QUORUM || (j.mode === JoinMode.UNSPECIFIED && quorumGiven)) mode = "quorum";
      else if (j.mode !== JoinMode.WAIT_FOR_ALL && j.mode !== JoinMode.UNSPECIFIED) v.add(`${at}.join.mode`, `must be WAIT_FOR_ALL or QUORUM; got ${j.mode}`);
      if (mode === "wait_for_all" && quorumGiven) conflicting.push("quorum_count/quorum_percent");
      if (mode === "wait_for_all" && j.remaining !== RemainingParents.UNSPECIFIED) conflicting.push("remaining");
      if (j.remaining !== RemainingParents.UNSPECIFIED && j.remaining !== RemainingParents.CANCEL && j.remaining !== RemainingParents.LET_FINISH) {
        v.add(`${at}.join.remaining`, `must be LET_FINISH or CANCEL; got ${j.remaining}`);
      }
    }
    return {
      index,
      name: s.name,
      taskType: s.taskType,
      queue: s.queue,
      input,
      requiresApproval: s.requiresApproval,
      onFailure: { action, fallbackStep: f?.fallbackStep ?? "" },
      join: {
        mode,
        count: j?.quorumCount ?? 0,
        percent: j?.quorumPercent ?? 0,
        remaining: j?.remaining === RemainingParents.CANCEL ? "cancel" : "let_finish",
        conflicting,
      },
      task: {
        queue: spec.queue,
        type: spec.type,
        priority: spec.priority,
        maxAttempts: spec.maxAttempts,
        retryPolicy: spec.retryPolicy,
        scheduleToStartMs: spec.scheduleToStartMs,
        startToCloseMs: spec.startToCloseMs,
        heartbeatMs: spec.heartbeatMs,
        labels: { ...s.labels },
      },
    };
  });

  const edges = spec.edges.map((e, index): EdgeDef => {
    const at = `${prefix}edges[${index}]`;
    if (e.fromStep === "") v.add(`${at}.from_step`, "is required: the parent step's name");
    if (e.toStep === "") v.add(`${at}.to_step`, "is required: the child step's name");
    v.maxChars(`${at}.label`, e.label, workflowLimits.labelMaxChars);
    let condition: ConditionDef | null = null;
    const c = e.condition;
    if (c) {
      const path = parsePath(c.path);
      if ("error" in path) v.add(`${at}.condition.path`, `${path.error} (e.g. "$.status")`);
      const op = operatorNames[c.operator];
      const value: JsonValue | undefined = c.value === undefined ? undefined : (toJson(ValueSchema, c.value) as JsonValue);
      if (!op) v.add(`${at}.condition.operator`, "is required: EQUALS, NOT_EQUALS, IN, NOT_IN, EXISTS or NOT_EXISTS");
      else if ((op === "in" || op === "not_in") && !Array.isArray(value)) {
        v.add(`${at}.condition.value`, `must be a list of values for ${op.toUpperCase()}, e.g. ["a", "b"]`);
      } else if ((op === "equals" || op === "not_equals") && value === undefined) {
        v.add(`${at}.condition.value`, `is required for ${op.toUpperCase()}: the JSON value to compare with`);
      } else if ((op === "exists" || op === "not_exists") && value !== undefined) {
        v.add(`${at}.condition.value`, `must be unset for ${op.toUpperCase()}: it only tests whether the path finds a value`);
      }
      if (!("error" in path) && op) condition = { pathText: c.path, path, op, value };
    }
    return { index, from: e.fromStep, to: e.toStep, label: e.label, condition };
  });
  return { steps, edges, runTimeoutMs };
}

/**
 * The definition of a stored spec (a run's snapshot), validated when it was
 * put. Violations are not rechecked: a run follows what it started with (D3),
 * even if a later server version validates more strictly.
 */
export function workflowDefFromStored(specJson: JsonObject): WorkflowDef {
  return workflowDefFromSpec(fromJson(WorkflowSpecSchema, specJson), new Violations(), "spec.");
}
