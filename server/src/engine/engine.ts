import type { Logger } from "pino";
import type postgres from "postgres";
import type { Bus } from "../bus/bus.js";
import { queueReadySubject } from "../bus/subjects.js";
import type { CompletionBatcher } from "./complete-batcher.js";
import type { TaskMetrics } from "./task-metrics.js";

/**
 * What every engine operation needs: the database, the bus, a logger, and this
 * replica's background services that operations poke. The services are fields,
 * reached through the object itself, so a copy (callEngine's `{...engine, log}`)
 * still reaches them; nothing is looked up by the object's identity.
 */
export interface Engine {
  sql: postgres.Sql;
  bus: Bus;
  log: Logger;
  /** Called after a commit that wrote task events: the local sequencer stamps them soon. */
  eventsWritten(): void;
  /** Called after a commit that wrote run events: the local run event sequencer stamps them soon. */
  runEventsWritten(): void;
  /** Batches completions of tasks that are not workflow steps into one statement. */
  completions: CompletionBatcher;
  /** Counts claims, results, expiries, retries and dead letters; unset in tools and tests that don't scrape. */
  metrics?: TaskMetrics;
}

/**
 * Announces a committed change: wakes claimers of the given queues (a task there
 * may be claimable now) and asks for the new events to be sequenced.
 * Called only after commit, so a woken claimer always finds the row.
 */
export function announce(engine: Engine, readyQueues: Iterable<{ namespace: string; queue: string }> = []): void {
  const seen = new Set<string>();
  for (const { namespace, queue } of readyQueues) {
    const subject = queueReadySubject(namespace, queue);
    if (seen.has(subject)) continue;
    seen.add(subject);
    engine.bus.publish(subject);
  }
  engine.eventsWritten();
}
