/**
 * Reconnect delays (rule N1): capped exponential growth with full jitter.
 *
 * Every delay is drawn uniformly from [floor, ceiling] where the ceiling doubles
 * per failure up to the cap. The floor keeps a fleet from hammering a server
 * that just restarted; the full-width draw spreads a fleet that lost the same
 * replica at the same moment, so it does not come back as one wave.
 */
export interface BackoffOptions {
  /** The least delay, also the first ceiling's half. N1: at least 100ms. */
  floorMs?: number;
  /** The largest delay. N1: at most 30s. */
  capMs?: number;
  /** Ceiling growth per consecutive failure. */
  multiplier?: number;
  /** Injected for tests; Math.random otherwise. */
  random?: () => number;
}

export const BACKOFF_FLOOR_MS = 100;
export const BACKOFF_CAP_MS = 30_000;

export class Backoff {
  readonly floorMs: number;
  readonly capMs: number;
  readonly multiplier: number;
  #failures = 0;
  readonly #random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.floorMs = Math.max(BACKOFF_FLOOR_MS, opts.floorMs ?? BACKOFF_FLOOR_MS);
    this.capMs = Math.min(BACKOFF_CAP_MS, Math.max(this.floorMs, opts.capMs ?? BACKOFF_CAP_MS));
    this.multiplier = Math.max(1, opts.multiplier ?? 2);
    this.#random = opts.random ?? Math.random;
  }

  /** Consecutive failures since the last reset. */
  get failures(): number {
    return this.#failures;
  }

  /** The ceiling of the next delay: floor·multiplier^(failures+1), capped. */
  ceilingMs(): number {
    const raw = this.floorMs * Math.pow(this.multiplier, this.#failures + 1);
    return Number.isFinite(raw) ? Math.min(this.capMs, raw) : this.capMs;
  }

  /** The delay before the next attempt; each call counts one more failure. */
  nextDelayMs(): number {
    const ceiling = this.ceilingMs();
    this.#failures++;
    return Math.round(this.floorMs + this.#random() * (ceiling - this.floorMs));
  }

  /** After a success (N1: a Welcome) the next delay starts small again. */
  reset(): void {
    this.#failures = 0;
  }
}
