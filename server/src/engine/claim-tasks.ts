import { queueReadySubject } from "../bus/subjects.js";
import { taskClaim, type ClaimParams } from "../store/task-leases.js";
import { taskNextScheduledAt } from "../store/tasks.js";
import type { TaskRow } from "../core/task-row.js";
import { announce, type Engine } from "./engine.js";

/**
 * How often a waiting claimer looks again without a wake-up: covers retries
 * becoming due and wake-ups lost on the bus.
 */
const POLL_INTERVAL_MS = 1_000;

/**
 * Claims up to `limit` tasks, waiting up to `waitMs` for the first one (long
 * poll). Waiting holds no database connection: the claimer sleeps until a
 * wake-up for its queue arrives on the bus, or the poll interval passes.
 */
export async function claimTasks(engine: Engine, params: ClaimParams, waitMs: number, signal: AbortSignal): Promise<TaskRow[]> {
  const deadline = Date.now() + waitMs;
  let woken = false;
  let wake = () => {};
  // Subscribe before the first attempt so a wake-up between the two is not missed.
  const unsubscribe = engine.bus.subscribe(queueReadySubject(params.namespace, params.queue), () => {
    woken = true;
    wake();
  });
  try {
    for (;;) {
      woken = false;
      const rows = await taskClaim(engine.sql, params);
      if (rows.length > 0) {
        announce(engine);
        engine.metrics?.claimed(rows);
        return rows;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0 || signal.aborted) return [];
      if (!woken) {
        // Wake when the next delayed task of the queue is due, not a poll interval later.
        const next = await taskNextScheduledAt(engine.sql, params.namespace, params.queue);
        const dueInMs = next ? Math.max(1, next.getTime() - Date.now() + 1) : POLL_INTERVAL_MS;
        // A wake-up that arrived during that query found no waiter: claim again at once.
        if (woken) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(remaining, POLL_INTERVAL_MS, dueInMs));
          signal.addEventListener("abort", done, { once: true });
          wake = done;
          function done() {
            clearTimeout(timer);
            signal.removeEventListener("abort", done);
            wake = () => {};
            resolve();
          }
        });
      }
    }
  } finally {
    unsubscribe();
  }
}
