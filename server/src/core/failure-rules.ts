import { backoffMs, type BackoffPolicy } from "./backoff.js";

/** A task's retry policy as stored. */
export interface RetryPolicy extends BackoffPolicy {
  nonRetryableErrorTypes: string[];
}

export interface FailedAttempt {
  attempt: number;
  /** `attempt` at the last requeue; max_attempts counts from here (T4). */
  attemptBase: number;
  maxAttempts: number;
  policy: RetryPolicy;
  errorType: string;
  nonRetryable: boolean;
  retryAfterMs: number;
  cancelRequested: boolean;
  nowMs: number;
}

export type FailureDecision =
  | { state: "pending"; scheduledAtMs: number }
  | { state: "dead_letter"; reason: string }
  | { state: "cancelled"; reason: string };

/**
 * What happens to a task after an attempt failed, was abandoned (lease expiry)
 * or timed out: rules T4, T5, T6 and W2 in one place.
 */
export function decideAfterFailure(f: FailedAttempt, random: () => number = Math.random): FailureDecision {
  if (f.cancelRequested) return { state: "cancelled", reason: "cancelled while running" };
  if (f.nonRetryable) return { state: "dead_letter", reason: `non-retryable error: ${f.errorType}` };
  if (f.policy.nonRetryableErrorTypes.includes(f.errorType)) {
    return { state: "dead_letter", reason: `error type ${f.errorType} is listed as non-retryable` };
  }
  const used = f.attempt - f.attemptBase;
  if (used >= f.maxAttempts) {
    return { state: "dead_letter", reason: `all ${f.maxAttempts} attempts failed; last error: ${f.errorType}` };
  }
  const delay = Math.max(backoffMs(f.policy, used, random), f.retryAfterMs);
  return { state: "pending", scheduledAtMs: f.nowMs + delay };
}
