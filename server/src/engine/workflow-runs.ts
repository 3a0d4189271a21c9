/**
 * WorkflowService's transactions: definitions (D2), starting runs (D17),
 * cancelling them (D11), approvals (D10) and reads. Each change to a run locks
 * its row first, so it never interleaves with a task transition of the same run.
 */
import { ErrorReason } from "../../../gen/ts/baton/v1/contract_pb.js";
import { create, type JsonObject } from "@bufbuild/protobuf";
import { v7 as uuidv7 } from "uuid";
import { RunSchema, RunState, RunStepSchema } from "../../../gen/ts/baton/v1/workflow_pb.js";
import { batonError } from "../core/errors.js";
import { requestHash } from "../core/request-hash.js";
import {
  resourceVersionStale,
  runInvalidState,
  runNotFound,
  runStateOf,
  stepNotFound,
  stepStateOf,
  workflowAction,
  workflowNotFound,
} from "../core/workflow-contract.js";
import { workflowDefFromStored } from "../core/workflow-def.js";
import { advance, newStepStatus, type RunInputEvent, type RunStateName } from "../core/workflow-plan.js";
import type { AttemptRow, TaskRow } from "../core/task-row.js";
import { runGet, runGetByIdempotencyKey, runInsert, runList, runLock, type RunListFilter } from "../store/runs.js";
import { runStepsGet, runStepsInsert } from "../store/run-steps.js";
import { stepAttemptsGet, stepTasksGet } from "../store/step-tasks.js";
import { workflowDelete, workflowGet, workflowInsert, workflowList, workflowUpdate } from "../store/workflows.js";
import { type RunRow, type StepRow, type WorkflowRow } from "../core/workflow-rows.js";
import type { Engine } from "./engine.js";
import { advanceRun, applyPlan, WorkflowEffects } from "./workflow-exec.js";

export interface PutInput {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  spec: JsonObject;
  /** "" writes unconditionally (D2). */
  expectedVersion: string;
  validateOnly: boolean;
}

export interface PutOutcome {
  row: WorkflowRow;
  created: boolean;
  changed: boolean;
}

/** PutWorkflow after validation and analysis (D1, D2). */
export async function putWorkflow(engine: Engine, p: PutInput): Promise<PutOutcome> {
  const specHash = requestHash([p.labels, p.spec]);
  const write = { namespace: p.namespace, name: p.name, labels: p.labels, spec: p.spec, specHash };
  const attempt = (): Promise<PutOutcome> =>
    engine.sql.begin(async (tx): Promise<PutOutcome> => {
      const existing = await workflowGet(tx, p.namespace, p.name, true);
      const current = existing === undefined ? undefined : String(existing.resource_version);
      if (p.expectedVersion !== "" && current !== p.expectedVersion) throw resourceVersionStale(p.namespace, p.name, p.expectedVersion, current);
      if (existing && existing.spec_hash === specHash) return { row: existing, created: false, changed: false };
      if (p.validateOnly) {
        const now = new Date();
        const row: WorkflowRow = existing ?
            { ...existing, labels: p.labels, spec: p.spec, spec_hash: specHash, updated_at: now }
          : { ...write, resource_version: "", spec_hash: specHash, created_at: now, updated_at: now };
        return { row, created: !existing, changed: true };
      }
      if (existing) return { row: await workflowUpdate(tx, write), created: false, changed: true };
      const inserted = await workflowInsert(tx, write);
      if (inserted) return { row: inserted, created: true, changed: true };
      throw new RetryPut();
    });
  try {
    return await attempt();
  } catch (err) {
    // A concurrent PutWorkflow created it between our read and insert: go again as an update.
    if (err instanceof RetryPut) return attempt();
    throw err;
  }
}

class RetryPut extends Error {}

