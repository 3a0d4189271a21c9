import { invalidState, taskNotFound } from "../core/errors.js";
import { taskAction } from "../core/contract.js";
import { taskCancelPending, taskGetById, taskRequeue, taskRequestCancel } from "../store/tasks.js";
import type { TaskRow } from "../core/task-row.js";
import { publishLeaseSignal } from "../bus/lease-signals.js";
import { announce, type Engine } from "./engine.js";

/**
 * CancelTask. Each branch is one guarded statement, so a task that changes state
 * between the read and the write is re-read and handled by its new state.
 */
export async function cancel(engine: Engine, taskId: string, reason: string): Promise<TaskRow> {
  const why = reason === "" ? "cancelled by caller" : `cancelled by caller: ${reason}`;
  for (let tries = 0; tries < 5; tries++) {
    const task = await taskGetById(engine.sql, taskId);
    if (!task) throw taskNotFound(taskId, [taskAction("listTasks", "find the task's id")]);
    switch (task.state) {
      case "pending": {
        const row = await taskCancelPending(engine.sql, taskId, why);
        if (row) return announced(engine, row);
        continue;
      }
      case "claimed": {
        if (task.cancel_requested) return task;
        const row = await taskRequestCancel(engine.sql, taskId, why);
        if (row) {
          publishLeaseSignal(engine.bus, { taskId, leaseId: row.lease_id as string, reason: why, leaseLost: false });
          return announced(engine, row);
        }
        continue;
      }
      case "cancelled":
        return task;
      default:
        throw invalidState(taskId, task.state.toUpperCase(), `task ${taskId} is ${task.state.toUpperCase()} and can no longer be cancelled`, [
          taskAction("getTask", "read the task's outcome"),
        ]);
    }
  }
  throw new Error(`task ${taskId} kept changing state while being cancelled`);
}

/** RequeueTask: DEAD_LETTER back to PENDING (T4). */
export async function requeue(engine: Engine, taskId: string, scheduledAt: Date | null): Promise<TaskRow> {
  const row = await taskRequeue(engine.sql, taskId, scheduledAt);
  if (row) {
    announce(engine, [row]);
    return row;
  }
  const task = await taskGetById(engine.sql, taskId);
  if (!task) throw taskNotFound(taskId, [taskAction("listTasks", "find dead-lettered tasks (states: DEAD_LETTER)")]);
  throw invalidState(taskId, task.state.toUpperCase(), `only DEAD_LETTER tasks can be requeued; task ${taskId} is ${task.state.toUpperCase()}`, [
    taskAction("getTask", "read the task's state"),
  ]);
}

function announced(engine: Engine, row: TaskRow): TaskRow {
  announce(engine);
  return row;
}
