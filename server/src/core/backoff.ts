/**
 * The retry delay rule T5: capped exponential backoff with jitter.
 * Pure: the random source is a parameter so tests can pin it.
 */
export interface BackoffPolicy {
  initialBackoffMs: number;
  multiplier: number;
  maxBackoffMs: number;
  /** Fraction of the delay that is randomised, 0..1. */
  jitter: number;
}

/**
 * Delay before retry number `retry` (1 = the first retry).
 * The jitter subtracts up to `jitter` of the delay, so the cap is never exceeded
 * and retries of many tasks that failed together spread out instead of stampeding.
 */
export function backoffMs(policy: BackoffPolicy, retry: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, retry - 1);
  const raw = policy.initialBackoffMs * Math.pow(policy.multiplier, exponent);
  const capped = Math.min(policy.maxBackoffMs, Number.isFinite(raw) ? raw : policy.maxBackoffMs);
  const spread = capped * policy.jitter * random();
  return Math.max(0, Math.round(capped - spread));
}
