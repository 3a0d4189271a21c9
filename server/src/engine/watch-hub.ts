import { EVENTS_SEQUENCED_SUBJECT } from "../bus/subjects.js";
import type { Bus } from "../bus/bus.js";

/**
 * One bus subscription per replica for "events were sequenced", shared by every
 * watch stream on it: streams wait here between reads instead of polling.
 */
export interface WatchHub {
  /** The highest cursor announced so far on this replica. */
  latest(): bigint;
  /** True once the server is shutting down: watch streams end and clients resume elsewhere. */
  readonly closed: boolean;
  /** Resolves when events beyond `cursor` may exist, after `maxWaitMs`, or on abort. */
  waitBeyond(cursor: bigint, signal: AbortSignal, maxWaitMs: number): Promise<void>;
  close(): void;
}

/** `subject` carries the highest sequenced cursor (WatchRun uses its own outbox and subject). */
export function createWatchHub(bus: Bus, subject: string = EVENTS_SEQUENCED_SUBJECT): WatchHub {
  let latest = 0n;
  let closed = false;
  const waiters = new Set<{ cursor: bigint; wake: () => void }>();
  const unsubscribe = bus.subscribe(subject, (data) => {
    const max = BigInt(new TextDecoder().decode(data) || "0");
    if (max > latest) latest = max;
    for (const w of [...waiters]) if (max > w.cursor) w.wake();
  });
  return {
    latest: () => latest,
    get closed() {
      return closed;
    },
    waitBeyond(cursor, signal, maxWaitMs) {
      if (latest > cursor || signal.aborted) return Promise.resolve();
      return new Promise((resolve) => {
        const waiter = { cursor, wake: done };
        const timer = setTimeout(done, maxWaitMs);
        signal.addEventListener("abort", done, { once: true });
        waiters.add(waiter);
        function done() {
          clearTimeout(timer);
          signal.removeEventListener("abort", done);
          waiters.delete(waiter);
          resolve();
        }
      });
    },
    close() {
      closed = true;
      unsubscribe();
      for (const w of [...waiters]) w.wake();
    },
  };
}
