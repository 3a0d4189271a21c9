/**
 * Agent contracts (C1, C3) and errors (C2, D2, D16) of WorkflowService.
 */
import { ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { create } from "@bufbuild/protobuf";
import { type ConnectError } from "@connectrpc/connect";
import { AgentContractSchema, NextActionSchema, RecoverySchema, type AgentContract, type NextAction } from "../../../gen/ts/baton/v1/contract_pb.js";
import { RunState, StepState, type Run, type Workflow } from "../../../gen/ts/baton/v1/workflow_pb.js";
import { WorkflowService } from "../../../gen/ts/baton/v1/workflow_service_pb.js";
import { batonError } from "./errors.js";

type WorkflowMethod = keyof typeof WorkflowService.method;

/** A NextAction for a WorkflowService method. */
export function workflowAction(method: WorkflowMethod, purpose: string): NextAction {
  const name = WorkflowService.method[method].name;
  return create(NextActionSchema, { rpc: `${WorkflowService.typeName}/${name}`, httpPath: `/${WorkflowService.typeName}/${name}`, purpose });
}

export function workflowResource(namespace: string, name: string): string {
  return `workflow/${namespace}/${name}`;
}

/** The contract of a response about one workflow definition. */
export function workflowContract(wf: Workflow, guidance = "stored: start runs of it with StartRun"): AgentContract {
  const md = wf.metadata!;
  return create(AgentContractSchema, {
    resource: workflowResource(md.namespace, md.name),
    state: "",
    nextActions: [
      workflowAction("startRun", `start a run of ${md.name} with its input`),
      workflowAction("getWorkflow", "read the definition"),
      workflowAction("putWorkflow", `change it; send metadata.resource_version ${md.resourceVersion} to update only this version (D2)`),
      workflowAction("listRuns", `list runs of ${md.name} (filter workflow = ${md.name})`),
      workflowAction("deleteWorkflow", "delete the definition (started runs go on)"),
    ],
    recovery: create(RecoverySchema, { retryable: false, guidance }),
  });
}

/** The contract of a response about one run (C3: actions valid in its state). */
export function runContract(run: Run): AgentContract {
  const state = RunState[run.state];
  const get = workflowAction("getRun", "read the run with every step's state, join, attempts and errors");
  if (run.state !== RunState.RUNNING) {
    return create(AgentContractSchema, {
      resource: `run/${run.id}`,
      state,
      nextActions: [get, workflowAction("startRun", `start a new run of ${run.workflow}`)],
      recovery: create(RecoverySchema, {
        retryable: false,
        guidance:
          run.state === RunState.SUCCEEDED ?
            "done: the leaf steps' outputs are in run.output, every step's output in run.steps"
          : `ended ${state}: ${run.terminalReason}; read run.steps for each step's error, or start a new run`,
      }),
    });
  }
  const waiting = run.steps.filter((s) => s.state === StepState.WAITING_APPROVAL).map((s) => s.name);
  const actions = [get, workflowAction("watchRun", "stream the run's events until it ends (filter run_id)")];
  if (waiting.length > 0) {
    actions.push(
      workflowAction("approveStep", `approve step ${waiting.join(" or ")} so it starts`),
      workflowAction("rejectStep", `reject step ${waiting.join(" or ")}; its on_failure applies`),
    );
  }
  actions.push(workflowAction("cancelRun", "cancel the run and its running steps"));
  return create(AgentContractSchema, {
    resource: `run/${run.id}`,
    state,
    nextActions: actions,
    recovery: create(RecoverySchema, {
      retryable: false,
      guidance:
        waiting.length > 0 ?
          `paused: step ${waiting.join(", ")} waits for ApproveStep or RejectStep`
        : "running: watch the run (WatchRun) or poll GetRun for its outcome",
    }),
  });
}

/** The contract of a list response. */
export function workflowListContract(nextActions: NextAction[], guidance: string): AgentContract {
  return create(AgentContractSchema, { nextActions, recovery: create(RecoverySchema, { retryable: false, guidance }) });
}

export function workflowNotFound(namespace: string, name: string): ConnectError {
  return batonError({
    reason: ErrorReason.WORKFLOW_NOT_FOUND,
    message: `workflow ${name} does not exist in namespace ${namespace}`,
    resource: workflowResource(namespace, name),
    nextActions: [workflowAction("listWorkflows", "find the workflow's name"), workflowAction("putWorkflow", "create it")],
    guidance: "check the name and namespace, or create the workflow with PutWorkflow; retrying will not help",
  });
}

export function runNotFound(id: string): ConnectError {
  return batonError({
    reason: ErrorReason.RUN_NOT_FOUND,
    message: `run ${id} does not exist`,
    resource: `run/${id}`,
    nextActions: [workflowAction("listRuns", "find the run's id")],
    guidance: "check the id (ids come from StartRun or ListRuns); retrying the same id will not help",
  });
}

export function stepNotFound(runId: string, step: string, known: string[]): ConnectError {
  return batonError({
    reason: ErrorReason.STEP_NOT_FOUND,
    message: `run ${runId} has no step ${JSON.stringify(step)}; its steps are ${known.join(", ")}`,
    resource: `run/${runId}`,
    nextActions: [workflowAction("getRun", "read the run's steps")],
    guidance: "use one of the run's step names",
  });
}

/** D2. */
export function resourceVersionStale(namespace: string, name: string, given: string, current: string | undefined): ConnectError {
  return batonError({
    reason: ErrorReason.RESOURCE_VERSION_STALE,
    message:
      current === undefined ?
        `workflow ${name} no longer exists (resource_version ${given} was given)`
      : `workflow ${name} is at resource_version ${current}, not ${given}: it changed since it was read`,
    resource: workflowResource(namespace, name),
    state: current === undefined ? "" : `resource_version ${current}`,
    nextActions: [workflowAction("getWorkflow", "read the current definition and version, merge your change, and put it again")],
    guidance: "someone else changed the workflow: read it again, reapply your change, and send the new resource_version",
  });
}

/** S3 for runs and steps. */
export function runInvalidState(run: Run, message: string): ConnectError {
  return batonError({
    reason: ErrorReason.INVALID_STATE,
    message,
    resource: `run/${run.id}`,
    state: RunState[run.state],
    nextActions: runContract(run).nextActions,
    guidance: "the call is not valid in the run's (or step's) current state; read the run and pick a listed next action",
  });
}

const runStates: Record<string, RunState> = {
  running: RunState.RUNNING,
  succeeded: RunState.SUCCEEDED,
  failed: RunState.FAILED,
  cancelled: RunState.CANCELLED,
  timed_out: RunState.TIMED_OUT,
};
const stepStates: Record<string, StepState> = {
  waiting: StepState.WAITING,
  waiting_approval: StepState.WAITING_APPROVAL,
  running: StepState.RUNNING,
  succeeded: StepState.SUCCEEDED,
  failed: StepState.FAILED,
  skipped: StepState.SKIPPED,
  cancelled: StepState.CANCELLED,
};

export function runStateOf(name: string): RunState {
  return runStates[name] ?? RunState.UNSPECIFIED;
}

export function stepStateOf(name: string): StepState {
  return stepStates[name] ?? StepState.UNSPECIFIED;
}

/** RunState → stored name, for filters. */
export const runStateNameOf: Partial<Record<RunState, string>> = Object.fromEntries(Object.entries(runStates).map(([k, v]) => [v, k]));
