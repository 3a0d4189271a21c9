/**
 * Heartbeat scheduling (rule B1: a heartbeat at least every interval).
 *
 * Timers fire late, never early, and the message still has to cross the
 * network, so beats go out at a fraction of the interval rather than at it.
 */
export const HEARTBEAT_FRACTION = 0.8;
/** Used when a Welcome carries no interval. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 10_000;

export function heartbeatPeriodMs(intervalMs: number): number {
  const interval = intervalMs > 0 ? intervalMs : DEFAULT_HEARTBEAT_INTERVAL_MS;
  return Math.max(10, Math.floor(interval * HEARTBEAT_FRACTION));
}

/**
 * Calls `beat` every period until stopped. A beat that is still running when
 * the next one is due is not overlapped (unary heartbeats in Listen mode can
 * be slow); the late beat simply goes out on the following tick.
 */
export class HeartbeatTimer {
  #timer: ReturnType<typeof setInterval> | undefined;
  #busy = false;
  readonly #beat: () => void | Promise<void>;
  readonly #onError: (err: unknown) => void;

  constructor(beat: () => void | Promise<void>, onError: (err: unknown) => void) {
    this.#beat = beat;
    this.#onError = onError;
  }

  start(intervalMs: number): void {
    this.stop();
    this.#timer = setInterval(() => this.beatNow(), heartbeatPeriodMs(intervalMs));
  }

  /** An extra beat now (an explicit `ctx.heartbeat()`); the schedule stays as it is. */
  beatNow(): Promise<void> {
    if (this.#busy) return Promise.resolve();
    this.#busy = true;
    return (async () => {
      try {
        await this.#beat();
      } catch (err) {
        this.#onError(err);
      } finally {
        this.#busy = false;
      }
    })();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
