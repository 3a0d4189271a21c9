/** Named queries that summarise baton_tasks for metrics and probes. */
import type { Queryable } from "./database.js";
import type { TaskStateName } from "../core/task-row.js";

export interface TaskCount {
  namespace: string;
  queue: string;
  state: TaskStateName;
  count: number;
}

/**
 * TaskCountByQueueState: how many tasks each queue holds in each state. One
 * grouped scan; /metrics caches the answer for about a second.
 */
export async function taskCountByQueueState(sql: Queryable): Promise<TaskCount[]> {
  return sql<TaskCount[]>`
    SELECT namespace, queue, state, count(*)::int AS count FROM baton_tasks
    GROUP BY namespace, queue, state`;
}
