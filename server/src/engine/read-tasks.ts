import { taskNotFound } from "../core/errors.js";
import { taskAction } from "../core/contract.js";
import { attemptListByTask, taskGetById, taskList, type TaskListFilter } from "../store/tasks.js";
import type { AttemptRow, TaskRow } from "../core/task-row.js";
import type { Engine } from "./engine.js";

export async function getTask(engine: Engine, taskId: string): Promise<{ row: TaskRow; attempts: AttemptRow[] }> {
  const row = await taskGetById(engine.sql, taskId);
  if (!row) throw taskNotFound(taskId, [taskAction("listTasks", "find the task's id")]);
  return { row, attempts: await attemptListByTask(engine.sql, taskId) };
}

export async function listTasks(engine: Engine, filter: TaskListFilter): Promise<TaskRow[]> {
  return taskList(engine.sql, filter);
}
