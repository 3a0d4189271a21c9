/** ListWorkers and GetWorker's reads of the live-session registry (baton_workers). */
import type { WorkerRow } from "../core/worker-row.js";
import { workerGet, workerList } from "../store/workers.js";
import type { Engine } from "./engine.js";

export function workersOf(engine: Engine, namespace: string, queue: string): Promise<WorkerRow[]> {
  return workerList(engine.sql, namespace, queue);
}

export function workerSession(engine: Engine, sessionId: string): Promise<WorkerRow | undefined> {
  return workerGet(engine.sql, sessionId);
}
