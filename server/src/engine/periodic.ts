/**
 * The two loop shapes every background service of a replica uses, written once:
 * a sweep that runs every interval, one run at a time; and a pokeable job whose
 * pokes coalesce (one more run after the one in flight), also run every interval
 * to catch work nobody poked about. Failures are logged and retried next time.
 */
import type { Logger } from "pino";

export interface Periodic {
  stop(): Promise<void>;
}

export interface Pokeable extends Periodic {
  /** Asks for a run soon; calls while a run is in flight coalesce into one more run. */
  poke(): void;
}

/** Runs `work` every `intervalMs`, never two at once, until stopped. */
export function startPeriodic(intervalMs: number, work: () => Promise<void>, log: Logger, failure: string): Periodic {
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(async () => {
      try {
        await work();
      } catch (err) {
        log.warn({ err }, failure);
      }
    });
  }, intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}

/** Runs `work` when poked (coalescing) and every `intervalMs`, until stopped. */
export function startPokeable(intervalMs: number, work: () => Promise<void>, log: Logger, failure: string): Pokeable {
  let inFlight: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const run = async (): Promise<void> => {
    do {
      again = false;
      try {
        await work();
      } catch (err) {
        log.warn({ err }, failure);
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
