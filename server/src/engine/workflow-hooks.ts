/**
 * How task transitions drive runs (rules D7, D9, D14). The task paths call
 * `afterTaskTransitions` inside their own transaction, right after the task
 * changed: for a task that is a run's step, the run is locked and advanced in
 * that same transaction, so the task's result, the step's checkpoint, the join
 * states and the next steps' tasks commit together or not at all.
 *
 * Tasks that are no run's step cost nothing here: they carry no `baton.run`
 * label, and the hook returns without a query.
 */
import { RUN_LABEL } from "../core/workflow-def.js";
import type { RunInputEvent } from "../core/workflow-plan.js";
import type { Queryable } from "../store/database.js";
import type { TaskRow } from "../core/task-row.js";
import { taskComplete } from "../store/task-leases.js";
import { runLockMany } from "../store/runs.js";
import { runStepsByTaskIds, runStepsGet } from "../store/run-steps.js";
import { taskCancelForRun } from "../store/step-tasks.js";
import { type RunRow } from "../core/workflow-rows.js";
import { announce, type Engine } from "./engine.js";
import { advanceRun, WorkflowEffects } from "./workflow-exec.js";

/** True for a task created as a run's step (the cheap pre-check; the step table decides). */
export function isStepTask(row: Pick<TaskRow, "labels">): boolean {
  return typeof row.labels?.[RUN_LABEL] === "string";
}

/**
 * Advances the runs of the given tasks, which the caller's transaction has just
 * changed (and holds locked). Runs are locked in id order, after the tasks.
 */
export async function afterTaskTransitions(tx: Queryable, rows: readonly TaskRow[], effects: WorkflowEffects): Promise<void> {
  const candidates = rows.filter(isStepTask);
  if (candidates.length === 0) return;
  const links = await runStepsByTaskIds(tx, candidates.map((r) => r.id));
  if (links.length === 0) return;
  const runs = await runLockMany(tx, [...new Set(links.map((l) => l.run_id))]);
  for (let run of runs) {
    for (const link of links.filter((l) => l.run_id === run.id)) {
      const task = candidates.find((r) => r.id === link.task_id)!;
      run = await onStepTask(tx, run, link.name, task, effects);
    }
  }
}

async function onStepTask(
  tx: Queryable,
  run: RunRow & { db_now: Date },
  stepName: string,
  task: TaskRow,
  effects: WorkflowEffects,
): Promise<RunRow & { db_now: Date }> {
  const step = (await runStepsGet(tx, run.id)).find((s) => s.name === stepName);
  const live = run.state === "running" && step?.state === "running" && step.task_id === task.id;
  if (!live) {
    // D14: the run no longer waits for this task. A retry of it is not wanted either:
    // cancel it now, while this transaction holds its row.
    if (task.state === "pending") {
      const done = await taskCancelForRun(tx, [task.id], `run ${run.state}; step ${stepName} ${step?.state ?? "gone"}: task no longer needed`);
      if (done.length > 0) effects.taskEvents = true;
    }
    return run;
  }
  const event = stepEventOf(stepName, task);
  if (!event) return run; // retry scheduled: the step keeps running
  return advanceRun(tx, run, event, effects);
}

/** What a task transition means for its step: done, failed for good (after its retries), or nothing yet. */
export function stepEventOf(step: string, task: TaskRow): RunInputEvent | undefined {
  switch (task.state) {
    case "completed":
      return { kind: "task_completed", step, output: task.result ?? {} };
    case "dead_letter":
      return {
        kind: "task_failed",
        step,
        error: task.last_error ?? { type: "dead_letter", message: task.terminal_reason, nonRetryable: true },
        reason: [task.terminal_reason || "dead-lettered", task.last_error?.message].filter(Boolean).join(": "),
      };
    case "cancelled":
      return {
        kind: "task_failed",
        step,
        error: { type: "cancelled", message: task.terminal_reason || "task cancelled", nonRetryable: true },
        reason: `its task was cancelled: ${task.terminal_reason || "no reason given"}`,
      };
    default:
      return undefined;
  }
}

/**
 * CompleteTask for a step's task: the completion and its consequences in one
 * transaction (D7). Undefined when the lease is not current (the caller
 * explains why, as for any task).
 */
export async function completeStepTask(
  engine: Engine,
  taskId: string,
  leaseId: string,
  result: object,
): Promise<(TaskRow & { attempt_started_at: Date }) | undefined> {
  const effects = new WorkflowEffects();
  const row = await engine.sql.begin(async (tx) => {
    const done = await taskComplete(tx, taskId, leaseId, result, true);
    if (done) await afterTaskTransitions(tx, [done], effects);
    return done;
  });
  if (row) {
    announce(engine);
    effects.publish(engine);
  }
  return row;
}

export { WorkflowEffects };
