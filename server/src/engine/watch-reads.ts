/**
 * The reads behind WatchTasks and WatchRun: the outboxes' sequenced events after
 * a cursor. api streams them; the queries stay in store, reached through here so
 * api never imports store.
 */
import type { EventRow } from "../core/task-row.js";
import type { RunEventRow, RunRow } from "../core/workflow-rows.js";
import { eventListAfter, eventMaxCursor, type EventFilter } from "../store/events.js";
import { runEventListAfter, runEventMaxCursor, type RunEventFilter } from "../store/run-events.js";
import { runGet } from "../store/runs.js";
import type { Engine } from "./engine.js";

export function taskEventsAfter(engine: Engine, filter: EventFilter, after: bigint, limit: number): Promise<EventRow[]> {
  return eventListAfter(engine.sql, filter, after, limit);
}

/** The newest task event cursor: a watch without a cursor starts here ("from now"). */
export function taskEventsNewest(engine: Engine): Promise<bigint> {
  return eventMaxCursor(engine.sql);
}

export function runEventsAfter(engine: Engine, filter: RunEventFilter, after: bigint, limit: number): Promise<RunEventRow[]> {
  return runEventListAfter(engine.sql, filter, after, limit);
}

/** The newest run event cursor: a watch of all runs without a cursor starts here. */
export function runEventsNewest(engine: Engine): Promise<bigint> {
  return runEventMaxCursor(engine.sql);
}

export function runRead(engine: Engine, runId: string): Promise<RunRow | undefined> {
  return runGet(engine.sql, runId);
}