/** DeleteWorkflow (D2, D3): started runs keep their own copy of the definition. */
export async function deleteWorkflow(engine: Engine, namespace: string, name: string, expectedVersion: string): Promise<WorkflowRow> {
  return engine.sql.begin(async (tx) => {
    const existing = await workflowGet(tx, namespace, name, true);
    if (!existing) {
      if (expectedVersion !== "") throw resourceVersionStale(namespace, name, expectedVersion, undefined);
      throw workflowNotFound(namespace, name);
    }
    if (expectedVersion !== "" && String(existing.resource_version) !== expectedVersion) {
      throw resourceVersionStale(namespace, name, expectedVersion, String(existing.resource_version));
    }
    await workflowDelete(tx, namespace, name);
    return existing;
  });
}

export async function getWorkflow(engine: Engine, namespace: string, name: string): Promise<WorkflowRow> {
  const row = await workflowGet(engine.sql, namespace, name);
  if (!row) throw workflowNotFound(namespace, name);
  return row;
}

export function listWorkflows(engine: Engine, namespace: string, afterName: string | null, limit: number): Promise<WorkflowRow[]> {
  return workflowList(engine.sql, namespace, afterName, limit);
}

export interface StartInput {
  namespace: string;
  workflow: string;
  input: JsonObject;
  idempotencyKey: string | null;
  labels: Record<string, string>;
  workflowVersion: string;
  traceId: string;
  requestHash: string;
}

/** StartRun (D17): the run, its steps and its root steps' tasks in one transaction. */
export async function startRun(engine: Engine, s: StartInput): Promise<{ row: RunRow; created: boolean }> {
  const effects = new WorkflowEffects();
  const outcome = await engine.sql.begin(async (tx) => {
    if (s.idempotencyKey !== null) {
      const prior = await runGetByIdempotencyKey(tx, s.namespace, s.idempotencyKey);
      if (prior) return replay(prior, s);
    }
    const wf = await workflowGet(tx, s.namespace, s.workflow);
    if (!wf) throw workflowNotFound(s.namespace, s.workflow);
    if (s.workflowVersion !== "" && String(wf.resource_version) !== s.workflowVersion) {
      throw resourceVersionStale(s.namespace, s.workflow, s.workflowVersion, String(wf.resource_version));
    }
    const def = workflowDefFromStored(wf.spec);
    const run = await runInsert(tx, {
      id: uuidv7(),
      namespace: s.namespace,
      workflow: s.workflow,
      workflowVersion: String(wf.resource_version),
      spec: wf.spec,
      input: s.input,
      idempotencyKey: s.idempotencyKey,
      requestHash: s.requestHash,
      labels: s.labels,
      traceId: s.traceId,
      runTimeoutMs: def.runTimeoutMs,
    });
    if (!run) {
      // The same key was used by a concurrent StartRun that committed first.
      const prior = await runGetByIdempotencyKey(tx, s.namespace, s.idempotencyKey!);
      if (!prior) throw new Error(`run with idempotency key ${s.idempotencyKey} was neither inserted nor found`);
      return replay(prior, s);
    }
    const initial = def.steps.map((d) => newStepStatus(d.name));
    await runStepsInsert(tx, run.id, initial);
    const plan = advance(def, s.input, initial, { kind: "start" }, run.db_now);
    return { row: await applyPlan(tx, run, def, plan, effects), created: true };
  });
  effects.publish(engine);
  return outcome;
}

function replay(prior: RunRow, s: StartInput): { row: RunRow; created: boolean } {
  if (prior.request_hash === s.requestHash) return { row: prior, created: false };
  throw batonError({
    reason: ErrorReason.IDEMPOTENCY_KEY_REUSED,
    message: `idempotency key ${JSON.stringify(s.idempotencyKey)} was already used for run ${prior.id} with a different request body`,
    violations: [{ field: "idempotency_key", description: "was used before with a different body: use a new key for a different run" }],
    resource: `run/${prior.id}`,
    state: RunState[runStateOf(prior.state)],
    nextActions: [workflowAction("getRun", `read the run started with this key: ${prior.id}`)],
    guidance: "a key identifies one request: resend the original body to get the original run, or use a new key",
  });
}

