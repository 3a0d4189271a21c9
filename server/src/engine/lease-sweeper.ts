import { expiredAttemptOutcome } from "../core/lease.js";
import { taskDeadLetterUnstarted, taskLockExpiredLeases } from "../store/tasks.js";
import type { StoredError, TaskRow } from "../core/task-row.js";
import { decideForRow, endAttempt } from "./lease-calls.js";
import { publishLeaseSignal } from "../bus/lease-signals.js";
import { workerDeleteSilent } from "../store/workers.js";
import { announce, type Engine } from "./engine.js";
import { startPeriodic, type Periodic } from "./periodic.js";
import { afterTaskTransitions, WorkflowEffects } from "./workflow-hooks.js";

const BATCH = 500;
/** Worker rows left by a replica that died are removed after this long without a heartbeat. */
const STALE_WORKER_ROW_MS = 60_000;

/**
 * One sweep (rules L3 and T7): ends attempts whose lease expired and dead-letters
 * tasks never started in time. Every replica runs it; SKIP LOCKED makes
 * concurrent sweeps split the work instead of repeating it. `now` moves the
 * clock in tests; null is the database clock. Returns the tasks it changed.
 */
export async function sweepOnce(engine: Engine, now: Date | null = null): Promise<TaskRow[]> {
  const lost: { taskId: string; leaseId: string }[] = [];
  const ended: { row: TaskRow; outcome: "timed_out" | "lease_expired"; startedAt: Date | string | null }[] = [];
  let unstarted: TaskRow[] = [];
  const workflow = new WorkflowEffects();
  const changed = await engine.sql.begin(async (tx) => {
    const out: TaskRow[] = [];
    for (const row of await taskLockExpiredLeases(tx, now, BATCH)) {
      const nowMs = row.db_now.getTime();
      const startedMs = new Date(row.lease_started_at as Date).getTime();
      const expiredMs = new Date(row.lease_expires_at as Date).getTime();
      const outcome = expiredAttemptOutcome(expiredMs, startedMs, Number(row.start_to_close_ms));
      const error: StoredError =
        outcome === "timed_out"
          ? { type: "start_to_close_timeout", message: "the attempt ran past its start_to_close_timeout", nonRetryable: false }
          : { type: "lease_expired", message: `worker ${row.lease_worker_id} sent no heartbeat before its lease expired`, nonRetryable: false };
      const decision = decideForRow(row, error, 0, nowMs);
      lost.push({ taskId: row.id, leaseId: row.lease_id as string });
      const after = await endAttempt(tx, row, decision, outcome, error);
      ended.push({ row: after, outcome, startedAt: row.lease_started_at });
      out.push(after);
    }
    unstarted = await taskDeadLetterUnstarted(tx, now, BATCH);
    out.push(...unstarted);
    await afterTaskTransitions(tx, out, workflow); // workflows: dead-lettered steps follow their on_failure (D9)
    return out;
  });
  workflow.publish(engine);
  for (const e of ended) engine.metrics?.attemptEnded(e.row, e.outcome, e.startedAt);
  if (unstarted.length > 0) engine.metrics?.deadLetteredUnstarted(unstarted);
  // A zombie still running a task must learn it lost the lease (B2).
  for (const l of lost) publishLeaseSignal(engine.bus, { ...l, reason: "lease expired", leaseLost: true });
  if (changed.length > 0) announce(engine, changed.filter((r) => r.state === "pending"));
  return changed;
}

/** Runs sweeps every `intervalMs` until stopped; a failed sweep is logged and retried next tick. */
export function startLeaseSweeper(engine: Engine, intervalMs: number): Periodic {
  const work = async () => {
    await sweepOnce(engine);
    await workerDeleteSilent(engine.sql, STALE_WORKER_ROW_MS);
  };
  return startPeriodic(intervalMs, work, engine.log, "lease sweep failed; retrying next tick");
}
