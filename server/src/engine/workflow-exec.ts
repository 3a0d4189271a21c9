/**
 * Carries out a run's plan (core/workflow-plan.ts) inside the caller's
 * transaction, which holds the run's lock: creates the tasks of started steps,
 * cancels tasks (never waiting on a task row), writes the steps, the run's end
 * and the run events. What must happen after commit (wake claimers, push
 * cancels to workers, sequence events) is collected in WorkflowEffects.
 */
import { v7 as uuidv7 } from "uuid";
import { publishLeaseSignal, type LeaseSignal } from "../bus/lease-signals.js";
import { RUN_LABEL, STEP_LABEL, WORKFLOW_LABEL, workflowDefFromStored, type WorkflowDef } from "../core/workflow-def.js";
import { advance, type Plan, type RunInputEvent } from "../core/workflow-plan.js";
import type { Queryable } from "../store/database.js";
import type { TaskRow } from "../core/task-row.js";
import { taskInsertMany, type NewTask } from "../store/tasks.js";
import { runApply, runStepsGet, runStepsSetCancelPending } from "../store/run-steps.js";
import { taskCancelDone, taskCancelForRun } from "../store/step-tasks.js";
import { stepStatusFromRow, type RunRow } from "../core/workflow-rows.js";
import { announce, type Engine } from "./engine.js";

/** After-commit work of workflow changes. Dropped, unpublished, when the transaction rolls back. */
export class WorkflowEffects {
  readonly tasks: TaskRow[] = [];
  readonly signals: LeaseSignal[] = [];
  /** Task events were written (creations, cancellations). */
  taskEvents = false;
  runEvents = false;

  /** Call once, after commit. */
  publish(engine: Engine): void {
    if (this.taskEvents) announce(engine, this.tasks);
    if (this.tasks.length > 0) engine.metrics?.created(this.tasks);
    for (const s of this.signals) publishLeaseSignal(engine.bus, s);
    if (this.runEvents) engine.runEventsWritten();
  }
}

/** Advances a locked run by one event and applies the plan; returns the run row after it. */
export async function advanceRun(
  tx: Queryable,
  run: RunRow & { db_now: Date },
  event: RunInputEvent,
  effects: WorkflowEffects,
  def: WorkflowDef = workflowDefFromStored(run.spec),
): Promise<RunRow & { db_now: Date }> {
  const steps = (await runStepsGet(tx, run.id)).map(stepStatusFromRow);
  const plan = advance(def, run.input, steps, event, run.db_now);
  const after = await applyPlan(tx, run, def, plan, effects);
  return { ...after, db_now: run.db_now };
}

/** Writes a plan for a run whose lock the caller holds. */
export async function applyPlan(tx: Queryable, run: RunRow, def: WorkflowDef, plan: Plan, effects: WorkflowEffects): Promise<RunRow> {
  const statuses = new Map(plan.steps.map((s) => [s.name, s]));
  const changed = new Set(plan.changed);

  // D7, D8: every step that became ready gets its task now, in this transaction.
  if (plan.start.length > 0) {
    const defs = new Map(def.steps.map((d) => [d.name, d]));
    const fresh = plan.start.map(({ step, payload }): NewTask => {
      const d = defs.get(step)!;
      const id = uuidv7();
      statuses.get(step)!.taskId = id;
      changed.add(step);
      return {
        ...d.task,
        id,
        requestHash: "",
        namespace: run.namespace,
        payload,
        scheduledAtMs: null,
        idempotencyKey: null,
        traceId: run.trace_id,
        parentId: run.id,
        labels: { ...d.task.labels, [RUN_LABEL]: run.id, [WORKFLOW_LABEL]: run.workflow, [STEP_LABEL]: step },
      };
    });
    effects.tasks.push(...(await taskInsertMany(tx, fresh)));
    effects.taskEvents = true;
  }

  // D6, D11: cancel as CancelTask does; a task locked right now is retried by the sweeper.
  const stillToCancel: string[] = [];
  const byReason = new Map<string, { step: string; taskId: string }[]>();
  for (const c of plan.cancel) byReason.set(c.reason, [...(byReason.get(c.reason) ?? []), c]);
  for (const [reason, items] of byReason) {
    const ids = items.map((i) => i.taskId);
    const done = await taskCancelForRun(tx, ids, reason);
    if (done.length > 0) effects.taskEvents = true;
    for (const d of done) {
      if (d.outcome === "flagged" && d.lease_id) effects.signals.push({ taskId: d.id, leaseId: d.lease_id, reason, leaseLost: false });
    }
    const handled = new Set(done.map((d) => d.id));
    const untouched = ids.filter((id) => !handled.has(id));
    const finished = new Set(await taskCancelDone(tx, untouched));
    for (const i of items) if (!handled.has(i.taskId) && !finished.has(i.taskId)) stillToCancel.push(i.step);
  }

  const row = await runApply(tx, {
    runId: run.id,
    steps: [...changed].map((n) => statuses.get(n)!),
    end: plan.end,
    events: plan.events.map((e) => ({ type: e.type, step: e.step === null ? null : statuses.get(e.step)! })),
  });
  await runStepsSetCancelPending(tx, run.id, stillToCancel, true);
  if (plan.events.length > 0) effects.runEvents = true;
  return row;
}