/** CancelRun (D11). */
export async function cancelRun(engine: Engine, id: string, reason: string): Promise<RunRow> {
  const why = reason === "" ? "cancelled by caller" : `cancelled by caller: ${reason}`;
  return changeRun(engine, id, (run) => {
    if (run.state === "cancelled") return undefined;
    if (run.state !== "running") throw runInvalidState(brief(run, []), `run ${id} is ${run.state.toUpperCase()} and can no longer be cancelled`);
    return { kind: "end", state: "cancelled", reason: why };
  });
}

/** ApproveStep / RejectStep (D10). */
export async function decideStep(
  engine: Engine,
  runId: string,
  step: string,
  decision: { approve: true; by: string; comment: string } | { approve: false; by: string; reason: string },
): Promise<RunRow> {
  return changeRun(engine, runId, (run, steps) => {
    const s = steps.find((x) => x.name === step);
    if (!s) throw stepNotFound(runId, step, steps.map((x) => x.name));
    const verb = decision.approve ? "approved" : "rejected";
    if (run.state !== "running") throw runInvalidState(brief(run, steps), `run ${runId} is ${run.state.toUpperCase()}: step ${step} can no longer be ${verb}`);
    if (s.state !== "waiting_approval") {
      throw runInvalidState(brief(run, steps), `step ${step} is ${s.state.toUpperCase()}, not WAITING_APPROVAL: only a step waiting for approval can be ${verb}`);
    }
    return decision.approve ?
        { kind: "approve", step, by: decision.by, comment: decision.comment }
      : { kind: "reject", step, by: decision.by, reason: decision.reason };
  });
}

/** Locks a run, lets `decide` pick the event (undefined: no change), applies it. */
async function changeRun(
  engine: Engine,
  id: string,
  decide: (run: RunRow, steps: StepRow[]) => RunInputEvent | undefined,
): Promise<RunRow> {
  const effects = new WorkflowEffects();
  const row = await engine.sql.begin(async (tx) => {
    const run = await runLock(tx, id);
    if (!run) throw runNotFound(id);
    const event = decide(run, await runStepsGet(tx, id));
    if (!event) return run;
    return advanceRun(tx, run, event, effects);
  });
  effects.publish(engine);
  return row;
}

/** A Run message with just enough for an error's contract. */
function brief(run: RunRow, steps: StepRow[]) {
  return create(RunSchema, {
    id: run.id,
    workflow: run.workflow,
    state: runStateOf(run.state),
    steps: steps.map((s) => create(RunStepSchema, { name: s.name, state: stepStateOf(s.state) })),
  });
}

export interface RunDetail {
  run: RunRow;
  steps: StepRow[];
  tasks: Map<string, TaskRow>;
  attempts: Map<string, AttemptRow[]>;
}

/** GetRun: the run, its steps, and each step task's state and attempts. */
export async function getRun(engine: Engine, id: string): Promise<RunDetail> {
  const run = await runGet(engine.sql, id);
  if (!run) throw runNotFound(id);
  const steps = await runStepsGet(engine.sql, id);
  const ids = steps.map((s) => s.task_id).filter((t): t is string => t !== null);
  const tasks = new Map((await stepTasksGet(engine.sql, ids)).map((t) => [t.id, t]));
  const attempts = new Map<string, AttemptRow[]>();
  for (const a of await stepAttemptsGet(engine.sql, ids)) attempts.set(a.task_id, [...(attempts.get(a.task_id) ?? []), a]);
  return { run, steps, tasks, attempts };
}

/** The run's steps only (for contracts of changed runs). */
export function getRunSteps(engine: Engine, id: string): Promise<StepRow[]> {
  return runStepsGet(engine.sql, id);
}

export function listRuns(engine: Engine, f: RunListFilter): Promise<RunRow[]> {
  return runList(engine.sql, f);
}

export type { RunStateName };
