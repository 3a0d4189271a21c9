/**
 * The run event sequencer: stamps committed run events with cursors (as the
 * task event sequencer does, see docs/ARCHITECTURE.md "Watch cursors without
 * gaps") and announces the highest one on the bus, where every replica's
 * WatchRun hub hears it. Poked after commits that wrote run events, and
 * once per interval to catch events whose writer died before poking.
 */
import { runEventSequence, runEventsWaiting } from "../store/workflows.js";
import type { Engine } from "./engine.js";

/** Run events were sequenced; the payload is the highest cursor as decimal text. */
export const RUN_EVENTS_SEQUENCED_SUBJECT = "baton.workflow.run-events.sequenced";

export interface RunEventSequencer {
  poke(): void;
  stop(): Promise<void>;
}

/** Started by server.ts; code that wrote run events pokes it through Engine.runEventsWritten. */
export function startRunEventSequencer(engine: Pick<Engine, "sql" | "bus" | "log">, intervalMs: number): RunEventSequencer {
  let inFlight: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const run = async (): Promise<void> => {
    do {
      again = false;
      try {
        let max: bigint | undefined;
        // One cheap read when idle, instead of a transaction with an advisory lock.
        if (!(await runEventsWaiting(engine.sql))) continue;
        for (let batch = await runEventSequence(engine.sql); batch !== undefined; batch = await runEventSequence(engine.sql)) max = batch;
        if (max !== undefined) engine.bus.publish(RUN_EVENTS_SEQUENCED_SUBJECT, new TextEncoder().encode(max.toString()));
      } catch (err) {
        engine.log.warn({ err }, "run event sequencing failed; retrying on the next write or tick");
      }
    } while (again && !stopped);
    inFlight = undefined;
  };

  const sequencer: RunEventSequencer = {
    poke() {
      if (stopped) return;
      if (inFlight) again = true;
      else inFlight = run();
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
  const timer = setInterval(sequencer.poke, intervalMs);
  timer.unref();
  return sequencer;
}
