import type { Engine } from "./engine.js";

export interface EventAnnouncer {
  /** Asks for a check soon; calls while a check is in flight coalesce into one more. */
  poke(): void;
  stop(): Promise<void>;
}

export interface EventAnnouncerOptions {
  /** The highest settled cursor of the outbox (migrations/004_event_cursors.sql). */
  maxSettled(sql: Engine["sql"]): Promise<bigint>;
  /** Where the cursor is announced; every replica's watch hub for this outbox listens. */
  subject: string;
  intervalMs: number;
}

/**
 * Tells every replica's watchers (over the bus) that an outbox has settled
 * events up to a cursor, so watch streams read instead of polling. Poked after
 * commits that wrote events; also runs once per interval, because an event can
 * settle without a poke here: when a transaction on another replica, or any
 * other writing transaction on the cluster, ends and moves the horizon.
 */
export function startEventAnnouncer(engine: Pick<Engine, "sql" | "bus" | "log">, opts: EventAnnouncerOptions): EventAnnouncer {
  let inFlight: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let announced = 0n;

  const run = async (): Promise<void> => {
    do {
      again = false;
      try {
        const max = await opts.maxSettled(engine.sql);
        if (max > announced) {
          announced = max;
          engine.bus.publish(opts.subject, new TextEncoder().encode(max.toString()));
        }
      } catch (err) {
        engine.log.warn({ err, subject: opts.subject }, "reading the event horizon failed; retrying on the next write or tick");
      }
    } while (again && !stopped);
    inFlight = undefined;
  };

  const poke = () => {
    if (stopped) return;
    if (inFlight) again = true;
    else inFlight = run();
  };
  const timer = setInterval(poke, opts.intervalMs);
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
