import type { Logger } from "./logger.js";

export interface SignalOptions {
  /** Grace for running tasks after the first signal. Default 30s. */
  graceMs?: number;
  signals?: NodeJS.Signals[];
}

/**
 * The first signal drains; a second one (an impatient operator, or an
 * orchestrator's escalation) cuts the grace short. Installing a listener
 * replaces Node's default exit-on-signal, so the process exits when the
 * worker's run() returns and nothing else holds it open.
 */
export function installSignalHandlers(stop: (graceMs: number) => void, opts: SignalOptions, log: Logger): () => void {
  const signals = opts.signals ?? ["SIGTERM", "SIGINT"];
  let received = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    received++;
    if (received === 1) {
      log.info({ signal }, "draining: finishing running tasks");
      stop(opts.graceMs ?? 30_000);
    } else {
      log.warn({ signal }, "second signal: aborting running tasks");
      stop(0);
    }
  };
  for (const s of signals) process.on(s, onSignal);
  return () => {
    for (const s of signals) process.off(s, onSignal);
  };
}
