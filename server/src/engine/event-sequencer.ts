import { EVENTS_SEQUENCED_SUBJECT } from "../bus/subjects.js";
import { eventSequence } from "../store/events.js";
import type { Engine } from "./engine.js";

export interface EventSequencer {
  /** Asks for a run soon; calls while a run is in flight coalesce into one more run. */
  poke(): void;
  stop(): Promise<void>;
}

/**
 * Stamps outbox events with cursors shortly after they commit, then tells every
 * replica's watchers (over the bus) that new events are readable. A periodic run
 * catches events whose writer crashed before poking.
 */
export function startEventSequencer(engine: Pick<Engine, "sql" | "bus" | "log">, intervalMs: number): EventSequencer {
  let inFlight: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const run = async (): Promise<void> => {
    do {
      again = false;
      try {
        let max: bigint | undefined;
        for (let batch = await eventSequence(engine.sql); batch !== undefined; batch = await eventSequence(engine.sql)) {
          max = batch;
        }
        if (max !== undefined) engine.bus.publish(EVENTS_SEQUENCED_SUBJECT, new TextEncoder().encode(max.toString()));
      } catch (err) {
        engine.log.warn({ err }, "event sequencing failed; retrying on the next write or tick");
      }
    } while (again && !stopped);
    inFlight = undefined;
  };

  const poke = () => {
    if (stopped) return;
    if (inFlight) again = true;
    else inFlight = run();
  };
  const timer = setInterval(poke, intervalMs);
  timer.unref();
  return {
    poke,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await inFlight;
    },
  };
}
