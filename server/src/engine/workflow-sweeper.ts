/**
 * The workflow sweep, run by every replica each interval:
 *
 * 1. runs past their run_timeout end TIMED_OUT (D12); SKIP LOCKED lets
 *    replicas split them;
 * 2. a running step whose task ended on a path that does not advance runs (a
 *    pending task cancelled with CancelTask) is advanced now;
 * 3. step tasks a run could not cancel at once (their row was locked at that
 *    moment) are cancelled now (D11).
 */
import { formatMs } from "../core/validation.js";
import { workflowDefFromStored } from "../core/workflow-def.js";
import { runLock, runLockTimedOut } from "../store/runs.js";
import { runStepsCancelPending, runStepsSetCancelPending, runStepsStuck, workflowSweepProbe } from "../store/run-steps.js";
import { taskCancelDone, taskCancelForRun } from "../store/step-tasks.js";
import type { Engine } from "./engine.js";
import { startPeriodic, type Periodic } from "./periodic.js";
import { advanceRun, WorkflowEffects } from "./workflow-exec.js";
import { afterTaskTransitions } from "./workflow-hooks.js";

const BATCH = 100;

export async function workflowSweepOnce(engine: Engine, now: Date | null = null): Promise<void> {
  const work = await workflowSweepProbe(engine.sql, now);
  if (work.timed_out) {
    const effects = new WorkflowEffects();
    await engine.sql.begin(async (tx) => {
      for (const run of await runLockTimedOut(tx, now, BATCH)) {
        const def = workflowDefFromStored(run.spec);
        const limit = def.runTimeoutMs === null ? "its run_timeout" : `its run_timeout of ${formatMs(def.runTimeoutMs)}`;
        await advanceRun(tx, run, { kind: "end", state: "timed_out", reason: `the run did not finish within ${limit}` }, effects, def);
      }
    });
    effects.publish(engine);
  }

  const stuck = work.stuck ? await runStepsStuck(engine.sql, BATCH) : [];
  if (stuck.length > 0) {
    const repaired = new WorkflowEffects();
    await engine.sql.begin((tx) => afterTaskTransitions(tx, stuck, repaired));
    repaired.publish(engine);
  }

  const pending = work.cancel_pending ? await runStepsCancelPending(engine.sql, BATCH) : [];
  for (const runId of new Set(pending.map((p) => p.run_id))) {
    const cancels = new WorkflowEffects();
    await engine.sql.begin(async (tx) => {
      if (!(await runLock(tx, runId))) return;
      const steps = pending.filter((p) => p.run_id === runId);
      const done = new Set<string>();
      for (const s of steps) {
        const changed = await taskCancelForRun(tx, [s.task_id], s.reason || "run no longer needs this step");
        for (const c of changed) {
          done.add(c.id);
          cancels.taskEvents = true;
          if (c.outcome === "flagged" && c.lease_id) cancels.signals.push({ taskId: c.id, leaseId: c.lease_id, reason: s.reason, leaseLost: false });
        }
      }
      for (const id of await taskCancelDone(tx, steps.map((s) => s.task_id))) done.add(id);
      await runStepsSetCancelPending(tx, runId, steps.filter((s) => done.has(s.task_id)).map((s) => s.name), false);
    });
    cancels.publish(engine);
  }
}

/** Runs the sweep every `intervalMs` until stopped; a failed sweep is logged and retried next tick. */
export function startWorkflowSweeper(engine: Engine, intervalMs: number): Periodic {
  return startPeriodic(intervalMs, () => workflowSweepOnce(engine), engine.log, "workflow sweep failed; retrying next tick");
}
