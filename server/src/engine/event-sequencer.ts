/**
 * The outbox sequencer, one implementation for task events and run events (see
 * docs/ARCHITECTURE.md "Watch cursors without gaps"): stamps committed events
 * with cursors shortly after they commit, then tells every replica's watchers
 * (over the bus) the highest cursor readable. Poked after commits that wrote
 * events, and run once per interval to catch events whose writer died before poking.
 */
import type postgres from "postgres";
import { EVENTS_SEQUENCED_SUBJECT } from "../bus/subjects.js";
import { eventSequence } from "../store/events.js";
import { runEventSequence, runEventsWaiting } from "../store/run-events.js";
import type { Engine } from "./engine.js";
import { startPokeable, type Pokeable } from "./periodic.js";

export type EventSequencer = Pokeable;

/** Run events were sequenced; the payload is the highest cursor as decimal text. */
export const RUN_EVENTS_SEQUENCED_SUBJECT = "baton.workflow.run-events.sequenced";

interface Outbox {
  /** Names the outbox in log lines. */
  name: string;
  /** Announces the highest cursor stamped. */
  subject: string;
  /** Stamps one batch; the highest cursor stamped, or undefined when none waited. */
  sequence(sql: postgres.Sql): Promise<bigint | undefined>;
  /** A cheap read to skip the locking transaction when idle; absent: always sequence. */
  waiting?(sql: postgres.Sql): Promise<boolean>;
}

function startOutboxSequencer(engine: Pick<Engine, "sql" | "bus" | "log">, outbox: Outbox, intervalMs: number): EventSequencer {
  const work = async () => {
    if (outbox.waiting && !(await outbox.waiting(engine.sql))) return;
    let max: bigint | undefined;
    for (let batch = await outbox.sequence(engine.sql); batch !== undefined; batch = await outbox.sequence(engine.sql)) max = batch;
    if (max !== undefined) engine.bus.publish(outbox.subject, new TextEncoder().encode(max.toString()));
  };
  return startPokeable(intervalMs, work, engine.log, `${outbox.name} sequencing failed; retrying on the next write or tick`);
}

/** The task event sequencer; writers poke it through Engine.eventsWritten. */
export function startEventSequencer(engine: Pick<Engine, "sql" | "bus" | "log">, intervalMs: number): EventSequencer {
  return startOutboxSequencer(engine, { name: "event", subject: EVENTS_SEQUENCED_SUBJECT, sequence: (sql) => eventSequence(sql) }, intervalMs);
}

/** The run event sequencer; writers poke it through Engine.runEventsWritten. */
export function startRunEventSequencer(engine: Pick<Engine, "sql" | "bus" | "log">, intervalMs: number): EventSequencer {
  return startOutboxSequencer(
    engine,
    { name: "run event", subject: RUN_EVENTS_SEQUENCED_SUBJECT, sequence: (sql) => runEventSequence(sql), waiting: runEventsWaiting },
    intervalMs,
  );
}
